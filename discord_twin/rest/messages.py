"""Channel routes: the channel, its messages (list, create, get, edit, delete), reactions, typing."""

from __future__ import annotations

from aiohttp import web

from ..record import Record
from ..world import WorldState
from .bodies import apply_edit, new_bot_message, read_body
from .http import DiscordError, channel_of, json_response, message_of, snowflake


class MessageRoutes:
    """/channels/{channel_id}/... for the bot."""

    def __init__(self, world: WorldState, record: Record) -> None:
        self.world = world
        self.record = record

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(channel_of(self.world, request).payload())

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        limit = min(int(request.query.get("limit", 50)), 100)
        found = [m for m in self.world.messages.values() if m.channel is channel and not m.deleted and not m.ephemeral]
        if "before" in request.query:
            found = [m for m in found if m.id < int(request.query["before"])]
        if "after" in request.query:
            found = [m for m in found if m.id > int(request.query["after"])][:limit]
        found = sorted(found, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([self.world.message_payload(m) for m in found])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        message = new_bot_message(self.world, channel, await read_body(request))
        await self.record.bot_sent(message)
        return json_response(self.world.message_payload(message))

    async def get_message(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        return json_response(self.world.message_payload(message_of(self.world, request, channel)))

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        message = message_of(self.world, request, channel)
        if message.author is not self.world.bot_user:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        apply_edit(self.world, message, await read_body(request))
        await self.record.edited(message, by_bot=True)
        return json_response(self.world.message_payload(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        await self.record.bot_deleted(message_of(self.world, request, channel))
        return web.Response(status=204)

    async def add_reaction(self, request: web.Request) -> web.Response:
        message = message_of(self.world, request, channel_of(self.world, request))
        await self.record.reaction(message, request.match_info["emoji"], self.world.bot_user.id, added=True)
        return web.Response(status=204)

    async def remove_reaction(self, request: web.Request) -> web.Response:
        message = message_of(self.world, request, channel_of(self.world, request))
        raw_user = request.match_info["user_id"]
        user_id = self.world.bot_user.id if raw_user == "@me" else snowflake(raw_user)
        await self.record.reaction(message, request.match_info["emoji"], user_id, added=False)
        return web.Response(status=204)

    async def typing(self, request: web.Request) -> web.Response:
        self.record.bot_typed(channel_of(self.world, request))
        return web.Response(status=204)
