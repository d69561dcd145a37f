"""The playground: the twin with one channel, a page that looks like Discord's, and the JSON API the page uses.

Routes (besides the twin's own REST, gateway and CDN):
    GET  /                                  the page (static/index.html; static/app.js and static/style.css)
    GET  /playground/api/state              the channel, the two identities, the bot, its commands, the limits
    GET  /playground/api/messages           ?after=ID&limit=N&user=admin|member: messages oldest first
    POST /playground/api/messages           multipart: user, content, files (any number), reply_to
    POST /playground/api/interactions       multipart or JSON: user, name, subcommand, options (JSON), target_id,
                                            and a file part per attachment option, named after the option
    POST /playground/api/reactions          JSON: user, message_id, emoji, remove
    POST /playground/api/components         JSON: user, message_id, custom_id, values (a select's): a click
    GET  /playground/api/events             server-sent events: the gateway's message events, EPHEMERAL, STATE

Only the page itself (and programs that are not browsers) may use them: guard.py. Bodies are bounded and
checked: bad input is a 4xx with a one-line JSON error {"message": ...}, never a 500.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.hdrs import CONTENT_DISPOSITION, CONTENT_TYPE
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from ..interactions import ComponentError
from ..models import Attachment, Message, User
from ..scaffold import World, build_world
from ..twin import DiscordTwin
from .feed import Feed, sse
from .guard import Guard, Refusals

STATIC = Path(__file__).parent / "static"
API = "/playground/api"
MAX_FILES = 10  # Discord's limit of attachments per message
MAX_CONTENT = 2000  # Discord's limit of characters per message
MAX_FIELDS = 16  # text fields of a form (the page sends at most 7)
MAX_FIELD_BYTES = 32 * 1024  # one text field: a message's 2,000 characters, or a command's options, fit
MAX_JSON_BYTES = 64 * 1024  # a JSON body
MAX_STREAMS = 50  # open event streams (a page has one); more are refused, before they cost a file descriptor each
MAX_OPTION_NUMBER = 2**53  # Discord's bound on INTEGER and NUMBER options
MAX_OPTION_TEXT = 6000  # Discord's limit of characters of a STRING option
HEARTBEAT_SECONDS = 15.0  # a comment line on a quiet event stream, so that proxies keep it open
GONE_CHECK_SECONDS = 1.0  # how soon a closed page's event stream is noticed (aiohttp does not cancel its handler)
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # every interface: the page is at 127.0.0.1 too


@dataclass(frozen=True)
class Limits:
    """What an upload may weigh: bytes per file, and pixels per image (checked from its header, never decoded)."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000


class ApiError(web.HTTPException):
    """An answer {"message": ...} with an error status, raised from a handler."""

    def __init__(self, status: int, message: str) -> None:
        self.status_code = status
        self.message = message
        super().__init__(text=json.dumps({"message": message}), content_type="application/json")


class Playground:
    """A DiscordTwin with the world of `build_world`, served with the page and its API on one port."""

    def __init__(self, *, host: str = "127.0.0.1", bot_name: str = "digitbot", limits: Limits = Limits(),
                 channel_name: str = "digits") -> None:
        self.twin = DiscordTwin(host=host, bot_name=bot_name)
        self.limits = limits
        self.world: World = build_world(self.twin, channel_name)
        self.identities: dict[str, User] = {"admin": self.world.admin, "member": self.world.user}
        self.feed = Feed(self.twin, self.world.channel.id)
        self.refusals = Refusals()
        self.guard = Guard(host, self.refusals)
        self.streams = 0  # event streams open

    @property
    def url(self) -> str:
        """The page's address (on 127.0.0.1 when serving on every interface)."""
        host = self.twin.host
        if host in WILDCARD_HOSTS:
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.twin.port}"

    async def start(self, port: int = 0) -> Playground:
        await self.twin.start(port, routes=self.routes(), middlewares=[self.guard.middleware])
        self.guard.url = self.url
        self.feed.start()
        return self

    async def stop(self) -> None:
        await self.feed.stop()
        await self.twin.stop()

    async def __aenter__(self) -> Playground:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self.page),
            web.static("/static", STATIC),
            web.get(f"{API}/state", self.state),
            web.get(f"{API}/messages", self.list_messages),
            web.post(f"{API}/messages", self.post_message),
            web.post(f"{API}/interactions", self.open_interaction),
            web.post(f"{API}/reactions", self.react),
            web.post(f"{API}/components", self.use_component),
            web.get(f"{API}/events", self.events),
        ]

    # -- the page ----------------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)

    async def state(self, request: web.Request) -> web.Response:
        world, twin = self.world, self.twin
        admin_ids = {str(world.admin_role.id)}
        users = {}
        for key, user in self.identities.items():
            member = world.guild.members[user.id]
            users[key] = {**user.payload(), "admin": bool(admin_ids & {str(r) for r in member.role_ids})}
        return json_ok({
            "guild": {"id": str(world.guild.id), "name": world.guild.name},
            "channel": {"id": str(world.channel.id), "name": world.channel.name},
            "bot": {**twin.bot_user.payload(), "connected": bool(twin.gateway.connected_sessions)},
            "users": users,
            "commands": [*twin.world.guild_commands.get(world.guild.id, []), *twin.commands],
            "limits": {"max_bytes": self.limits.max_bytes, "max_pixels": self.limits.max_pixels,
                       "max_files": MAX_FILES, "max_content": MAX_CONTENT},
        })

    # -- messages ----------------------------------------------------------------------------------

    async def list_messages(self, request: web.Request) -> web.Response:
        after = _int(request.query.get("after", "0"), "after")
        limit = max(1, min(_int(request.query.get("limit", "100"), "limit"), 1000))
        viewer = self.identities.get(request.query.get("user", ""))
        channel = self.world.channel
        found = [
            m for m in self.twin.world.messages.values()
            if m.channel is channel and not m.deleted and m.id > after
            and (not m.ephemeral or (viewer is not None and _viewer(m) is viewer))
        ]
        found.sort(key=lambda m: m.id)
        found = found[:limit] if after else found[-limit:]
        return json_ok([self.twin.world.message_payload(m) for m in found])

    async def post_message(self, request: web.Request) -> web.Response:
        form = await self._read_form(request)
        user = self._identity(form.fields)
        content = _text(form.fields, "content")
        if len(content) > MAX_CONTENT:
            raise ApiError(400, f"content is longer than {MAX_CONTENT} characters")
        files = form.files.get("files", []) + form.files.get("files[]", [])
        if not content.strip() and not files:
            raise ApiError(400, "a message needs content or files")
        if len(files) > MAX_FILES:
            raise ApiError(400, f"at most {MAX_FILES} files per message")
        reply_to = self._message(form.fields["reply_to"]) if form.fields.get("reply_to") else None
        message = await self.twin.post_message(self.world.channel, user, content, attachments=files, reply_to=reply_to)
        return json_ok(self.twin.world.message_payload(message))

    async def react(self, request: web.Request) -> web.Response:
        body = await _json(request)
        user = self._identity(body)
        message = self._message(body.get("message_id"))
        emoji = _text(body, "emoji")
        if not emoji or len(emoji) > 32:
            raise ApiError(400, "emoji must be one emoji")
        remove = body.get("remove", False)
        if not isinstance(remove, bool):
            raise ApiError(400, "remove must be true or false")
        self.twin.world.react(message, emoji, user.id, added=not remove)
        await self.twin.changes.notify()
        return json_ok(self.twin.world.message_payload(message))

    async def use_component(self, request: web.Request) -> web.Response:
        """A click on a button, or a choice in a select, of a message (an ephemeral one only by its viewer)."""
        body = await _json(request)
        user = self._identity(body)
        message = self._message(body.get("message_id"))
        values = body.get("values")
        if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) for v in values)):
            raise ApiError(400, "values must be a list of strings")
        try:
            interaction = await self.twin.use_component(message, user, _text(body, "custom_id"), values)
        except ComponentError as error:
            raise ApiError(400, str(error)) from None
        self.feed.watch_interaction(interaction)
        return json_ok({"id": str(interaction.id)})

    # -- application commands ----------------------------------------------------------------------

    async def open_interaction(self, request: web.Request) -> web.Response:
        form = await self._read_form(request)
        user = self._identity(form.fields)
        name = _text(form.fields, "name")
        channel = self.world.channel
        try:
            if form.fields.get("target_id"):
                target = self._message(form.fields["target_id"])
                interaction = await self.twin.open_message_command(channel, user, name, target)
            else:
                subcommand = _text(form.fields, "subcommand") or None
                options = self._options(name, subcommand, form)
                interaction = await self.twin.open_slash_command(channel, user, name, options, subcommand=subcommand)
        except LookupError as error:
            raise ApiError(404, str(error)) from None
        self.feed.watch_interaction(interaction)
        return json_ok({"id": str(interaction.id), "name": name})

    def _options(self, name: str, subcommand: str | None, form: Form) -> dict[str, Any]:
        """The options as the command declares them: numbers and booleans from text, files as attachments."""
        raw = form.fields.get("options") or {}
        if isinstance(raw, str):
            raw = _parse_json(raw.encode(), "options")
        if not isinstance(raw, dict):
            raise ApiError(400, "options must be a JSON object")
        declared = self._declared_options(name, subcommand)
        options = {key: _option(key, declared.get(key, {}).get("type"), value) for key, value in raw.items()}
        for key, files in form.files.items():
            if files:
                options[key] = files[0]
        return options

    def _declared_options(self, name: str, subcommand: str | None) -> dict[str, dict[str, Any]]:
        commands = [*self.twin.world.guild_commands.get(self.world.guild.id, []), *self.twin.commands]
        command = next((c for c in commands if c["name"] == name and c["type"] == 1), None)
        options = (command or {}).get("options", [])
        if subcommand:
            options = next((o.get("options", []) for o in options if o["name"] == subcommand), [])
        return {o["name"]: o for o in options}

    # -- the live stream ---------------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.StreamResponse:
        if self.streams >= MAX_STREAMS:
            return self.refusals.refuse("an event stream over the limit", 503,
                                        f"{MAX_STREAMS} event streams are open already; close a playground tab")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"})
        self.streams += 1
        queue = self.feed.subscribe()
        try:
            await response.prepare(request)
            await response.write(sse("HELLO", {"channel_id": str(self.world.channel.id)}))
            quiet = 0.0
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), GONE_CHECK_SECONDS)
                except TimeoutError:
                    if request.transport is None or request.transport.is_closing():
                        break  # the page went away: its place is free at once, not at the next write
                    quiet += GONE_CHECK_SECONDS
                    if quiet >= HEARTBEAT_SECONDS:
                        await response.write(b": keep-alive\n\n")
                        quiet = 0.0
                    continue
                quiet = 0.0
                if item is None or queue not in self.feed.subscribers:  # the end, or dropped for reading too slowly
                    break
                chunk = sse(*item)
                while not queue.empty():  # write what piled up in one go
                    more = queue.get_nowait()
                    if more is None:
                        await response.write(chunk)
                        return response
                    chunk += sse(*more)
                await response.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.streams -= 1
            self.feed.unsubscribe(queue)
        return response

    # -- reading requests --------------------------------------------------------------------------

    def _identity(self, fields: dict[str, Any]) -> User:
        key = fields.get("user")
        if not isinstance(key, str) or key not in self.identities:
            raise ApiError(400, "user must be admin or member")
        return self.identities[key]

    def _message(self, raw: Any) -> Message:
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise ApiError(400, "message id must be a whole number")
        message = self.twin.world.messages.get(_int(str(raw), "message id"))
        if message is None or message.deleted or message.channel is not self.world.channel:
            raise ApiError(404, "no such message")
        return message

    async def _read_form(self, request: web.Request) -> Form:
        """Fields and files of a multipart form (each part bounded as it arrives), or a JSON object."""
        if request.content_type == "application/json":
            return Form(await _json(request), {})
        if request.content_type != "multipart/form-data":
            raise ApiError(415, "the body must be a multipart form (multipart/form-data) or JSON (application/json)")
        try:
            return await self._read_multipart(request)
        except (ValueError, HttpProcessingError) as error:  # aiohttp's words for a broken form: no boundary, ...
            detail = error.message if isinstance(error, HttpProcessingError) else str(error)
            raise ApiError(400, f"not a readable multipart form: {' '.join(detail.split())}") from None

    async def _read_multipart(self, request: web.Request) -> Form:
        form = Form({}, {})
        reader = await request.multipart()
        total_files = total_fields = 0
        while (part := await reader.next()) is not None:
            name = filename = None
            if isinstance(part, BodyPartReader):
                # One parse of the header for both names (aiohttp's parser is slow enough to show under load).
                _, params = parse_content_disposition(part.headers.get(CONTENT_DISPOSITION))
                name, filename = params.get("name"), content_disposition_filename(params, "filename")
            if filename is None or name is None or not isinstance(part, BodyPartReader):
                total_fields += 1  # a text field, or a part the playground does not read (skipped unread)
                if total_fields > MAX_FIELDS:
                    raise ApiError(400, f"at most {MAX_FIELDS} fields per form")
                if name is not None and isinstance(part, BodyPartReader):
                    form.fields[name] = (await _read_capped(part, MAX_FIELD_BYTES, name)).decode("utf-8", "replace")
                continue
            total_files += 1
            if total_files > MAX_FILES:
                raise ApiError(400, f"at most {MAX_FILES} files per message")
            data = await _read_capped(part, self.limits.max_bytes, filename)
            content_type = part.headers.get(CONTENT_TYPE)
            if content_type in (None, "", "application/octet-stream"):
                content_type = None  # guessed from the name, as Discord does
            self._check_pixels(data, filename)
            form.files.setdefault(name, []).append(Attachment(data, _safe_name(filename), content_type))
        return form

    def _check_pixels(self, data: bytes, filename: str) -> None:
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except Exception:  # not an image Pillow knows: only the byte limit applies
            return
        if width * height > self.limits.max_pixels:
            raise ApiError(413, f"{filename} has {width}×{height} pixels; the limit is {self.limits.max_pixels:,}")


@dataclass
class Form:
    fields: dict[str, Any]
    files: dict[str, list[Attachment]]


SECURITY_HEADERS = {
    # Everything the page loads comes from here (its script, its style, the pictures: `blob:` for the files about
    # to be sent, `data:` for the empty icon); nothing it shows can run as script; no form of it is ever sent
    # (the page posts with fetch); no other page may frame it (to trick a click).
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def json_ok(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


async def _json(request: web.Request) -> dict[str, Any]:
    """The body, a JSON object sent as application/json (what a form of another site cannot send)."""
    if request.content_type != "application/json":
        raise ApiError(415, "the body must be JSON (Content-Type: application/json)")
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > MAX_JSON_BYTES:
            raise ApiError(413, f"the body is larger than {MAX_JSON_BYTES:,} bytes")
    body = _parse_json(bytes(data), "the body")
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _parse_json(data: bytes, what: str) -> Any:
    """JSON as Discord takes it: finite numbers only (no NaN, Infinity or 1e999), nested a sane depth."""
    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ApiError(400, f"{what} holds a number too large: {text[:20]}")
        return number

    def refuse(constant: str) -> None:
        raise ApiError(400, f"{what} holds {constant}, which is not a number in JSON")

    try:
        return json.loads(data, parse_float=finite, parse_constant=refuse)
    except RecursionError:
        raise ApiError(400, f"{what} is nested too deeply") from None
    except ValueError:  # not JSON, not UTF-8, or an integer of thousands of digits
        raise ApiError(400, f"{what} must be JSON") from None


def _text(fields: dict[str, Any], name: str) -> str:
    """A field that must be text (absent: empty)."""
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be text")
    return value


def _option(name: str, kind: int | None, value: Any) -> Any:
    """A slash command option's value as its declared type takes it (4 integer, 10 number, 5 boolean), in
    Discord's bounds; a value of a type the command does not declare stays text, a number or a boolean."""
    if isinstance(value, (dict, list)) or value is None:
        raise ApiError(400, f"option {name} must be text, a number or true/false")
    if kind == 5:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if kind in (4, 10):
        try:
            number = float(value) if kind == 10 else int(value)
        except (ValueError, TypeError):
            raise ApiError(400, f"option {name} must be a {'whole ' if kind == 4 else ''}number") from None
        if isinstance(value, bool) or not math.isfinite(number) or abs(number) > MAX_OPTION_NUMBER:
            raise ApiError(400, f"option {name} must be a number between -2^53 and 2^53")
        if kind == 4 and isinstance(value, float) and not value.is_integer():
            raise ApiError(400, f"option {name} must be a whole number")
        return number
    if isinstance(value, str) and len(value) > MAX_OPTION_TEXT:
        raise ApiError(400, f"option {name} is longer than {MAX_OPTION_TEXT} characters")
    return value


async def _read_capped(part: BodyPartReader, limit: int, what: str) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise ApiError(413, f"{what} is larger than {limit:,} bytes")
    return bytes(data)


def _int(raw: str, what: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{what} must be a whole number") from None


def _safe_name(filename: str) -> str:
    """A file name as Discord keeps it: no folders, spaces as underscores, never empty."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip().replace(" ", "_")
    return "".join(ch for ch in name if ch.isalnum() or ch in "._-")[:100] or "file"


def _viewer(message: Message) -> User | None:
    """Who sees an ephemeral message: the user of the interaction it answers."""
    return message.interaction.user if message.interaction is not None else None
