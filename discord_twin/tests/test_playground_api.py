"""The playground's JSON API and event stream, without a browser and without a bot."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from PIL import Image

from discord_twin import Message
from discord_twin.playground import Limits, Playground
from discord_twin.playground.__main__ import is_loopback
from discord_twin.playground.guard import Guard, Refusals
from discord_twin.playground.server import MAX_FIELD_BYTES, MAX_FIELDS, MAX_JSON_BYTES, MAX_STREAMS


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
async def playground() -> AsyncIterator[Playground]:
    async with Playground(limits=Limits(max_bytes=4000, max_pixels=100 * 100)) as playground:
        yield playground


async def post(session: aiohttp.ClientSession, url: str, **fields: object) -> aiohttp.ClientResponse:
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                form.add_field(name, item[1], filename=item[0], content_type="image/png")
            else:
                form.add_field(name, str(item))
    return await session.post(f"{url}/playground/api/messages", data=form)


async def test_posted_messages_come_back_in_order_with_their_files(playground: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        first = await (await post(session, playground.url, user="admin", content="<script>alert(1)</script>")).json()
        second = await (await post(session, playground.url, user="member", files=[("dot.png", png(8, 8))])).json()
        async with session.get(f"{playground.url}/playground/api/messages?after={first['id']}") as response:
            after = await response.json()
        assert [m["id"] for m in after] == [second["id"]]
        async with session.get(f"{playground.url}/playground/api/messages") as response:
            everything = await response.json()
        assert [m["content"] for m in everything] == ["<script>alert(1)</script>", ""]  # kept as written
        assert everything[0]["author"]["username"] == "alice" and everything[1]["author"]["username"] == "bob"
        attachment = after[0]["attachments"][0]
        assert attachment["filename"] == "dot.png" and attachment["width"] == 8
        async with session.get(attachment["url"]) as response:
            assert await response.read() == png(8, 8)
        assert after[0]["edited_timestamp"] is None


async def test_uploads_obey_the_limits_and_requests_are_checked(playground: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        too_many_pixels = await post(session, playground.url, user="admin", files=[("big.png", png(101, 100))])
        assert too_many_pixels.status == 413 and "pixels" in (await too_many_pixels.json())["message"]
        too_heavy = await post(session, playground.url, user="admin", files=[("heavy.bin", b"x" * 4001)])
        assert too_heavy.status == 413
        nobody = await post(session, playground.url, user="eve", content="hi")
        assert nobody.status == 400 and (await nobody.json())["message"] == "user must be admin or member"
        empty = await post(session, playground.url, user="admin", content="  ")
        assert empty.status == 400
        assert not playground.twin.world.messages


async def test_the_event_stream_carries_the_gateway_events_of_the_channel(playground: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{playground.url}/playground/api/events") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            assert (await stream.content.readline()).startswith(b"event: HELLO")
            await stream.content.readline(), await stream.content.readline()
            posted = await (await post(session, playground.url, user="member", content="hello")).json()
            event = (await asyncio.wait_for(stream.content.readline(), 5)).decode()
            data = (await stream.content.readline()).decode()
        assert event.strip() == "event: MESSAGE_CREATE"
        assert json.loads(data.removeprefix("data: "))["id"] == posted["id"]


async def test_the_page_is_served_with_a_strict_content_policy(playground: Playground) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(playground.url) as response:
            assert response.status == 200
            policy = {d.split()[0]: d.split()[1:] for d in response.headers["Content-Security-Policy"].split("; ")}
            assert policy["default-src"] == ["'none'"] and policy["script-src"] == ["'self'"]
            assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'none'"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "<script src=\"/static/app.js\"" in await response.text()
        for name in ("app.js", "style.css"):
            async with session.get(f"{playground.url}/static/{name}") as response:
                assert response.status == 200 and response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_click_on_a_component_is_an_interaction_and_what_the_page_cannot_offer_is_refused(
    playground: Playground,
) -> None:
    twin, world = playground.twin, playground.world
    components = [{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "Wrong?", "custom_id": "wrong"},
        {"type": 2, "style": 1, "label": "Off", "custom_id": "off", "disabled": True}]},
        {"type": 1, "components": [{"type": 3, "custom_id": "digit", "options": [
            {"label": str(d), "value": str(d)} for d in range(10)]}]}]
    answer = Message(id=twin.world.ids.next(), channel=world.channel, author=twin.bot_user, content="it's a 3",
                     components=components)
    await twin.record.bot_sent(answer)
    url = f"{playground.url}/playground/api/components"
    async with aiohttp.ClientSession() as session:
        async def click(**body: object) -> tuple[int, dict[str, object]]:
            async with session.post(url, json=body) as response:
                return response.status, await response.json()

        status, created = await click(user="member", message_id=str(answer.id), custom_id="wrong")
        assert status == 200
        interaction = twin.interactions.by_id[int(str(created["id"]))]
        assert interaction.payload["data"] == {"custom_id": "wrong", "component_type": 2}
        assert interaction.user is world.user and interaction.source is answer
        status, created = await click(user="admin", message_id=str(answer.id), custom_id="digit", values=["7"])
        assert status == 200 and twin.interactions.by_id[int(str(created["id"]))].payload["data"]["values"] == ["7"]

        refused: list[tuple[dict[str, object], int, str]] = [
            ({"user": "member", "message_id": str(answer.id), "custom_id": "off"}, 400, "disabled"),
            ({"user": "member", "message_id": str(answer.id), "custom_id": "nope"}, 400, "no component"),
            ({"user": "member", "message_id": str(answer.id), "custom_id": "digit", "values": ["x"]}, 400, "offers"),
            ({"user": "member", "message_id": str(answer.id), "custom_id": "digit", "values": "7"}, 400, "list"),
            ({"user": "carol", "message_id": str(answer.id), "custom_id": "wrong"}, 400, "user"),
            ({"user": "member", "message_id": "1", "custom_id": "wrong"}, 404, "no such message"),
        ]
        for body, expected, words in refused:
            status, error = await click(**body)
            assert status == expected and words in str(error["message"]), (body, error)
    assert len(twin.interactions.by_id) == 2


# -- only the page itself may drive the playground (guard.py) ------------------------------------------

def same_origin(url: str) -> dict[str, str]:
    """The headers Chromium sends with the page's own POST."""
    return {"Origin": url, "Sec-Fetch-Site": "same-origin"}


async def test_a_foreign_host_is_refused_on_every_route(playground: Playground) -> None:
    """DNS rebinding: a page of rebind.example, whose name now resolves to 127.0.0.1, reads and posts as its own."""
    port = playground.twin.port
    async with aiohttp.ClientSession() as session:
        reads = ["/", "/static/app.js", "/playground/api/state", "/playground/api/messages", "/playground/api/events"]
        for path in reads:
            async with session.get(playground.url + path, headers={"Host": f"rebind.example:{port}"}) as response:
                body = await response.text()
                assert response.status == 403, path
                assert "rebind.example" in json.loads(body)["message"] and "\n" not in body
        foreign = {"Host": f"rebind.example:{port}", "Origin": f"http://rebind.example:{port}",
                   "Sec-Fetch-Site": "same-origin"}  # same origin as far as the browser knows
        form = aiohttp.FormData({"user": "admin", "content": "!rollback"}, default_to_multipart=True)
        async with session.post(f"{playground.url}/playground/api/messages", data=form, headers=foreign) as response:
            assert response.status == 403
        # What is this playground's: IP addresses (no DNS to rebind), localhost, any port (a tunnel changes it).
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST.:{port}", "localhost", f"[::1]:{port}",
                     "127.0.0.1:9000", f"192.168.1.20:{port}"):
            async with session.get(f"{playground.url}/playground/api/state", headers={"Host": host}) as response:
                assert response.status == 200, host
    assert not playground.twin.world.messages


def test_the_host_names_a_playground_answers_to() -> None:
    guard = Guard("devbox.lan", Refusals())
    allowed = ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "10.0.0.7:8080", "devbox.lan:8080", "DevBox.Lan."]
    refused = ["devbox.lan.evil.com:8080", "evil.com", "127.0.0.1.nip.io:8080", "", "localhost:8080:1",
               "user@127.0.0.1", "[::1", "127.0.0.1 evil.com", "xn--lcalhost-ysa"]
    assert [host for host in allowed if not guard.host_allowed(host)] == []
    assert [host for host in refused if guard.host_allowed(host)] == []


def test_on_every_interface_the_page_is_offered_on_loopback_and_the_exposure_is_said() -> None:
    """PLAYGROUND_HOST=0.0.0.0: the address printed is one a browser opens (not 0.0.0.0), and a warning is due."""
    assert Playground(host="0.0.0.0").url.startswith("http://127.0.0.1:")
    assert Playground(host="::1").url.startswith("http://[::1]:")
    assert [host for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST.") if not is_loopback(host)] == []
    assert [host for host in ("0.0.0.0", "::", "192.168.1.20", "devbox.lan") if is_loopback(host)] == []


async def test_a_request_from_another_site_cannot_change_anything(playground: Playground) -> None:
    """What a page on another port or site gets a browser to send: its Origin, a Sec-Fetch-Site not same-origin."""
    url, api = playground.url, f"{playground.url}/playground/api"
    port = playground.twin.port
    attacker = "http://127.0.0.1:9"
    async with aiohttp.ClientSession() as session:
        async def send(path: str, headers: dict[str, str], **body: Any) -> int:
            form = aiohttp.FormData({"user": "admin", "content": "!rollback"}, default_to_multipart=True)
            async with session.post(api + path, headers=headers, **(body or {"data": form})) as response:
                if response.status == 403:
                    assert "own page" in (await response.json())["message"]
                return response.status

        posted = await (await post(session, url, user="member", content="hello")).json()
        react = {"json": {"user": "admin", "message_id": posted["id"], "emoji": "👍"}}
        foreign_headers = [
            {"Origin": attacker, "Sec-Fetch-Site": "same-site"},  # another port of 127.0.0.1 is the same *site*
            {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
            {"Origin": "null"},  # a sandboxed frame, a data: URL
            {"Origin": attacker},  # a browser without Fetch Metadata
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "none", "Origin": url},  # "none" is for a typed address, never for a POST
        ]
        for headers in foreign_headers:
            assert await send("/messages", headers) == 403, headers
            assert await send("/reactions", headers, **react) == 403, headers
            assert await send("/interactions", headers, json={"user": "admin", "name": "rollback"}) == 403, headers
            assert await send("/components", headers, json={"user": "admin", "message_id": posted["id"],
                                                               "custom_id": "x"}) == 403, headers
        # The twin's own REST API, beside the page on the same port, refuses them too.
        async with session.post(f"{playground.twin.api_base}/channels/1/messages", json={"content": "x"},
                                headers={"Origin": attacker}) as response:
            assert response.status == 403
        # Another site may not read the API either (a browser would not show it the answer; it is not sent).
        async with session.get(f"{api}/messages", headers={"Origin": attacker, "Sec-Fetch-Site": "same-site"}) as response:
            assert response.status == 403
        assert [m.content for m in playground.twin.world.messages.values()] == ["hello"]
        assert not playground.twin.world.messages[int(posted["id"])].reactions

        # The page itself, and programs that are no browser (no Origin, no Sec-Fetch-Site), are obeyed.
        assert await send("/messages", same_origin(url)) == 200
        assert await send("/messages", {"Origin": url}) == 200
        assert await send("/reactions", same_origin(f"http://localhost:{port}") | {"Host": f"localhost:{port}"},
                          **react) == 200
        assert await send("/messages", {}) == 200
        # Reading the page, or opening it from a link elsewhere, is no change: allowed.
        async with session.get(url, headers={"Sec-Fetch-Site": "cross-site"}) as response:
            assert response.status == 200
        async with session.get(f"{api}/state", headers={"Sec-Fetch-Site": "none"}) as response:
            assert response.status == 200  # the address typed in the browser's bar


async def test_bodies_that_a_form_of_another_site_can_send_are_refused(playground: Playground) -> None:
    """A form sends url-encoded, multipart or text/plain without asking; JSON routes take application/json only."""
    api = f"{playground.url}/playground/api"
    body = json.dumps({"user": "admin", "name": "rollback", "message_id": "1", "emoji": "👍", "custom_id": "x"})
    async with aiohttp.ClientSession() as session:
        for path in ("/reactions", "/components", "/interactions", "/messages"):
            async with session.post(api + path, data=body, headers={"Content-Type": "text/plain"}) as response:
                assert response.status == 415, path
                assert "application/json" in (await response.json())["message"]
        for path in ("/messages", "/interactions"):
            async with session.post(api + path, data={"user": "admin", "content": "!rollback", "name": "rollback"}) as response:
                assert response.status == 415, path  # url-encoded: the page never sends it
        for path in ("/reactions", "/components"):  # JSON only, a multipart form is refused too
            form = aiohttp.FormData({"user": "admin"}, default_to_multipart=True)
            async with session.post(api + path, data=form) as response:
                assert response.status == 415, path
    assert not playground.twin.world.messages


async def test_uploads_are_served_inert(playground: Playground) -> None:
    """An uploaded page or SVG never runs in the playground's origin: a download of opaque bytes; pictures show."""
    html = b"<script>fetch('/playground/api/messages', {method: 'POST'})</script>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    async with aiohttp.ClientSession() as session:
        form = aiohttp.FormData({"user": "member"}, default_to_multipart=True)
        form.add_field("files", html, filename="page.html", content_type="text/html")
        form.add_field("files", svg, filename="logo.svg", content_type="image/svg+xml")
        form.add_field("files", html, filename="sniff.txt", content_type="text/plain")
        form.add_field("files", png(8, 8), filename="dot.png", content_type="image/png")
        async with session.post(f"{playground.url}/playground/api/messages", data=form) as response:
            attachments = (await response.json())["attachments"]
        served = {}
        for attachment in attachments:
            async with session.get(attachment["url"]) as response:
                served[attachment["filename"]] = (response.headers, await response.read())
    for name in ("page.html", "logo.svg", "sniff.txt"):
        headers, data = served[name]
        assert headers["Content-Type"] == "application/octet-stream", name
        assert headers["Content-Disposition"] == "attachment", name
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"] and "default-src 'none'" in headers["Content-Security-Policy"]
        assert data in (html, svg)  # the bytes are kept as sent
    headers, data = served["dot.png"]
    assert headers["Content-Type"] == "image/png" and "Content-Disposition" not in headers and data == png(8, 8)
    assert "sandbox" in headers["Content-Security-Policy"] and headers["X-Content-Type-Options"] == "nosniff"
    # The bot sees what was declared, as on Discord.
    assert [a["content_type"] for a in attachments][:2] == ["text/html", "image/svg+xml"]


# -- bounded input, and a 4xx for anything odd ----------------------------------------------------------

async def test_forms_and_bodies_are_bounded(playground: Playground) -> None:
    api = f"{playground.url}/playground/api"
    async with aiohttp.ClientSession() as session:
        many = aiohttp.FormData({"user": "admin", "content": "hi"}, default_to_multipart=True)
        for index in range(MAX_FIELDS):
            many.add_field(f"extra{index}", "x")
        async with session.post(f"{api}/messages", data=many) as response:
            assert response.status == 400 and f"at most {MAX_FIELDS} fields" in (await response.json())["message"]
        big = aiohttp.FormData({"user": "admin", "content": "x" * (MAX_FIELD_BYTES + 1)}, default_to_multipart=True)
        async with session.post(f"{api}/messages", data=big) as response:
            assert response.status == 413
        nameless = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(MAX_FIELDS + 1)) + b"--b--\r\n"
        async with session.post(f"{api}/messages", data=nameless,
                                headers={"Content-Type": "multipart/form-data; boundary=b"}) as response:
            assert response.status == 400
        huge = json.dumps({"user": "admin", "emoji": "👍", "pad": "x" * MAX_JSON_BYTES})
        async with session.post(f"{api}/reactions", data=huge, headers={"Content-Type": "application/json"}) as response:
            assert response.status == 413
    assert not playground.twin.world.messages


async def test_event_streams_are_bounded_and_the_refusal_logged_once(
    playground: Playground, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{playground.url}/playground/api/events"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        streams = [await session.get(url) for _ in range(MAX_STREAMS)]
        try:
            for stream in streams:
                assert (await stream.content.readline()).startswith(b"event: HELLO")
            for _ in range(3):
                async with session.get(url) as refused:
                    assert refused.status == 503 and "close a playground tab" in (await refused.json())["message"]
            streams.pop().close()
            async def reopened() -> int:
                while True:
                    async with session.get(url) as again:
                        if again.status == 200:
                            return again.status
                    await asyncio.sleep(0.01)
            assert await asyncio.wait_for(reopened(), 5) == 200
        finally:
            for stream in streams:
                stream.close()
    lines = [r.getMessage() for r in caplog.records if "event stream" in r.getMessage()]
    assert len(lines) == 1 and "503" in lines[0], lines


RETRAIN = {"id": "1", "application_id": "1", "version": "1", "type": 1, "name": "retrain", "description": "retrain",
           "options": [{"type": 1, "name": "start", "description": "start", "options": [
               {"type": 4, "name": "epochs", "description": "epochs"},
               {"type": 10, "name": "rate", "description": "rate"},
               {"type": 5, "name": "fresh", "description": "fresh"},
               {"type": 3, "name": "layers", "description": "layers"}]}]}


def slash(**options: object) -> dict[str, object]:
    return {"json": {"user": "admin", "name": "retrain", "subcommand": "start", "options": options}}


def raw(data: bytes, content_type: str) -> dict[str, object]:
    return {"data": data, "headers": {"Content-Type": content_type}}


BAD_INPUT: list[tuple[str, str, str, dict[str, object], int]] = [
    ("nested JSON body", "POST", "/playground/api/reactions", raw(b"[" * 20_000 + b"]" * 20_000, "application/json"), 400),
    ("nested options", "POST", "/playground/api/interactions",
     {"json": {"user": "admin", "name": "retrain", "options": "[" * 5000}}, 400),
    ("epochs=[1]", "POST", "/playground/api/interactions", slash(epochs=[1]), 400),
    ("epochs=1e999", "POST", "/playground/api/interactions", raw(
        b'{"user": "admin", "name": "retrain", "subcommand": "start", "options": {"epochs": 1e999}}', "application/json"), 400),
    ("epochs=1e300", "POST", "/playground/api/interactions", slash(epochs=1e300), 400),
    ("rate=NaN", "POST", "/playground/api/interactions", raw(
        b'{"user": "admin", "name": "retrain", "subcommand": "start", "options": {"rate": NaN}}', "application/json"), 400),
    ("rate='inf'", "POST", "/playground/api/interactions", slash(rate="inf"), 400),
    ("epochs=2.5", "POST", "/playground/api/interactions", slash(epochs=2.5), 400),
    ("layers={}", "POST", "/playground/api/interactions", slash(layers={"a": 1}), 400),
    ("fresh=[]", "POST", "/playground/api/interactions", slash(fresh=[]), 400),
    ("a bad boundary", "POST", "/playground/api/messages", raw(b"garbage", "multipart/form-data; boundary=zzz"), 400),
    ("no boundary", "POST", "/playground/api/messages", raw(b"garbage", "multipart/form-data"), 400),
    ("a part's broken header", "POST", "/playground/api/messages",
     raw(b'--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nadmin\r\n--b\r\nC', "multipart/form-data; boundary=b"), 400),
    ("a non-numeric CDN id", "GET", "/attachments/1/abc/x.png", {}, 404),
    ("content that is not text", "POST", "/playground/api/messages", {"json": {"user": "admin", "content": {"a": 1}}}, 400),
    ("remove='false'", "POST", "/playground/api/reactions",
     {"json": {"user": "admin", "message_id": "{message}", "emoji": "👍", "remove": "false"}}, 400),
]


@pytest.mark.parametrize("what, method, path, request_args, status", BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
async def test_bad_input_is_answered_with_a_4xx_never_a_500(
    playground: Playground, what: str, method: str, path: str, request_args: dict[str, object], status: int
) -> None:
    playground.twin.world.guild_commands[playground.world.guild.id] = [RETRAIN]
    async with aiohttp.ClientSession() as session:
        posted = await (await post(session, playground.url, user="member", content="hello")).json()
        if "json" in request_args:
            request_args = {"json": json.loads(json.dumps(request_args["json"]).replace("{message}", posted["id"]))}
        async with session.request(method, playground.url + path, **request_args) as response:  # type: ignore[arg-type]
            assert response.status == status, await response.text()
            if path.startswith("/playground/"):
                assert (await response.json())["message"]
    assert not playground.twin.interactions.by_id  # none of it reached the bot
    assert not playground.twin.world.messages[int(posted["id"])].reactions
