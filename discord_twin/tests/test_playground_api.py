"""The playground's JSON API and event stream, without a browser and without a bot."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from PIL import Image

from discord_twin import Message
from discord_twin.playground import Limits, Playground


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
async def playground() -> AsyncIterator[Playground]:
    async with Playground(limits=Limits(max_bytes=4000, max_pixels=100 * 100)) as playground:
        yield playground


async def post(session: aiohttp.ClientSession, url: str, **fields: object) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
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
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert "<script src=\"/static/app.js\"" in await response.text()
        for name in ("app.js", "style.css"):
            async with session.get(f"{playground.url}/static/{name}") as response:
                assert response.status == 200


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
