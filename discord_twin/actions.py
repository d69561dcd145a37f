"""Test users acting: posting, editing and deleting messages, running slash and message commands."""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping

from .changes import Changes
from .interactions import Interactions
from .models import Attachment, Channel, Interaction, Message, User
from .record import Record
from .world import WorldState

# Application command option types, by the Python type of a test's option value.
_OPTION_TYPES: list[tuple[type, int]] = [(bool, 5), (int, 4), (float, 10), (str, 3)]


class UserActions:
    """What a person does in Discord's client, as the events the bot then receives."""

    def __init__(self, world: WorldState, record: Record, interactions: Interactions, changes: Changes) -> None:
        self.world = world
        self.record = record
        self.interactions = interactions
        self.changes = changes

    # -- messages ------------------------------------------------------------------------------

    async def post_message(
        self,
        channel: Channel,
        author: User,
        content: str = "",
        *,
        attachments: Iterable[Attachment] = (),
        embeds: list[dict[str, Any]] | None = None,
        reply_to: Message | None = None,
        ping: bool = True,
    ) -> Message:
        """Post as `author` and dispatch MESSAGE_CREATE; `dispatched_at` records when.

        A reply (`reply_to`) pings the replied-to author unless `ping` is False, as Discord's client does: they
        are then mentioned (and a bot without the Message Content intent sees the content).
        """
        if channel.recipient is not None and author is not channel.recipient:
            raise ValueError(f"only {channel.recipient.username} writes in the bot's DM channel with them")
        stored = [self.world.store_attachment(channel, a.filename, a.data, a.content_type) for a in attachments]
        message = Message(
            id=self.world.ids.next(),
            channel=channel,
            author=author,
            content=content,
            embeds=embeds or [],
            attachments=stored,
            reference_id=reply_to.id if reply_to else None,
            type=19 if reply_to else 0,
            reply_ping_id=reply_to.author.id if reply_to and ping else None,
        )
        self.world.add_message(message)
        message.dispatched_at = time.perf_counter()
        await self.changes.notify()
        return message

    async def edit_message_as_user(self, message: Message, content: str) -> Message:
        message.content = content
        await self.record.edited(message, by_bot=False)
        return message

    async def delete_message_as_user(self, message: Message) -> None:
        self.world.delete_message(message)
        await self.changes.notify()

    # -- application commands ------------------------------------------------------------------

    async def open_slash_command(
        self,
        channel: Channel,
        user: User,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        require_registered: bool = True,
    ) -> Interaction:
        """Run /name (or /name subcommand) as `user`; option values: str, int, float, bool, User, Attachment (uploaded).

        By default the command must have been registered by the bot, as on Discord.
        """
        command = self._find_command(channel, name, 1, require_registered)
        declared_options = (command or {}).get("options", [])
        if subcommand is not None:
            declared_options = next((o.get("options", []) for o in declared_options if o["name"] == subcommand), [])
        declared = {o["name"]: o for o in declared_options}
        resolved: dict[str, dict[str, Any]] = {}
        option_payloads = []
        for option_name, value in (options or {}).items():
            kind, raw = self._option(channel, value, resolved)
            kind = int(declared.get(option_name, {}).get("type", kind))
            option_payloads.append({"name": option_name, "type": kind, "value": raw})
        if subcommand is not None:  # Discord nests a subcommand's options under an option of type 1
            option_payloads = [{"name": subcommand, "type": 1, "options": option_payloads}]
        data: dict[str, Any] = {"type": 1, "name": name, "options": option_payloads}
        if resolved:
            data["resolved"] = resolved
        return await self.interactions.open(channel, user, command, data, target=None)

    async def open_message_command(
        self, channel: Channel, user: User, name: str, target: Message, *, require_registered: bool = True
    ) -> Interaction:
        """Run the message context-menu command `name` on `target` as `user`."""
        command = self._find_command(channel, name, 3, require_registered)
        data = {
            "type": 3,
            "name": name,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): self.world.message_payload(target)}},
        }
        return await self.interactions.open(channel, user, command, data, target=target)

    def _find_command(self, channel: Channel, name: str, kind: int, required: bool) -> dict[str, Any] | None:
        in_guild = self.world.guild_commands.get(channel.guild_id, []) if channel.guild_id is not None else []
        registered = [*in_guild, *self.world.commands]
        for command in registered:
            if command["name"] == name and command["type"] == kind:
                return command
        if required:
            known = [c["name"] for c in registered]
            raise LookupError(f"the bot has not registered command {name!r} (type {kind}); registered: {known}")
        return None

    def _option(self, channel: Channel, value: Any, resolved: dict[str, dict[str, Any]]) -> tuple[int, Any]:
        if isinstance(value, Attachment):
            stored = self.world.store_attachment(channel, value.filename, value.data, value.content_type)
            resolved.setdefault("attachments", {})[str(stored.id)] = stored.payload()
            return 11, str(stored.id)
        if isinstance(value, User):
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            return 6, str(value.id)
        for python_type, kind in _OPTION_TYPES:
            if isinstance(value, python_type):
                return kind, value
        raise TypeError(f"unsupported option value {value!r}")
