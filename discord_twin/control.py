"""The control API over HTTP, for driving a twin that runs in another process (`python -m discord_twin`).

JSON under /control, each route one method of the in-process control API (DiscordTwin). Every call needs the bot's
`Authorization: Bot <token>`: a web page the operator happens to open can neither set that header on a cross-site
request nor read the answer, so only who was given the token drives the twin.

    GET  /control/guilds                    the guilds: id, name, owner_id, channels [{id, name}]
    POST /control/users        {name}       a new user: {id, username, ...}
    POST /control/messages     {channel_id, author_id, content?, reply_to?, attachments?: [{filename, data_base64}]}
                                            a user posts; the message as the bot receives it
    GET  /control/bot-messages?after=ID     what the bot sent since message ID: each with `reply_to` (or null)
    GET  /control/stats                     sessions by shard, identifies, resumes, invalid sessions, 429s answered
    POST /control/rest-faults  {status, count?, route?, scope?, retry_after?}
                                            the next `count` REST calls (matching `route`) answer `status`
                                            (429 with `scope` "user" or "global": a real rate limit answer)
    POST /control/rate-limits  {relax: true} | {global: [limit, window_s]}
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from aiohttp import web

from .models import Attachment
from .twin import DiscordTwin

PREFIX = "/control"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Control:
    """The HTTP face of a DiscordTwin's control API."""

    def __init__(self, twin: DiscordTwin) -> None:
        self.twin = twin

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{PREFIX}/guilds", self._guarded(self.guilds)),
            web.post(f"{PREFIX}/users", self._guarded(self.create_user)),
            web.post(f"{PREFIX}/messages", self._guarded(self.post_message)),
            web.get(f"{PREFIX}/bot-messages", self._guarded(self.bot_messages)),
            web.get(f"{PREFIX}/stats", self._guarded(self.stats)),
            web.post(f"{PREFIX}/rest-faults", self._guarded(self.rest_faults)),
            web.post(f"{PREFIX}/rate-limits", self._guarded(self.rate_limits)),
        ]

    def _guarded(self, handler: Any) -> Any:
        async def guarded(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bot {self.twin.token}":
                return _json({"error": "the control API needs Authorization: Bot <the twin's token>"}, 401)
            try:
                return _json(await handler(request))
            except ControlError as error:
                return _json({"error": error.message}, error.status)

        return guarded

    async def guilds(self, request: web.Request) -> Any:
        return [
            {
                "id": str(guild.id),
                "name": guild.name,
                "owner_id": str(guild.owner_id),
                "channels": [{"id": str(c.id), "name": c.name} for c in guild.channels.values()],
            }
            for guild in self.twin.world.guilds.values()
        ]

    async def create_user(self, request: web.Request) -> Any:
        body = await _body(request)
        return self.twin.create_user(_text(body, "name")).payload()

    async def post_message(self, request: web.Request) -> Any:
        body = await _body(request)
        world = self.twin.world
        channel = world.channels.get(_id(body, "channel_id"))
        author = world.users.get(_id(body, "author_id"))
        if channel is None or author is None:
            raise ControlError(404, "no such channel or author")
        reply_to = world.messages.get(_id(body, "reply_to")) if body.get("reply_to") is not None else None
        attachments = [_attachment(raw) for raw in body.get("attachments") or []]
        try:
            message = await self.twin.post_message(channel, author, str(body.get("content") or ""),
                                                   attachments=attachments, reply_to=reply_to)
        except (KeyError, ValueError) as error:  # e.g. the author is not in the guild, or not the DM's recipient
            raise ControlError(400, f"cannot post: {error}") from None
        return world.message_payload(message)

    async def bot_messages(self, request: web.Request) -> Any:
        after = int(request.query.get("after", "0")) if request.query.get("after", "0").isdigit() else 0
        return [
            {**self.twin.world.message_payload(m), "reply_to": None if m.reference_id is None else str(m.reference_id)}
            for m in self.twin.bot_messages
            if m.id > after
        ]

    async def stats(self, request: web.Request) -> Any:
        gateway, limited = self.twin.gateway, self.twin.rest.rate_limits.limited
        return {
            "sessions": [
                {"shard": session.shard or [0, 1], "connected": session.connection is not None}
                for session in gateway.sessions.by_id.values()
            ],
            "identifies": gateway.identifies,
            "resumes": gateway.resumes,
            "invalid_sessions": gateway.refused_resumes + gateway.session_starts.early,
            "session_start_limit": gateway.session_starts.payload(time.monotonic()),
            "global_429": sum(1 for _, scope in limited if scope == "global"),
            "route_429": sum(1 for _, scope in limited if scope != "global"),
            "rest_calls": len(self.twin.rest_calls),
            "bot_messages": len(self.twin.bot_messages),
        }

    async def rest_faults(self, request: web.Request) -> Any:
        body = await _body(request)
        status = body.get("status", 429)
        count = body.get("count", 1)
        scope = body.get("scope", "user")
        retry_after = body.get("retry_after", 1.0)
        if type(status) is not int or not 400 <= status <= 599 or type(count) is not int or count < 1:
            raise ControlError(400, "status must be an HTTP error status and count a positive integer")
        if scope not in ("user", "global", "shared") or not isinstance(retry_after, (int, float)):
            raise ControlError(400, 'scope must be "user", "global" or "shared"; retry_after a number of seconds')
        route = body.get("route")
        self.twin.fail_next_rest(status, count=count, route=None if route is None else str(route), scope=scope,
                                 retry_after=float(retry_after))
        return {"pending": len(self.twin.faults.rest)}

    async def rate_limits(self, request: web.Request) -> Any:
        body = await _body(request)
        if body.get("relax") is True:
            self.twin.relax_rate_limits()
        elif isinstance(body.get("global"), list) and len(body["global"]) == 2:
            limit, window = body["global"]
            self.twin.set_global_limit(int(limit), float(window))
        else:
            raise ControlError(400, 'send {"relax": true} or {"global": [limit, window_seconds]}')
        return {"global": [self.twin.rest.rate_limits.global_limit.limit, self.twin.rest.rate_limits.global_limit.window]}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ControlError(415, "send application/json")
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ControlError(400, f"{key} must be a non-empty string")
    return value


def _id(body: dict[str, Any], key: str) -> int:
    value = str(body.get(key))
    if not value.isdigit():
        raise ControlError(400, f"{key} must be a snowflake")
    return int(value)


def _attachment(raw: Any) -> Attachment:
    if not isinstance(raw, dict) or not isinstance(raw.get("filename"), str):
        raise ControlError(400, "each attachment needs a filename and data_base64")
    try:
        data = base64.b64decode(str(raw.get("data_base64", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(400, f"attachment {raw['filename']!r}: data_base64 is not base64") from None
    return Attachment(data, raw["filename"], raw.get("content_type"))
