"""Every route of the playground, fuzzed with Hypothesis: whatever arrives, the answer is never a 500.

One playground serves the module, in a thread of its own, so that Hypothesis can drive it with a plain
blocking HTTP client. It has a message with components to aim at and a registered slash command with a
subcommand and options of each type, so that the fuzzed requests reach past the first checks.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from discord_twin import Message
from discord_twin.playground import Limits, Playground

COMMAND = {"id": "1", "application_id": "1", "version": "1", "type": 1, "name": "retrain", "description": "retrain",
           "options": [{"type": 1, "name": "start", "description": "start", "options": [
               {"type": 4, "name": "epochs", "description": "epochs"},
               {"type": 10, "name": "rate", "description": "rate"},
               {"type": 5, "name": "fresh", "description": "fresh"},
               {"type": 3, "name": "layers", "description": "layers"},
               {"type": 11, "name": "image", "description": "image"}]}]}
COMPONENTS = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Wrong?", "custom_id": "wrong"}]},
              {"type": 1, "components": [{"type": 3, "custom_id": "digit", "options": [
                  {"label": str(d), "value": str(d)} for d in range(10)]}]}]


@dataclass
class Served:
    port: int
    message_id: str  # a bot message with a button and a select


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    ready = threading.Event()
    found: dict[str, object] = {}

    async def serve() -> None:
        async with Playground(limits=Limits(max_bytes=2000, max_pixels=64 * 64)) as playground:
            twin = playground.twin
            twin.world.guild_commands[playground.world.guild.id] = [COMMAND]
            answer = Message(id=twin.world.ids.next(), channel=playground.world.channel, author=twin.bot_user,
                             content="it's a 3", components=COMPONENTS)
            await twin.record.bot_sent(answer)
            stop = asyncio.Event()
            found.update(port=twin.port, message_id=str(answer.id), stop=stop, loop=asyncio.get_running_loop())
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="fuzzed playground")
    thread.start()
    assert ready.wait(30)
    try:
        yield Served(int(str(found["port"])), str(found["message_id"]))
    finally:
        loop = found["loop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        loop.call_soon_threadsafe(found["stop"].set)  # type: ignore[attr-defined]
        thread.join(30)


# -- what arrives ---------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
TEXT = st.sampled_from(["admin", "member", "", "retrain", "start", "wrong", "digit", "👍", "1", "-1", "1e999", "NaN",
                        "9" * 30, "0x10", "true"]) | st.text(max_size=16)
FIELDS = ["user", "content", "reply_to", "name", "subcommand", "options", "target_id", "message_id", "emoji",
          "custom_id", "values", "remove", "image", "files"]
OPTIONS = st.dictionaries(st.sampled_from(["epochs", "rate", "fresh", "layers", "image", "other"]), JSON | TEXT,
                          max_size=4)


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` three times in four, so that most requests get past the first check and reach the next."""
    return st.integers(0, 3).flatmap(lambda n: usual if n else odd)


@st.composite
def json_body(draw: st.DrawFn, message_id: str) -> bytes:
    """A JSON body, mostly an object with the API's fields, sometimes with NaN, 1e999 or deep nesting."""
    value = JSON | TEXT | st.just(message_id) | OPTIONS
    plausible = st.fixed_dictionaries(  # what the page sends, each field sometimes odd
        {"user": mostly(st.sampled_from(["admin", "member"]), value), "message_id": mostly(st.just(message_id), value)},
        optional={"name": mostly(st.just("retrain"), value), "subcommand": mostly(st.just("start"), value),
                  "options": OPTIONS, "custom_id": mostly(st.sampled_from(["wrong", "digit"]), value),
                  "values": mostly(st.lists(st.sampled_from("0123456789x"), max_size=2), value),
                  "emoji": mostly(st.just("👍"), value), "remove": mostly(st.booleans(), value),
                  "content": mostly(TEXT, value)})
    fields = draw(mostly(plausible, st.dictionaries(st.sampled_from(FIELDS), value, max_size=6) | JSON))
    text = json.dumps(fields)
    odd = [text.replace("1", "1e999"), "[" * 3000 + "]" * 3000, text[:-1], text.replace("0", "NaN")]
    return draw(st.sampled_from([text] * len(odd) + odd)).encode()


@st.composite
def multipart_body(draw: st.DrawFn, message_id: str) -> tuple[bytes, str]:
    """A multipart form: text fields and files, or bytes that only claim to be one; its Content-Type."""
    boundary = draw(mostly(st.just("b0undary"), st.sampled_from(["x", ""])))
    parts = []
    fields = [("user", "admin"), ("name", "retrain"), ("subcommand", "start"), ("content", "hi")]
    for index in range(draw(st.integers(0, 8))):
        name, usual = fields[index] if index < len(fields) else ("files", "")
        name = draw(mostly(st.just(name), st.sampled_from(FIELDS) | st.text(max_size=6)))
        value = draw(mostly(st.just(usual), TEXT | st.just(message_id) | OPTIONS.map(json.dumps)))
        filename = draw(st.none() | st.sampled_from(["a.png", "page.html", "../../x", "", "ü.svg"]))
        disposition = f'form-data; name="{quote(name)}"' + (f'; filename="{filename}"' if filename is not None else "")
        body = draw(st.binary(max_size=64)) if filename is not None else value.encode()
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + body + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    body = draw(mostly(st.just(body), st.sampled_from([body[: len(body) // 2], draw(st.binary(max_size=64))])))
    return body, draw(mostly(st.just(f"multipart/form-data; boundary={boundary}"),
                             st.sampled_from(["multipart/form-data", "multipart/mixed; boundary=b0undary"])))


HEADER_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=24)
# Who a browser says sent it (a quarter of the requests; the others say nothing, as a program does).
WHO = st.fixed_dictionaries({}, optional={
    "Host": HEADER_TEXT | st.sampled_from(["localhost", "[::1]:1", "evil.example:80", "127.0.0.1:1"]),
    "Origin": HEADER_TEXT | st.sampled_from(["null", "http://127.0.0.1:1", "http://localhost"]),
    "Sec-Fetch-Site": st.sampled_from(["same-origin", "same-site", "cross-site", "none", "x"]),
})


@st.composite
def requests(draw: st.DrawFn, message_id: str) -> tuple[str, str, bytes, dict[str, str]]:
    """One request to the playground: method, path, body, headers."""
    method, path, body, headers = draw(request_lines(message_id))
    return method, path, body, headers | (draw(WHO) if draw(st.integers(0, 3)) == 0 else {})


@st.composite
def request_lines(draw: st.DrawFn, message_id: str) -> tuple[str, str, bytes, dict[str, str]]:
    route = draw(st.sampled_from(["messages", "interactions", "reactions", "components"]))
    kind = draw(st.sampled_from(["json", "multipart", "other", "get", "cdn"]))
    if kind == "get":
        query = draw(st.dictionaries(st.sampled_from(["after", "limit", "user", "x"]), TEXT, max_size=3))
        path = draw(st.sampled_from(["/playground/api/messages", "/playground/api/state", "/", "/static/app.js",
                                     "/static/../server.py"]))
        return "GET", f"{path}?{urlencode(query)}", b"", {}
    if kind == "cdn":
        segments = [quote(draw(TEXT), safe="") or "x" for _ in range(3)]
        return "GET", "/attachments/" + "/".join(segments), b"", {}
    path = f"/playground/api/{route}"
    if kind == "json":
        return "POST", path, draw(json_body(message_id)), {"Content-Type": "application/json"}
    if kind == "multipart":
        body, content_type = draw(multipart_body(message_id))
        return "POST", path, body, {"Content-Type": content_type}
    content_type = draw(st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin-1"]))
    return "POST", path, draw(st.binary(max_size=64)), {"Content-Type": content_type} if content_type else {}


@pytest.mark.filterwarnings("ignore::aiohttp.multipart.BadContentDispositionHeader")  # expected: odd parts
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_no_request_is_answered_with_a_500(served: Served, data: st.DataObject) -> None:
    method, path, body, headers = data.draw(requests(served.message_id))
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    event(f"{method} {path.split('?')[0][:24]} → {response.status}")  # --hypothesis-show-statistics
    assert response.status < 500, (method, path, body[:200], headers, answer[:300])
    if path.startswith("/playground/api/") and response.status >= 400:
        assert isinstance(json.loads(answer)["message"], str)
