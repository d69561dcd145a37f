"""Channel routes: the channel, its messages (list, create, get, edit, delete), reactions, typing; opening a DM.

Each checks the bot's permissions in the channel as Discord does (topics/permissions; JSON error codes from
topics/opcodes-and-status-codes): a channel it cannot view is 403 / 50001 "Missing Access"; a missing permission for
the action is 403 / 50013 "Missing Permissions"; a reply without Read Message History is 403 / 160002; embeds
without Embed Links are dropped silently (the message is sent without them).
"""

from __future__ import annotations

from aiohttp import web

from ..models import Channel
from ..permissions import (
    ADD_REACTIONS,
    ATTACH_FILES,
    EMBED_LINKS,
    MANAGE_MESSAGES,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
)
from ..record import Record
from ..world import WorldState
from .bodies import ParsedBody, apply_edit, new_bot_message, read_body
from .http import DiscordError, channel_of, json_response, message_of, snowflake



class MessageRoutes:
    """/channels/{channel_id}/... for the bot."""

    def __init__(self, world: WorldState, record: Record) -> None:
        self.world = world
        self.record = record

    def _require(self, channel: Channel, needed: int = 0) -> int:
        """The bot's permissions in `channel`, after checking it may view it and has every bit of `needed`."""
        permissions = self.world.bot_permissions(channel)
        if not permissions & VIEW_CHANNEL:
            raise DiscordError(403, 50001, "Missing Access")
        if needed & ~permissions:
            raise DiscordError(403, 50013, "Missing Permissions")
        return permissions

    async def open_dm(self, request: web.Request) -> web.Response:
        """resources/user › Create DM: the DM channel with `recipient_id`, the existing one if there is one."""
        body = await read_body(request)
        raw = str(body.json.get("recipient_id"))
        user = self.world.users.get(int(raw)) if raw.isdigit() else None
        if user is None or user is self.world.bot_user:
            raise DiscordError(400, 50033, "Invalid Recipient(s)")
        return json_response(self.world.open_dm(user).payload())

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        self._require(channel)
        return json_response(channel.payload())

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        if not self._require(channel) & READ_MESSAGE_HISTORY:
            return json_response([])  # Get Channel Messages: "If ... missing READ_MESSAGE_HISTORY ... no messages"
        limit = min(int(request.query.get("limit", 50)), 100)
        found = [m for m in self.world.messages.values() if m.channel is channel and not m.deleted and not m.ephemeral]
        if "before" in request.query:
            found = [m for m in found if m.id < int(request.query["before"])]
        if "after" in request.query:
            found = [m for m in found if m.id > int(request.query["after"])][:limit]
        found = sorted(found, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([self.world.rest_message_payload(m) for m in found])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        permissions = self._require(channel, SEND_MESSAGES)
        body = await read_body(request)
        self._check_body(body, permissions, reply=bool((body.json.get("message_reference") or {}).get("message_id")))
        message = new_bot_message(self.world, channel, body)
        await self.record.bot_sent(message)
        return json_response(self.world.message_payload(message))

    async def get_message(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        self._require(channel, READ_MESSAGE_HISTORY)
        return json_response(self.world.rest_message_payload(message_of(self.world, request, channel)))

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        permissions = self._require(channel)
        message = message_of(self.world, request, channel)
        if message.author is not self.world.bot_user:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        body = await read_body(request)
        self._check_body(body, permissions, reply=False)
        apply_edit(self.world, message, body)
        await self.record.edited(message, by_bot=True)
        return json_response(self.world.message_payload(message))

    @staticmethod
    def _check_body(body: ParsedBody, permissions: int, *, reply: bool) -> None:
        if reply and not permissions & READ_MESSAGE_HISTORY:
            raise DiscordError(403, 160002, "Cannot reply without permission to read message history")
        if body.files and not permissions & ATTACH_FILES:
            raise DiscordError(403, 50013, "Missing Permissions")
        if not permissions & EMBED_LINKS:
            # Embeds need Embed Links; without it Discord sends the message without them, and says nothing.
            body.json.pop("embeds", None)
            body.json.pop("embed", None)

    async def delete_message(self, request: web.Request) -> web.Response:
        """Delete Message: another user's message in a guild channel needs MANAGE_MESSAGES; in a DM it cannot be
        deleted at all (50003 "Cannot execute action on a DM channel")."""
        channel = channel_of(self.world, request)
        permissions = self._require(channel)
        message = message_of(self.world, request, channel)
        if message.author is not self.world.bot_user:
            if channel.is_dm:
                raise DiscordError(403, 50003, "Cannot execute action on a DM channel")
            if not permissions & MANAGE_MESSAGES:
                raise DiscordError(403, 50013, "Missing Permissions")
        await self.record.bot_deleted(message)
        return web.Response(status=204)

    async def add_reaction(self, request: web.Request) -> web.Response:
        """Create Reaction: READ_MESSAGE_HISTORY, and ADD_REACTIONS only "if nobody else has reacted to the message
        using this emoji"."""
        channel = channel_of(self.world, request)
        permissions = self._require(channel, READ_MESSAGE_HISTORY)
        message = message_of(self.world, request, channel)
        if not message.reactions.get(request.match_info["emoji"]) and not permissions & ADD_REACTIONS:
            raise DiscordError(403, 50013, "Missing Permissions")
        await self.record.reaction(message, request.match_info["emoji"], self.world.bot_user.id, added=True)
        return web.Response(status=204)

    async def remove_reaction(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        self._require(channel, READ_MESSAGE_HISTORY)
        message = message_of(self.world, request, channel)
        raw_user = request.match_info["user_id"]
        user_id = self.world.bot_user.id if raw_user == "@me" else snowflake(raw_user)
        # Delete User Reaction: "Deletes another user's reaction. This endpoint requires the MANAGE_MESSAGES permission"
        if user_id != self.world.bot_user.id and not self.world.bot_permissions(channel) & MANAGE_MESSAGES:
            raise DiscordError(403, 50013, "Missing Permissions")
        await self.record.reaction(message, request.match_info["emoji"], user_id, added=False)
        return web.Response(status=204)

    async def typing(self, request: web.Request) -> web.Response:
        channel = channel_of(self.world, request)
        self._require(channel, SEND_MESSAGES)
        self.record.bot_typed(channel)
        return web.Response(status=204)
