"""The record of what the bot did (messages, edits, deletions, reactions, typing), and waiting for it.

The REST handlers report here what the bot asked for; tests wait on the record and assert on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .changes import DEFAULT_TIMEOUT, Changes
from .models import Channel, Message, MessageEdit
from .world import WorldState


class Record:
    """What the bot did, in order; each entry also changes the world and is announced to the bot's sessions."""

    def __init__(self, world: WorldState, changes: Changes) -> None:
        self.world = world
        self.changes = changes
        self.bot_messages: list[Message] = []
        self._replies: dict[int, list[Message]] = {}  # by the id they reply to, for fast waits
        self.edits: list[MessageEdit] = []  # by the bot and by users
        self.deleted: list[Message] = []  # by the bot
        self.typing: list[tuple[int, float]] = []  # (channel id, perf_counter())

    # -- what the bot did ----------------------------------------------------------------------

    async def bot_sent(self, message: Message) -> None:
        self.bot_messages.append(message)
        if message.reference_id is not None:
            self._replies.setdefault(message.reference_id, []).append(message)
        self.world.add_message(message)
        await self.changes.notify()

    async def edited(self, message: Message, *, by_bot: bool) -> None:
        """An edit already applied to `message`, by the bot or by a user."""
        self.world.edit_message(message)
        self.edits.append(MessageEdit(message, message.content, message.embeds, message.attachments, by_bot=by_bot))
        await self.changes.notify()

    async def bot_deleted(self, message: Message) -> None:
        self.world.delete_message(message)
        self.deleted.append(message)
        await self.changes.notify()

    async def reaction(self, message: Message, emoji: str, user_id: int, *, added: bool) -> None:
        """The bot added its reaction, or removed its own or a user's."""
        self.world.react(message, emoji, user_id, added=added)
        await self.changes.notify()

    def bot_typed(self, channel: Channel) -> None:
        self.typing.append((channel.id, time.perf_counter()))

    # -- waiting for it ------------------------------------------------------------------------

    async def wait_for_bot_message(
        self,
        predicate: Callable[[Message], bool] | None = None,
        *,
        channel: Channel | None = None,
        reply_to: Message | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Message:
        """The first message the bot sent (ever, not only from now on) that matches every filter."""

        def matches(message: Message) -> bool:
            return (
                (channel is None or message.channel is channel)
                and (reply_to is None or message.reference_id == reply_to.id)
                and (predicate is None or predicate(message))
            )

        return await self.changes.wait_until(
            lambda: next((m for m in self.bot_messages if matches(m)), None), timeout, "matching bot message"
        )

    async def wait_for_reply(self, message: Message, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """The bot's first reply (message_reference) to `message`."""

        def find() -> Message | None:
            replies = self._replies.get(message.id)
            return replies[0] if replies else None

        return await self.changes.wait_until(find, timeout, f"reply to message {message.id}")

    async def wait_for_edit(
        self,
        predicate: Callable[[MessageEdit], bool] | None = None,
        *,
        message: Message | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> MessageEdit:
        """The first edit by the bot (of `message`, if given) matching `predicate`."""

        def matches(edit: MessageEdit) -> bool:
            return (
                edit.by_bot
                and (message is None or edit.message is message)
                and (predicate is None or predicate(edit))
            )

        return await self.changes.wait_until(
            lambda: next((e for e in self.edits if matches(e)), None), timeout, "matching edit"
        )

    async def wait_for_delete(
        self, predicate: Callable[[Message], bool] | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        return await self.changes.wait_until(
            lambda: next((m for m in self.deleted if predicate is None or predicate(m)), None), timeout, "deletion"
        )

    def summary(self) -> str:
        """The last few things the bot did, for the message of a wait that timed out."""
        sent = [f"{m.id}:{m.content[:40]!r}" for m in self.bot_messages[-5:]]
        return f"bot messages={len(self.bot_messages)} (last: {sent}), edits={len(self.edits)}"
