"""The playground's live feed: every event the twin announces in the world, fanned out to the open pages.

`ObservedSessions` sits between the world and the gateway sessions, so the feed sees each event exactly as Discord
would send it to a client (MESSAGE_CREATE, MESSAGE_UPDATE, MESSAGE_DELETE, MESSAGE_REACTION_ADD, ...).
Ephemeral messages are never announced to the gateway; the feed finds them on the interactions the
playground opened, and sends them as EPHEMERAL events naming their one viewer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from ..models import Interaction
from ..sessions import Sessions
from ..twin import DiscordTwin

Listener = Callable[[str, dict[str, Any]], None]

# The gateway events the page shows.
SHOWN = {
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_DELETE",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
}
# An interaction's token lives 15 minutes on Discord; after that its messages cannot change.
INTERACTION_LIFETIME = 15 * 60.0
QUEUE_LIMIT = 10_000  # events held for one slow page before it is disconnected


class ObservedSessions(Sessions):
    """The world's gateway sessions, observed: each dispatch reaches the real sessions, then `listener`."""

    def __init__(self, inner: Sessions, listener: Listener) -> None:
        self._inner = inner
        self._listener = listener
        self.by_id = inner.by_id

    def dispatch(
        self, event: str, data: dict[str, Any], *, intent: int | None = None, privileged_content: bool = False
    ) -> int:
        delivered = self._inner.dispatch(event, data, intent=intent, privileged_content=privileged_content)
        self._listener(event, data)
        return delivered

    @property
    def connected(self) -> list[Any]:
        return self._inner.connected

    def __getattr__(self, name: str) -> Any:  # anything else Sessions grows, from the real one
        return getattr(self._inner, name)


class Feed:
    """Subscribers (the pages' event streams) and what they are sent."""

    def __init__(self, twin: DiscordTwin, channel_id: int) -> None:
        self.twin = twin
        self.channel_id = channel_id
        self.subscribers: set[asyncio.Queue[tuple[str, Any] | None]] = set()
        self.interactions: list[Interaction] = []  # opened by the playground, watched for ephemeral answers
        self._ephemeral_seen: dict[int, tuple[Any, ...]] = {}
        self._state_seen: tuple[Any, ...] = ()
        self._watcher: asyncio.Task[None] | None = None
        twin.world.sessions = ObservedSessions(twin.world.sessions, self._on_event)

    def start(self) -> None:
        self._watcher = asyncio.create_task(self._watch(), name="playground feed")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for queue in list(self.subscribers):
            self._put(queue, None)

    def subscribe(self) -> asyncio.Queue[tuple[str, Any] | None]:
        queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[tuple[str, Any] | None]) -> None:
        self.subscribers.discard(queue)

    def publish(self, event: str, data: Any) -> None:
        for queue in list(self.subscribers):
            self._put(queue, (event, data))

    def _put(self, queue: asyncio.Queue[tuple[str, Any] | None], item: tuple[str, Any] | None) -> None:
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:  # a page that stopped reading: end its stream, it reconnects
            self.subscribers.discard(queue)

    # -- what is announced -------------------------------------------------------------------------

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        if event in SHOWN and data.get("channel_id") == str(self.channel_id):
            self.publish(event, data)

    def watch_interaction(self, interaction: Interaction) -> None:
        self.interactions.append(interaction)

    async def _watch(self) -> None:
        """After every change in the twin: ephemeral answers, the bot's presence and its commands."""
        while True:
            with contextlib.suppress(TimeoutError):
                await self.twin.changes.wait_until(self._news, timeout=3600, what="playground news")

    def _news(self) -> bool:
        """Publish what changed since the last look; always False, so that the watch goes on."""
        state = (
            len(self.twin.gateway.connected_sessions),
            tuple(c["version"] for c in self.twin.world.commands),
            tuple(c["version"] for cs in self.twin.world.guild_commands.values() for c in cs),
        )
        if state != self._state_seen:
            self._state_seen = state
            self.publish("STATE", None)  # the page asks /state again
        now = time.perf_counter()
        self.interactions = [
            i for i in self.interactions if i.dispatched_at is None or now - i.dispatched_at < INTERACTION_LIFETIME
        ]
        for interaction in self.interactions:
            for message in [interaction.original, *interaction.followups]:
                if message is None or not message.ephemeral:
                    continue
                signature = (message.edited_at, message.deleted, message.content, len(message.embeds),
                             len(message.components))
                if self._ephemeral_seen.get(message.id) != signature:
                    self._ephemeral_seen[message.id] = signature
                    payload = self.twin.world.message_payload(message)
                    self.publish("EPHEMERAL", {"viewer": str(interaction.user.id), "message": payload})
        return False


def sse(event: str, data: Any) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
