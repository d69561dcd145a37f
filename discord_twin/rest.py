"""The twin's HTTP side: Discord's REST API v10 under /api/v10, and a CDN for attachments."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from aiohttp import web

from .models import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    Channel,
    Message,
    StoredAttachment,
)

if TYPE_CHECKING:
    from .twin import DiscordTwin, Interaction

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
# Routes authenticated by the interaction token in the URL rather than by the bot token.
TOKEN_IN_URL_PREFIXES = (f"{API_PREFIX}/webhooks/", f"{API_PREFIX}/interactions/")

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
SLASH_NAME = re.compile(r"^[-_\w]{1,32}$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with Discord's bare `application/json` type: discord.py parses nothing else as JSON."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


class DiscordError(Exception):
    """An error answered in Discord's JSON shape: {"message", "code"[, "errors"]}."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def response(self) -> web.Response:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return json_response(body, self.status)


def form_error(field_name: str, code: str, message: str) -> DiscordError:
    return DiscordError(400, 50035, "Invalid Form Body", {field_name: {"_errors": [{"code": code, "message": message}]}})


@dataclass
class RestFault:
    """An injected failure for the next matching REST call."""

    status: int
    retry_after: float = 0.1
    scope: str = "user"
    route: str | None = None  # substring of "METHOD /path"; None matches any call

    def matches(self, method: str, path: str) -> bool:
        return self.route is None or self.route in f"{method} {path}"


@dataclass
class RestCall:
    """One REST request the twin answered, for tests to inspect."""

    method: str
    path: str
    route: str
    status: int
    at: float = field(default_factory=time.perf_counter)


@dataclass
class _Bucket:
    window_start: float
    used: int = 0


@dataclass
class ParsedBody:
    """A message-bearing request body: its JSON plus uploaded files by form field name."""

    json: dict[str, Any]
    files: dict[str, tuple[str | None, bytes]]


class RestApi:
    """Handlers for the REST routes and the CDN; state lives in the twin."""

    def __init__(self, twin: DiscordTwin) -> None:
        self.twin = twin
        self.faults: list[RestFault] = []
        self.calls: list[RestCall] = []
        self.unknown_routes: list[str] = []
        self.cdn_requests: list[str] = []
        self.cdn_delay = 0.0
        self.cdn_not_found = False
        self.rate_limit = 1000  # requests per bucket per window; Discord's message route allows 5 per 5 s
        self.rate_limit_window = 1.0
        self._buckets: dict[str, _Bucket] = {}

    def routes(self) -> list[web.RouteDef]:
        p = API_PREFIX
        msg = f"{p}/channels/{{channel_id}}/messages/{{message_id}}"
        hook = f"{p}/webhooks/{{application_id}}/{{token}}"
        return [
            web.get(f"{p}/users/@me", self.get_me),
            web.get(f"{p}/gateway", self.get_gateway),
            web.get(f"{p}/gateway/bot", self.get_gateway),
            web.get(f"{p}/oauth2/applications/@me", self.get_application),
            web.get(f"{p}/applications/@me", self.get_application),
            web.get(f"{p}/channels/{{channel_id}}", self.get_channel),
            web.get(f"{p}/channels/{{channel_id}}/messages", self.list_messages),
            web.post(f"{p}/channels/{{channel_id}}/messages", self.create_message),
            web.get(msg, self.get_message),
            web.patch(msg, self.edit_message),
            web.delete(msg, self.delete_message),
            web.put(f"{msg}/reactions/{{emoji}}/@me", self.add_reaction),
            web.delete(f"{msg}/reactions/{{emoji}}/{{user_id}}", self.remove_reaction),
            web.post(f"{p}/channels/{{channel_id}}/typing", self.typing),
            web.get(f"{p}/guilds/{{guild_id}}", self.get_guild),
            web.get(f"{p}/guilds/{{guild_id}}/members/{{user_id}}", self.get_member),
            web.get(f"{p}/applications/{{application_id}}/commands", self.get_commands),
            web.put(f"{p}/applications/{{application_id}}/commands", self.put_commands),
            web.post(f"{p}/applications/{{application_id}}/commands", self.post_command),
            web.get(f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands", self.get_commands),
            web.put(f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands", self.put_commands),
            web.post(f"{p}/interactions/{{interaction_id}}/{{token}}/callback", self.interaction_callback),
            web.post(hook, self.execute_webhook),
            web.get(f"{hook}/messages/{{message_id}}", self.get_webhook_message),
            web.patch(f"{hook}/messages/{{message_id}}", self.edit_webhook_message),
            web.delete(f"{hook}/messages/{{message_id}}", self.delete_webhook_message),
            web.get("/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn),
            web.get("/media-proxy/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn),
        ]

    # -- middleware: unknown routes, auth, faults, rate limits ---------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(f"{API_PREFIX}/"):
            return await handler(request)
        match_info = request.match_info
        if match_info.http_exception is not None:
            status = match_info.http_exception.status
            reason = "Not Found" if status == 404 else "Method Not Allowed"
            self.unknown_routes.append(f"{request.method} {request.path}")
            log.warning("discord twin: no route for %s %s (answered %d)", request.method, request.path, status)
            response: web.StreamResponse = DiscordError(status, 0, f"{status}: {reason}").response()
            self.calls.append(RestCall(request.method, request.path, "?", status))
            return response
        template = match_info.route.resource.canonical if match_info.route.resource else request.path
        bucket_key, bucket_hash = self._bucket_key(request, template)
        try:
            response = await self._guarded(request, handler, bucket_key)
        except DiscordError as error:
            response = error.response()
        self._rate_limit_headers(response, bucket_key, bucket_hash)
        self.calls.append(RestCall(request.method, request.path, template, response.status))
        return response

    async def _guarded(self, request: web.Request, handler: Handler, bucket_key: str) -> web.StreamResponse:
        if not request.path.startswith(TOKEN_IN_URL_PREFIXES):
            if request.headers.get("Authorization") != f"Bot {self.twin.token}":
                raise DiscordError(401, 0, "401: Unauthorized")
        fault = next((f for f in self.faults if f.matches(request.method, request.path)), None)
        if fault is not None:
            self.faults.remove(fault)
            return self._fault_response(fault)
        bucket = self._bucket(bucket_key)
        if bucket.used >= self.rate_limit:
            retry_after = self.rate_limit_window - (time.monotonic() - bucket.window_start)
            return self._fault_response(RestFault(429, retry_after=max(retry_after, 0.001)))
        bucket.used += 1
        return await handler(request)

    def _fault_response(self, fault: RestFault) -> web.Response:
        if fault.status != 429:
            return DiscordError(fault.status, 0, f"{fault.status}: injected by the twin").response()
        body = {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.scope == "global",
            "code": 0,
        }
        response = json_response(body, 429)
        response.headers["Retry-After"] = str(math.ceil(fault.retry_after))
        response.headers["X-RateLimit-Scope"] = fault.scope
        # discord.py treats a 429 without Via as a Cloudflare ban; Discord's API responses carry it.
        response.headers["Via"] = "1.1 google"
        return response

    def _bucket_key(self, request: web.Request, template: str) -> tuple[str, str]:
        info = request.match_info
        major = info.get("channel_id") or info.get("guild_id") or info.get("token") or ""
        route = f"{request.method} {template}"
        bucket_hash = hashlib.sha1(route.encode()).hexdigest()[:16]
        return f"{bucket_hash}:{major}", bucket_hash

    def _bucket(self, key: str) -> _Bucket:
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None or now - bucket.window_start >= self.rate_limit_window:
            bucket = self._buckets[key] = _Bucket(window_start=now)
        return bucket

    def _rate_limit_headers(self, response: web.StreamResponse, key: str, bucket_hash: str) -> None:
        bucket = self._bucket(key)
        reset_after = max(self.rate_limit_window - (time.monotonic() - bucket.window_start), 0.0)
        response.headers["X-RateLimit-Limit"] = str(self.rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(max(self.rate_limit - bucket.used, 0))
        response.headers["X-RateLimit-Reset"] = f"{time.time() + reset_after:.3f}"
        response.headers["X-RateLimit-Reset-After"] = f"{reset_after:.3f}"
        response.headers["X-RateLimit-Bucket"] = bucket_hash

    # -- bodies --------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> ParsedBody:
        """JSON, or multipart with `payload_json` and `files[n]` parts, as discord.py sends them."""
        if request.content_type == "multipart/form-data":
            payload: dict[str, Any] = {}
            files: dict[str, tuple[str | None, bytes]] = {}
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                elif part.name is not None:
                    files[part.name] = (part.filename, bytes(await part.read()))  # type: ignore[union-attr]
            return ParsedBody(payload, files)
        if request.can_read_body:
            try:
                return ParsedBody(await request.json(), {})
            except ValueError:
                raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
        return ParsedBody({}, {})

    def _attachments(
        self, body: ParsedBody, channel: Channel, keep: list[StoredAttachment] | None = None
    ) -> list[StoredAttachment]:
        """Files uploaded in `body`, plus those of `keep` the body's `attachments` list names by id."""
        entries: list[dict[str, Any]] = body.json.get("attachments") or []
        by_field = dict(body.files)
        result: list[StoredAttachment] = []
        existing = {str(attachment.id): attachment for attachment in keep or []}
        for entry in entries:
            entry_id = str(entry.get("id"))
            if entry_id in existing:
                result.append(existing[entry_id])
                continue
            upload = by_field.pop(f"files[{entry_id}]", None)
            if upload is None:
                raise form_error("attachments", "ATTACHMENT_NOT_FOUND", f"No file uploaded for attachment {entry_id}")
            result.append(self._store(channel, entry.get("filename") or upload[0] or "file", upload[1], entry))
        for name, (filename, data) in by_field.items():  # Files without an `attachments` entry.
            result.append(self._store(channel, filename or name, data, {}))
        return result

    def _store(self, channel: Channel, filename: str, data: bytes, entry: dict[str, Any]) -> StoredAttachment:
        return self.twin.store_attachment(channel, filename, data, description=entry.get("description"))

    @staticmethod
    def _validate(content: str, embeds: list[dict[str, Any]], has_other: bool) -> None:
        if not content and not embeds and not has_other:
            raise DiscordError(400, 50006, "Cannot send an empty message")
        if len(content) > MAX_CONTENT:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
        if len(embeds) > MAX_EMBEDS:
            raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
        total = 0
        for embed in embeds:
            for key, limit in (("title", 256), ("description", 4096)):
                if len(embed.get(key) or "") > limit:
                    raise form_error(f"embeds.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
            if len(embed.get("fields") or []) > 25:
                raise form_error("embeds.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            total += len(embed.get("title") or "") + len(embed.get("description") or "")
            total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields") or [])
            total += len((embed.get("footer") or {}).get("text", "")) + len((embed.get("author") or {}).get("name", ""))
        if total > MAX_EMBED_TOTAL:
            raise form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")

    def _new_message(self, channel: Channel, body: ParsedBody, **extra: Any) -> Message:
        """A bot-authored message built from a create-message body (not yet stored)."""
        data = body.json
        embeds = list(data.get("embeds") or ([data["embed"]] if data.get("embed") else []))
        content = str(data.get("content") or "")
        attachments = self._attachments(body, channel)
        components = list(data.get("components") or [])
        self._validate(content, embeds, bool(attachments or components or data.get("sticker_ids")))
        reference_id = None
        reference = data.get("message_reference")
        if reference and reference.get("message_id") is not None:
            reference_id = int(reference["message_id"])
            target = self.twin.messages.get(reference_id)
            if target is None or target.deleted:
                if reference.get("fail_if_not_exists", True):
                    raise form_error("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
                reference_id = None
        flags = int(data.get("flags") or 0) & ~FLAG_LOADING
        return Message(
            id=self.twin.ids.next(),
            channel=channel,
            author=self.twin.bot_user,
            content=content,
            embeds=embeds,
            attachments=attachments,
            components=components,
            reference_id=reference_id,
            type=19 if reference_id is not None else 0,
            flags=flags,
            tts=bool(data.get("tts")),
            **extra,
        )

    def _apply_edit(self, message: Message, body: ParsedBody) -> None:
        """Apply an edit body: absent fields stay, present ones replace (attachments by id list)."""
        data = body.json
        content = message.content if "content" not in data else str(data["content"] or "")
        embeds = message.embeds if "embeds" not in data else list(data["embeds"] or [])
        if "attachments" in data or body.files:
            attachments = self._attachments(body, message.channel, keep=message.attachments)
        else:
            attachments = message.attachments
        components = message.components if "components" not in data else list(data["components"] or [])
        self._validate(content, embeds, bool(attachments or components))
        message.content, message.embeds, message.attachments, message.components = (
            content,
            embeds,
            attachments,
            components,
        )
        if "flags" in data and data["flags"] is not None:
            message.flags = (message.flags & FLAG_EPHEMERAL) | int(data["flags"])
        message.flags &= ~FLAG_LOADING

    # -- lookups -------------------------------------------------------------------------------

    def _channel(self, request: web.Request) -> Channel:
        channel = self.twin.channels.get(_int(request.match_info["channel_id"]))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, request: web.Request, channel: Channel) -> Message:
        message = self.twin.messages.get(_int(request.match_info["message_id"]))
        if message is None or message.deleted or message.channel is not channel:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    def _interaction(self, request: web.Request) -> Interaction:
        interaction = self.twin.interactions_by_token.get(request.match_info["token"])
        if interaction is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if _int(request.match_info["application_id"]) != self.twin.application_id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        assert interaction.dispatched_at is not None
        if time.perf_counter() - interaction.dispatched_at > self.twin.interaction_token_lifetime:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return interaction

    def _json(self, data: Any, status: int = 200) -> web.Response:
        return json_response(data, status)

    # -- user, application, gateway ------------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        return self._json({**self.twin.bot_user.payload(), "verified": True, "mfa_enabled": False, "locale": "en-US"})

    async def get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return self._json({"url": self.twin.gateway_url, "shards": 1, "session_start_limit": limit})

    async def get_application(self, request: web.Request) -> web.Response:
        return self._json(self.twin.application_payload())

    # -- guilds and channels -------------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        return self._json(self._channel(request).payload())

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self.twin.guilds.get(_int(request.match_info["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        data = guild.payload()
        for key in ("channels", "members", "threads", "presences", "voice_states"):
            del data[key]  # Not part of the REST guild object.
        return self._json(data)

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self.twin.guilds.get(_int(request.match_info["guild_id"]))
        member = guild.members.get(_int(request.match_info["user_id"])) if guild else None
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return self._json(member.payload())

    # -- messages ------------------------------------------------------------------------------

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        limit = min(int(request.query.get("limit", 50)), 100)
        found = [m for m in self.twin.messages.values() if m.channel is channel and not m.deleted and not m.ephemeral]
        if "before" in request.query:
            found = [m for m in found if m.id < int(request.query["before"])]
        if "after" in request.query:
            found = [m for m in found if m.id > int(request.query["after"])][:limit]
        found = sorted(found, key=lambda m: m.id, reverse=True)[:limit]
        return self._json([self.twin.message_payload(m) for m in found])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self._new_message(channel, await self._body(request))
        await self.twin.record_bot_message(message)
        return self._json(self.twin.message_payload(message))

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        return self._json(self.twin.message_payload(self._message(request, channel)))

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self._message(request, channel)
        if message.author is not self.twin.bot_user:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        self._apply_edit(message, await self._body(request))
        await self.twin.record_bot_edit(message)
        return self._json(self.twin.message_payload(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        await self.twin.record_bot_delete(self._message(request, channel))
        return web.Response(status=204)

    async def add_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request, self._channel(request))
        await self.twin.record_reaction(message, request.match_info["emoji"], self.twin.bot_user.id, added=True)
        return web.Response(status=204)

    async def remove_reaction(self, request: web.Request) -> web.Response:
        message = self._message(request, self._channel(request))
        raw_user = request.match_info["user_id"]
        user_id = self.twin.bot_user.id if raw_user == "@me" else _int(raw_user)
        await self.twin.record_reaction(message, request.match_info["emoji"], user_id, added=False)
        return web.Response(status=204)

    async def typing(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self.twin.typing.append((channel.id, time.perf_counter()))
        return web.Response(status=204)

    # -- application commands ------------------------------------------------------------------

    def _command_list(self, request: web.Request) -> list[dict[str, Any]]:
        if _int(request.match_info["application_id"]) != self.twin.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return self.twin.commands
        guild_id = _int(request.match_info["guild_id"])
        if guild_id not in self.twin.guilds:
            raise DiscordError(404, 10004, "Unknown Guild")
        return self.twin.guild_commands.setdefault(guild_id, [])

    async def get_commands(self, request: web.Request) -> web.Response:
        return self._json(self._command_list(request))

    async def put_commands(self, request: web.Request) -> web.Response:
        current = self._command_list(request)
        body = await request.json()
        if not isinstance(body, list):
            raise form_error("_", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        guild_id = request.match_info.get("guild_id")
        previous = {(c["name"], c["type"]): c for c in current}
        stored = [self._command(data, previous, guild_id) for data in body]
        current[:] = stored  # In place: the twin's lists are the ones tests hold.
        await self.twin.notify()
        return self._json(stored)

    async def post_command(self, request: web.Request) -> web.Response:
        """Create or replace (same name and type) one global command."""
        current = self._command_list(request)
        data = await request.json()
        previous = {(c["name"], c["type"]): c for c in current}
        command = self._command(data, previous, None)
        old = previous.get((command["name"], command["type"]))
        if old is not None:
            current[current.index(old)] = command
        else:
            current.append(command)
        await self.twin.notify()
        return self._json(command, 200 if old is not None else 201)

    def _command(self, data: dict[str, Any], previous: dict[tuple[str, int], dict[str, Any]], guild_id: str | None) -> dict[str, Any]:
        kind = int(data.get("type", 1))
        name = str(data.get("name", ""))
        description = str(data.get("description", ""))
        if kind == 1 and (not SLASH_NAME.match(name) or name != name.lower()):
            raise form_error("name", "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")
        if kind != 1 and not 1 <= len(name) <= 32:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
        if kind == 1 and not 1 <= len(description) <= 100:
            raise form_error("description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        old = previous.get((name, kind))
        command = {
            "id": old["id"] if old else str(self.twin.ids.next()),  # Discord keeps ids across overwrites.
            "application_id": str(self.twin.application_id),
            "version": str(self.twin.ids.next()),
            "type": kind,
            "name": name,
            "description": description if kind == 1 else "",
            "options": data.get("options") or [],
            "default_member_permissions": data.get("default_member_permissions"),
            "dm_permission": data.get("dm_permission", True),
            "contexts": data.get("contexts"),
            "integration_types": data.get("integration_types") or [0],
            "nsfw": bool(data.get("nsfw", False)),
            "name_localizations": data.get("name_localizations"),
            "description_localizations": data.get("description_localizations"),
        }
        if guild_id is not None:
            command["guild_id"] = guild_id
        return command

    # -- interactions and their webhooks -------------------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.Response:
        interaction = self.twin.interactions.get(_int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        assert interaction.dispatched_at is not None
        if time.perf_counter() - interaction.dispatched_at > self.twin.interaction_ack_deadline:
            # Discord forgets an interaction not acknowledged within 3 s: slow bots must defer.
            raise DiscordError(404, 10062, "Unknown interaction")
        body = await self._body(request)
        kind = int(body.json.get("type", 0))
        data = body.json.get("data") or {}
        message: Message | None = None
        if kind == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            message = self._new_message(interaction.channel, ParsedBody(data, body.files), interaction=interaction)
            message.type, message.reference_id = interaction.message_type, None
        elif kind == 5:  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: a "thinking..." placeholder
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            message = Message(
                id=self.twin.ids.next(),
                channel=interaction.channel,
                author=self.twin.bot_user,
                type=interaction.message_type,
                flags=flags,
                interaction=interaction,
            )
        elif kind == 7:  # UPDATE_MESSAGE: edits the message the component was on
            target = interaction.target_message
            if target is None:
                raise DiscordError(400, 50035, "Interaction has no message to update")
            self._apply_edit(target, ParsedBody(data, body.files))
            await self.twin.record_bot_edit(target)
        elif kind not in (1, 6, 8, 9, 10, 12):
            raise form_error("type", "BASE_TYPE_CHOICES", f"Value must be one of valid callback types, got {kind}")
        await self.twin.record_interaction_callback(interaction, kind, data, message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            resource["message"] = self.twin.message_payload(message)
        callback = {
            "interaction": {
                "id": str(interaction.id),
                "type": 2,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": resource,
        }
        return self._json(callback)

    async def execute_webhook(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if not interaction.callbacks:
            raise DiscordError(404, 10015, "Unknown Webhook")  # Follow-ups need an initial response.
        body = await self._body(request)
        message = self._new_message(interaction.channel, body, interaction=interaction)
        message.webhook_id = self.twin.application_id
        await self.twin.record_followup(interaction, message)
        if request.query.get("wait") in ("1", "true", "True"):
            return self._json(self.twin.message_payload(message))
        return web.Response(status=204)

    def _webhook_message(self, request: web.Request, interaction: Interaction) -> Message:
        raw_id = request.match_info["message_id"]
        message = interaction.original if raw_id == "@original" else self.twin.messages.get(_int(raw_id))
        if message is None or message.deleted or message.interaction is not interaction:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        return self._json(self.twin.message_payload(self._webhook_message(request, interaction)))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        message = self._webhook_message(request, interaction)
        self._apply_edit(message, await self._body(request))
        await self.twin.record_bot_edit(message)
        return self._json(self.twin.message_payload(message))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        await self.twin.record_bot_delete(self._webhook_message(request, interaction))
        return web.Response(status=204)

    # -- CDN -----------------------------------------------------------------------------------

    async def cdn(self, request: web.Request) -> web.Response:
        self.cdn_requests.append(request.path)
        if self.cdn_delay:
            await asyncio.sleep(self.cdn_delay)
        attachment = self.twin.attachments.get(_int(request.match_info["attachment_id"]))
        if (
            self.cdn_not_found
            or attachment is None
            or attachment.filename != request.match_info["filename"]
            or str(attachment.channel_id) != request.match_info["channel_id"]
        ):
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, content_type=attachment.content_type or "application/octet-stream")


def _int(raw: str) -> int:
    """A snowflake from a path segment; garbage is as unknown to Discord as a missing id."""
    try:
        return int(raw)
    except ValueError:
        raise DiscordError(404, 0, "404: Not Found") from None

