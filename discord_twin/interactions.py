"""Interactions: what a user's command sends the bot (INTERACTION_CREATE), the bot's responses, Discord's deadlines.

The REST side of responding (the callback and the interaction's webhook) is in rest/interactions.py.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .changes import DEFAULT_TIMEOUT, Changes
from .models import Channel, Message, User
from .permissions import channel_permissions
from .record import Record
from .world import WorldState


@dataclass(eq=False)
class InteractionCallback:
    """The bot's initial response to an interaction (POST .../callback)."""

    type: int  # 4 message, 5 deferred message, 6 deferred update, 7 update, 9 modal, ...
    data: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)


@dataclass(eq=False)
class Interaction:
    """An interaction a test user opened, and everything the bot answered to it."""

    changes: Changes = field(repr=False)
    id: int
    token: str
    command_type: int  # 1 slash command, 3 message context menu
    command_name: str
    user: User
    channel: Channel
    payload: dict[str, Any] = field(repr=False)
    target_message: Message | None = None
    callbacks: list[InteractionCallback] = field(default_factory=list)
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    dispatched_at: float | None = None

    @property
    def response(self) -> InteractionCallback | None:
        return self.callbacks[0] if self.callbacks else None

    @property
    def message_type(self) -> int:
        """Type of the bot's response messages: 20 for slash commands, 23 for context menus."""
        return 20 if self.command_type == 1 else 23

    def metadata_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": 2,
            "name": self.command_name,
            "command_type": self.command_type,
            "user": self.user.payload(),
            "authorizing_integration_owners": {"0": str(self.channel.guild_id)},
        }
        if self.target_message is not None:
            data["target_message_id"] = str(self.target_message.id)
        return data

    async def wait_for_response(self, timeout: float = DEFAULT_TIMEOUT) -> InteractionCallback:
        """The bot's initial response (any callback type)."""
        return await self.changes.wait_until(lambda: self.response, timeout, f"a response to /{self.command_name}")

    async def wait_for_original(
        self, predicate: Callable[[Message], bool] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        """The original response message once `predicate` holds (e.g. a deferred one filled in)."""

        def find() -> Message | None:
            original = self.original
            return original if original is not None and (predicate is None or predicate(original)) else None

        return await self.changes.wait_until(find, timeout, f"the original response to /{self.command_name}")

    async def wait_for_followup(
        self, predicate: Callable[[Message], bool] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        def find() -> Message | None:
            return next((m for m in self.followups if predicate is None or predicate(m)), None)

        return await self.changes.wait_until(find, timeout, f"a follow-up to /{self.command_name}")


class Interactions:
    """The interactions users opened, by id and by token, and how long the bot has to answer them."""

    def __init__(self, world: WorldState, record: Record, changes: Changes) -> None:
        self.world = world
        self.record = record
        self.changes = changes
        self.by_id: dict[int, Interaction] = {}
        self.by_token: dict[str, Interaction] = {}
        # Seconds the bot has for its first response to an interaction (Discord: 3).
        self.ack_deadline = 3.0
        # Seconds an interaction's token works for its webhook (responses, follow-ups; Discord: 15 min).
        self.token_lifetime = 15 * 60.0

    async def open(
        self,
        channel: Channel,
        user: User,
        command: dict[str, Any] | None,
        data: dict[str, Any],
        target: Message | None,
    ) -> Interaction:
        """Send the bot INTERACTION_CREATE for `user` running the application command `data` in `channel`."""
        world = self.world
        guild = world.guilds[channel.guild_id]
        interaction_id = world.ids.next()
        data["id"] = command["id"] if command else str(world.ids.next())
        if command is not None and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        member = guild.members[user.id]
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(world.application_id),
            "type": 2,  # APPLICATION_COMMAND
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "member": member.payload(permissions=channel_permissions(guild, channel, user)),
            "token": f"interaction.{secrets.token_urlsafe(32)}",
            "version": 1,
            "app_permissions": str(world.bot_permissions(channel)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        interaction = Interaction(
            changes=self.changes,
            id=interaction_id,
            token=payload["token"],
            command_type=data["type"],
            command_name=data["name"],
            user=user,
            channel=channel,
            payload=payload,
            target_message=target,
        )
        self.by_id[interaction_id] = interaction
        self.by_token[interaction.token] = interaction
        world.sessions.dispatch("INTERACTION_CREATE", payload)
        interaction.dispatched_at = time.perf_counter()
        await self.changes.notify()
        return interaction

    async def responded(
        self, interaction: Interaction, kind: int, data: dict[str, Any], message: Message | None
    ) -> None:
        """The bot's initial response, with the message it creates (types 4 and 5), if any."""
        interaction.callbacks.append(InteractionCallback(kind, data))
        if message is not None:
            interaction.original = message
            await self.record.bot_sent(message)
        await self.changes.notify()

    async def followed_up(self, interaction: Interaction, message: Message, *, created: bool = True) -> None:
        """A follow-up; `created=False` when it filled in the deferred original instead (listed among the follow-ups too)."""
        interaction.followups.append(message)
        if created:
            await self.record.bot_sent(message)
        else:
            await self.changes.notify()
