"""The bot's gateway sessions and their websocket connections: how every change in the twin reaches the bot.

A session (IDENTIFY'd, RESUME-able) numbers its dispatches and keeps a backlog for RESUME; `Sessions` fans an event
out to the sessions that should get it (by intent). The websocket endpoint that makes sessions is gateway.py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DISPATCH = 0  # the opcode of events

# Intents.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# How many dispatches a session keeps for RESUME; older gaps get INVALID_SESSION.
BACKLOG_SIZE = 10_000


class GatewayConnection:
    """One websocket; frames go through a queue so that they leave in sequence order."""

    def __init__(self, ws: web.WebSocketResponse, url: str) -> None:
        self.ws = ws
        self.url = url
        self.session: GatewaySession | None = None
        self.closed_by_server = False
        self.last_heartbeat = asyncio.get_running_loop().time()  # HELLO counts as the start
        self.heartbeats_lost = False  # Faults: the twin acts as if this connection's heartbeats never arrive
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop())

    def send(self, payload: dict[str, Any] | str) -> None:
        self._queue.put_nowait(payload if isinstance(payload, str) else json.dumps(payload))

    async def _write_loop(self) -> None:
        while True:
            frame = await self._queue.get()
            try:
                await self.ws.send_str(frame)
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
    shard: list[int] | None
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
        """Send an event to every session subscribed to `intent`; returns how many got it.

        `privileged_content` marks message payloads whose content Discord blanks for sessions
        without the MESSAGE_CONTENT intent.
        """
        delivered = 0
        for session in list(self.by_id.values()):
            if intent is not None and not session.intents & intent:
                continue
            payload = data
            if privileged_content and not session.intents & MESSAGE_CONTENT:
                payload = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
            session.dispatch(event, payload)
            delivered += 1
        return delivered

    @property
    def connected(self) -> list[GatewaySession]:
        return [session for session in self.by_id.values() if session.connection is not None]
