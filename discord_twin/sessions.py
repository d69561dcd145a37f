"""The bot's gateway sessions and their websocket connections: how every change in the twin reaches the bot.

A session (IDENTIFY'd, RESUME-able) numbers its dispatches and keeps a backlog for RESUME; `Sessions` fans an event
out to the sessions that should get it: by intent, and by shard (events/gateway › Sharding: a guild's events go to
the sessions of shard `(guild_id >> 22) % num_shards`, events without a guild_id, such as direct messages, to shard 0).
The websocket endpoint that makes sessions is gateway.py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

import yarl
from aiohttp import web

DISPATCH = 0  # the opcode of events

# Intents.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
# Gateway Intents › List of Intents: the bits Discord defines (GUILDS ... GUILD_SCHEDULED_EVENTS, the two
# AUTO_MODERATION ones, the two MESSAGE_POLLS ones).
DEFINED_INTENTS = sum(1 << bit for bit in (*range(17), 20, 21, 24, 25))

# The fields of a message that the Message Content intent guards (events/gateway › Message Content Intent).
BLANK_CONTENT: dict[str, Any] = {"content": "", "embeds": [], "attachments": [], "components": []}

# How many dispatches a session keeps for RESUME; older gaps get INVALID_SESSION.
BACKLOG_SIZE = 10_000

# Events whose payload is the guild itself (its id in "id"); every other guild event names it in "guild_id".
GUILD_OBJECT_EVENTS = {"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"}


def shard_of(guild_id: int, shard_count: int) -> int:
    """events/gateway › Sharding Formula: shard_id = (guild_id >> 22) % num_shards."""
    return (guild_id >> 22) % shard_count


def guild_of(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to, as its payload says; None for events without one (direct messages)."""
    raw = data.get("id") if event in GUILD_OBJECT_EVENTS else data.get("guild_id")
    return None if raw is None else int(raw)


class GatewayConnection:
    """One websocket; frames go through a queue so that they leave in sequence order.

    With `compress=zlib-stream` in the URL (events/gateway › Transport Compression) every frame is binary: the JSON
    through one zlib context for the whole connection, each ending with the Z_SYNC_FLUSH suffix 00 00 ff ff.
    Without it, frames are JSON text. (zstd-stream is not offered: Python 3.11 has no zstd; such a connection gets
    text frames, which discord.py reads as well.)
    """

    def __init__(self, ws: web.WebSocketResponse, url: str) -> None:
        self.ws = ws
        self.url = url
        compress = yarl.URL(url).query.get("compress")
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self.session: GatewaySession | None = None
        self.closed_by_server = False
        self.last_heartbeat = asyncio.get_running_loop().time()  # HELLO counts as the start
        self.heartbeats_lost = False  # Faults: the twin acts as if this connection's heartbeats never arrive
        self._received: collections.deque[float] = collections.deque()  # when each recent payload came in
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop())

    def count_received(self, now: float) -> int:
        """Count a payload from the client; returns how many it sent in the last 60 seconds."""
        self._received.append(now)
        while now - self._received[0] >= 60.0:
            self._received.popleft()
        return len(self._received)

    def send(self, payload: dict[str, Any] | str) -> None:
        self._queue.put_nowait(payload if isinstance(payload, str) else json.dumps(payload))

    async def _write_loop(self) -> None:
        while True:
            frame = await self._queue.get()
            try:
                if self._zlib is None:
                    await self.ws.send_str(frame)
                else:
                    await self.ws.send_bytes(self._zlib.compress(frame.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
            except (ConnectionError, RuntimeError):  # The peer went away; the reader notices.
                return

    async def close(self, code: int, reason: str = "") -> None:
        """Close from the server side, dropping frames not yet written (a real drop loses them too)."""
        self.closed_by_server = True
        self._writer.cancel()
        await self.ws.close(code=code, message=reason.encode())

    async def stop_writer(self) -> None:
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


@dataclass(eq=False)
class GatewaySession:
    """An identified session; it outlives its connection so that a client can RESUME it."""

    id: str
    intents: int
    shard: list[int] | None  # [shard_id, num_shards] as sent in IDENTIFY; None for an unsharded session
    sequence: int = 0
    backlog: collections.deque[tuple[int, str]] = field(
        default_factory=lambda: collections.deque(maxlen=BACKLOG_SIZE)
    )
    connection: GatewayConnection | None = None

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.sequence += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": self.sequence, "d": data})
        # Kept even when sent: a frame in flight during a drop must be replayable.
        self.backlog.append((self.sequence, frame))
        if self.connection is not None:
            self.connection.send(frame)

    @property
    def shard_id(self) -> int:
        return self.shard[0] if self.shard else 0

    @property
    def shard_count(self) -> int:
        return self.shard[1] if self.shard else 1

    def receives(self, guild_id: int | None) -> bool:
        """Whether this session's shard gets the events of `guild_id` (None: events without a guild go to shard 0)."""
        if guild_id is None:
            return self.shard_id == 0
        return shard_of(guild_id, self.shard_count) == self.shard_id

    def can_replay_after(self, seq: int) -> bool:
        oldest = self.backlog[0][0] if self.backlog else self.sequence + 1
        return seq + 1 >= oldest

    def frames_after(self, seq: int) -> list[str]:
        return [frame for s, frame in self.backlog if s > seq]


class Sessions:
    """The identified sessions, and the fan-out of events to them: how the twin tells the bot of every change."""

    def __init__(self) -> None:
        self.by_id: dict[str, GatewaySession] = {}

    def dispatch(
        self, event: str, data: dict[str, Any], *, intent: int | None = None, privileged_content: bool = False
    ) -> int:
        """Send an event to every session subscribed to `intent` whose shard holds the event's guild; returns how many
        got it.

        `privileged_content` marks message payloads whose content Discord blanks for sessions
        without the MESSAGE_CONTENT intent.
        """
        guild_id = guild_of(event, data)
        delivered = 0
        for session in list(self.by_id.values()):
            if intent is not None and not session.intents & intent:
                continue
            if not session.receives(guild_id):
                continue
            payload = data
            if privileged_content and not session.intents & MESSAGE_CONTENT:
                payload = {**data, **BLANK_CONTENT}
            session.dispatch(event, payload)
            delivered += 1
        return delivered

    @property
    def connected(self) -> list[GatewaySession]:
        return [session for session in self.by_id.values() if session.connection is not None]
