"""Interactions: what a user's command sends the bot (INTERACTION_CREATE), the bot's responses, Discord's deadlines.

The REST side of responding (the callback and the interaction's webhook) is in rest/interactions.py.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from .changes import Changes
from .models import Channel, Interaction, InteractionCallback, Message, User
from .permissions import channel_permissions
from .record import Record
from .world import WorldState

# Component types and the link button's style (components/reference).
BUTTON, STRING_SELECT, LINK_STYLE = 2, 3, 5
USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT = 5, 6, 7, 8


class ComponentError(ValueError):
    """A use of a component that Discord's client would not let a person make; nothing is sent to the bot."""


def find_component(rows: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """The component with `custom_id` in a message's action rows."""
    return next((c for row in rows for c in row.get("components") or [] if c.get("custom_id") == custom_id), None)


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
        data["id"] = command["id"] if command else str(self.world.ids.next())
        if command is not None and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        payload = self._payload(channel, user, 2, data)  # APPLICATION_COMMAND
        interaction = Interaction(
            changes=self.changes,
            id=int(payload["id"]),
            token=payload["token"],
            command_type=data["type"],
            command_name=data["name"],
            user=user,
            channel=channel,
            payload=payload,
            target_message=target,
        )
        return await self._dispatch(interaction)

    async def use_component(
        self, message: Message, user: User, custom_id: str, values: Sequence[str] | None = None
    ) -> Interaction:
        """`user` clicks the button `custom_id` of `message`, or picks `values` in its select: MESSAGE_COMPONENT.

        Raises ComponentError where Discord's client offers no such action: a deleted message, another person's
        ephemeral message, a custom_id not on the message, a disabled component, values the select does not offer.
        """
        if message.deleted:
            raise ComponentError(f"message {message.id} is deleted")
        if message.ephemeral and (message.interaction is None or message.interaction.user is not user):
            raise ComponentError(f"message {message.id} is ephemeral: only its viewer sees it")
        component = find_component(message.components, custom_id)
        if component is None:
            raise ComponentError(f"message {message.id} has no component with custom_id {custom_id!r}")
        if component.get("disabled"):
            raise ComponentError(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": int(component["type"])}
        if component["type"] == STRING_SELECT:
            offered = [str(option["value"]) for option in component.get("options") or []]
            chosen = list(values or [])
            minimum, maximum = int(component.get("min_values", 1)), int(component.get("max_values", 1))
            if any(value not in offered for value in chosen) or len(set(chosen)) != len(chosen):
                raise ComponentError(f"select {custom_id!r} offers {offered}, not {chosen}")
            if not minimum <= len(chosen) <= maximum:
                raise ComponentError(f"select {custom_id!r} takes {minimum} to {maximum} values, not {len(chosen)}")
            data["values"] = chosen
        elif component["type"] in (USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT):
            chosen = list(values or [])
            minimum, maximum = int(component.get("min_values", 1)), int(component.get("max_values", 1))
            if not minimum <= len(chosen) <= maximum or len(set(chosen)) != len(chosen):
                raise ComponentError(f"select {custom_id!r} takes {minimum} to {maximum} values, not {chosen}")
            data["values"] = chosen
            data["resolved"] = self._resolved(message.channel, int(component["type"]), chosen)
        elif values is not None:
            raise ComponentError(f"{custom_id!r} is a button: it takes no values")
        elif component.get("style") == LINK_STYLE:
            raise ComponentError(f"{custom_id!r} is a link button: Discord opens its url, the bot hears nothing")
        payload = self._payload(message.channel, user, 3, data)  # MESSAGE_COMPONENT
        payload["message"] = self.world.message_payload(message)
        interaction = Interaction(
            changes=self.changes,
            id=int(payload["id"]),
            token=payload["token"],
            command_type=0,
            command_name=custom_id,
            user=user,
            channel=message.channel,
            payload=payload,
            source=message,
        )
        return await self._dispatch(interaction)

    def _resolved(self, channel: Channel, kind: int, ids: list[str]) -> dict[str, Any]:
        """A user, role, mentionable or channel select's Resolved Data (receiving-and-responding › Resolved Data
        Structure); ComponentError for an id the select does not offer in this guild."""
        guild = self.world.guilds[channel.guild_id] if channel.guild_id is not None else None
        resolved: dict[str, dict[str, Any]] = {}
        for raw in ids:
            snowflake = int(raw) if raw.isdigit() else 0
            member = guild.members.get(snowflake) if guild else None
            role = guild.roles.get(snowflake) if guild else None
            chosen = guild.channels.get(snowflake) if guild else None
            if member is not None and kind in (USER_SELECT, MENTIONABLE_SELECT):
                resolved.setdefault("users", {})[raw] = member.user.payload()
                member_data = member.payload()
                del member_data["user"]
                resolved.setdefault("members", {})[raw] = member_data
            elif role is not None and kind in (ROLE_SELECT, MENTIONABLE_SELECT):
                resolved.setdefault("roles", {})[raw] = role.payload()
            elif chosen is not None and kind == CHANNEL_SELECT:
                resolved.setdefault("channels", {})[raw] = {**chosen.payload(), "permissions": str(
                    channel_permissions(guild, chosen, self.world.bot_user) if guild else 0)}
            else:
                raise ComponentError(f"{raw!r} is not something this select offers in the guild")
        return resolved

    def _payload(self, channel: Channel, user: User, kind: int, data: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        if channel.guild_id is None:
            raise ValueError("the twin opens interactions in guild channels only, not in direct messages")
        guild = world.guilds[channel.guild_id]
        return {
            "id": str(world.ids.next()),
            "application_id": str(world.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "member": guild.members[user.id].payload(permissions=channel_permissions(guild, channel, user)),
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

    async def _dispatch(self, interaction: Interaction) -> Interaction:
        self.by_id[interaction.id] = interaction
        self.by_token[interaction.token] = interaction
        self.world.sessions.dispatch("INTERACTION_CREATE", interaction.payload)
        interaction.dispatched_at = time.perf_counter()
        await self.changes.notify()
        return interaction

    async def responded(
        self, interaction: Interaction, kind: int, data: dict[str, Any], message: Message | None
    ) -> None:
        """The bot's initial response, with the message it creates (types 4 and 5), if any.

        A component's DEFERRED_UPDATE_MESSAGE (6) or UPDATE_MESSAGE (7) makes the component's message the original
        response: the one that editing "@original" edits.
        """
        interaction.callbacks.append(InteractionCallback(kind, data))
        if kind in (6, 7):
            interaction.original = interaction.source
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
