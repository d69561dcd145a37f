"""Discord's HTTP conventions, shared by every route: JSON responses, errors, ids in paths and their lookups."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..models import Channel, Message
from ..world import WorldState

API_PREFIX = "/api/v10"

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
    """Discord's 50035 "Invalid Form Body"; a dotted `field_name` ("0.options.1.name") nests as Discord nests it."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(field_name.split(".")):
        errors = {part: errors}
    return DiscordError(400, 50035, "Invalid Form Body", errors)


def snowflake(raw: str) -> int:
    """A snowflake from a path segment; garbage is as unknown to Discord as a missing id."""
    try:
        return int(raw)
    except ValueError:
        raise DiscordError(404, 0, "404: Not Found") from None


def channel_of(world: WorldState, request: web.Request) -> Channel:
    """The channel named by the path's {channel_id}."""
    channel = world.channels.get(snowflake(request.match_info["channel_id"]))
    if channel is None:
        raise DiscordError(404, 10003, "Unknown Channel")
    return channel


def message_of(world: WorldState, request: web.Request, channel: Channel) -> Message:
    """The message named by the path's {message_id}, in `channel`. An ephemeral message is not in any channel: only
    its interaction's webhook reaches it (receiving-and-responding › Followup Messages)."""
    message = world.messages.get(snowflake(request.match_info["message_id"]))
    if message is None or message.deleted or message.channel is not channel or message.ephemeral:
        raise DiscordError(404, 10008, "Unknown Message")
    return message
