"""The twin's gateway endpoint: Discord's websocket protocol (v10, JSON; zlib-stream transport compression when
the URL asks for it). The sessions it makes, their connections and their fan-out are in sessions.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from .changes import DEFAULT_TIMEOUT, Changes
from .sessions import (
    GUILD_MEMBERS,
    GUILD_PRESENCES,
    GUILDS,
    MESSAGE_CONTENT,
    DEFINED_INTENTS,
    PRIVILEGED_INTENTS,
    GatewayConnection,
    GatewaySession,
    Sessions,
    shard_of,
)
from .models import Guild
from .world import WorldState

log = logging.getLogger(__name__)

# Opcodes (DISPATCH, 0, is sent by the sessions).
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

HEARTBEAT_ACK_DELAY = 0.05  # seconds: a round trip to Discord

# Close codes.
UNKNOWN_ERROR = 4000
UNKNOWN_OPCODE = 4001
DECODE_ERROR = 4002
NOT_AUTHENTICATED = 4003
AUTHENTICATION_FAILED = 4004
ALREADY_AUTHENTICATED = 4005
RATE_LIMITED = 4008
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
INVALID_INTENTS = 4013
DISALLOWED_INTENTS = 4014

# A connection whose heartbeat is this many intervals late is closed (Sending Heartbeats › Heartbeat Interval: "If
# your app fails to send a heartbeat event in time, your connection will be closed and you will be forced to
# Resume"). Discord allows some slack beyond one interval ("There is already tolerance"); so does the twin.
HEARTBEAT_GRACE = 1.5
# Rate Limiting: "Apps can send 120 gateway events per connection every 60 seconds ... Apps that surpass the limit
# are immediately disconnected".
EVENTS_PER_MINUTE = 120

# events/gateway › Sharding: "Each shard can only support a maximum of 2500 guilds".
MAX_GUILDS_PER_SHARD = 2500
# The guilds per shard behind /gateway/bot's recommended `shards`. Discord does not document how it computes the
# recommendation; bots observe about one shard per 1,000 guilds.
RECOMMENDED_GUILDS_PER_SHARD = 1000


@dataclass
class SessionStarts:
    """Starting sessions (IDENTIFY; RESUME does not count), as events/gateway documents it.

    Session Start Limit Object: `total` starts a day; Max Concurrency: shards start in buckets,
    `rate_limit_key = shard_id % max_concurrency`; Rate Limiting: one IDENTIFY per bucket per 5 seconds, an early
    one is answered with Invalid Session (opcode 9). `identify_interval` shortens the 5 s for tests.
    """

    total: int = 1000
    max_concurrency: int = 1
    identify_interval: float = 5.0
    day: float = 24 * 3600.0
    used: int = 0
    window_start: float | None = None  # the first start of the current day
    last_identify: dict[int, float] = field(default_factory=dict)  # by rate-limit key
    early: int = 0  # IDENTIFYs answered with op 9 because their bucket's interval had not passed

    def _roll(self, now: float) -> None:
        if self.window_start is not None and now - self.window_start >= self.day:
            self.window_start, self.used = None, 0

    def remaining(self, now: float) -> int:
        self._roll(now)
        return max(self.total - self.used, 0)

    def too_early(self, shard_id: int, now: float) -> bool:
        last = self.last_identify.get(shard_id % self.max_concurrency)
        return last is not None and now - last < self.identify_interval

    def start(self, shard_id: int, now: float) -> None:
        self._roll(now)
        self.window_start = now if self.window_start is None else self.window_start
        self.used += 1
        self.last_identify[shard_id % self.max_concurrency] = now

    def payload(self, now: float) -> dict[str, int]:
        """The Session Start Limit Object of /gateway/bot."""
        remaining = self.remaining(now)
        reset_after = 0.0 if self.window_start is None else self.day - (now - self.window_start)
        return {
            "total": self.total,
            "remaining": remaining,
            "reset_after": int(reset_after * 1000),
            "max_concurrency": self.max_concurrency,
        }


class Gateway:
    """Accepts gateway websockets: HELLO, IDENTIFY and READY, RESUME, heartbeats, member requests."""

    def __init__(self, world: WorldState, sessions: Sessions, changes: Changes) -> None:
        self.world = world
        self.sessions = sessions
        self.changes = changes
        self.url = ""  # ws://host:port/gateway once the twin serves
        self.connections: set[GatewayConnection] = set()
        self.heartbeat_interval_ms = 41_250
        self.refuse_resumes = 0
        self.reject_token = False  # Faults: IDENTIFY and RESUME fail with 4004 even with the right token
        self.timeouts = 0  # connections closed because their heartbeats stopped (their sessions stay resumable)
        self.events_per_minute = EVENTS_PER_MINUTE  # what a client may send on one connection
        self.rate_limited = 0  # connections closed with 4008 for sending more
        # Sharding (events/gateway › Sharding): lower max_guilds_per_shard to test 4011 with a few guilds.
        self.max_guilds_per_shard = MAX_GUILDS_PER_SHARD
        self.recommended_guilds_per_shard = RECOMMENDED_GUILDS_PER_SHARD
        self.session_starts = SessionStarts()
        # Counters tests can wait on.
        self.identifies = 0
        self.resumes = 0
        self.refused_resumes = 0
        self.connection_urls: list[str] = []

    @property
    def resume_url(self) -> str:
        return f"{self.url}/resume"

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/gateway", self.handle), web.get("/gateway/resume", self.handle)]

    def recommended_shards(self) -> int:
        """/gateway/bot's `shards`: enough shards for `recommended_guilds_per_shard` guilds each."""
        return max(1, math.ceil(len(self.world.guilds) / self.recommended_guilds_per_shard))

    def shard_guilds(self, shard_id: int, shard_count: int) -> list[Guild]:
        return [guild for guild in self.world.guilds.values() if shard_of(guild.id, shard_count) == shard_id]

    @property
    def connected_sessions(self) -> list[GatewaySession]:
        return self.sessions.connected

    async def wait_until_connected(self, count: int = 1, timeout: float = DEFAULT_TIMEOUT) -> list[GatewaySession]:
        """Wait until `count` gateway sessions are identified and connected."""

        def find() -> list[GatewaySession] | None:
            sessions = self.connected_sessions
            return sessions if len(sessions) >= count else None

        return await self.changes.wait_until(find, timeout, f"{count} connected gateway session(s)")

    # -- closing connections -------------------------------------------------------------------

    async def drop_all(self, code: int = UNKNOWN_ERROR) -> None:
        """Close every connection but keep the sessions, so clients can RESUME."""
        connections = list(self.connections)
        for connection in connections:
            # Detach first: from here on dispatches only reach the backlog, until a RESUME.
            if connection.session is not None:
                connection.session.connection = None
        for connection in connections:
            await connection.close(code, "dropped by the twin")

    def set_privileged_intents(self, *, message_content: bool = True, members: bool = True, presences: bool = True) -> None:
        """The privileged intents enabled for the bot in the developer portal: asking for another one is closed with
        4014, and without Message Content the REST API blanks message content too (Privileged Intents › HTTP
        Restrictions)."""
        self.world.privileged_intents = (
            (MESSAGE_CONTENT if message_content else 0) | (GUILD_MEMBERS if members else 0)
            | (GUILD_PRESENCES if presences else 0)
        )

    def send_reconnect(self) -> int:
        """Send op 7 RECONNECT on every identified connection (Gateway › Reconnect); returns how many."""
        sent = 0
        for connection in list(self.connections):
            if connection.session is not None:
                connection.send({"op": RECONNECT, "d": None})
                sent += 1
        return sent

    async def invalidate_sessions(self, resumable: bool) -> None:
        """Send op 9 INVALID_SESSION with `d` = `resumable` (Gateway › Invalid Session); a resumable session is kept."""
        for connection in list(self.connections):
            session = connection.session
            if session is None:
                continue
            if not resumable:
                self.sessions.by_id.pop(session.id, None)
            connection.send({"op": INVALID_SESSION, "d": resumable})
        await self.changes.notify()

    async def _watch_heartbeats(self, connection: GatewayConnection) -> None:
        """Close a connection once its heartbeats are overdue; its session stays, for the client to RESUME."""
        loop = asyncio.get_running_loop()
        while not connection.ws.closed:
            deadline = connection.last_heartbeat + HEARTBEAT_GRACE * self.heartbeat_interval_ms / 1000
            if loop.time() >= deadline:
                self.timeouts += 1
                if connection.session is not None:
                    connection.session.connection = None  # from here on its events wait in the backlog
                await connection.close(UNKNOWN_ERROR, "Heartbeat timed out.")
                await self.changes.notify()
                return
            await asyncio.sleep(max(deadline - loop.time(), 0.01))

    async def close_all(self) -> None:
        for connection in list(self.connections):
            await connection.close(1001, "twin shutting down")
        self.sessions.by_id.clear()

    # -- websocket handler ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        connection = GatewayConnection(ws, str(request.url))
        self.connections.add(connection)
        self.connection_urls.append(str(request.url))
        connection.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        watchdog = asyncio.create_task(self._watch_heartbeats(connection))
        try:
            async for message in ws:
                # JSON comes in text frames, or (hikari sends it so) in binary ones.
                payload = _decode(message) if message.type in (WSMsgType.TEXT, WSMsgType.BINARY) else None
                if not isinstance(payload, dict):
                    await connection.close(DECODE_ERROR, "Error while decoding payload.")
                    break
                if connection.count_received(asyncio.get_running_loop().time()) > self.events_per_minute:
                    self.rate_limited += 1
                    if connection.session is not None:
                        connection.session.connection = None  # 4008 may reconnect: the session stays resumable
                    await connection.close(RATE_LIMITED, "You are being rate limited.")
                    break
                await self._receive(connection, payload)
        finally:
            watchdog.cancel()
            self.connections.discard(connection)
            await connection.stop_writer()
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
                # A client closing with 1000/1001 ends its session, as on Discord.
                if not connection.closed_by_server and ws.close_code in (1000, 1001):
                    self.sessions.by_id.pop(session.id, None)
            await self.changes.notify()
        return ws

    async def _receive(self, connection: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data: Any = payload.get("d")  # JSON from the client
        if op == HEARTBEAT:
            if connection.heartbeats_lost:
                return
            connection.last_heartbeat = asyncio.get_running_loop().time()
            # Acknowledged after a network's round trip, as from Discord: discord.py stamps a heartbeat as sent
            # only once its keep-alive thread wakes up, and an instant ack that lands first reads (on a busy
            # machine) as "websocket is 41.3s behind" in the bot's log.
            asyncio.get_running_loop().call_later(HEARTBEAT_ACK_DELAY, connection.send, {"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            await self._identify(connection, data)
        elif op == RESUME:
            await self._resume(connection, data)
        elif connection.session is None:
            await connection.close(NOT_AUTHENTICATED, "Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            self._request_members(connection.session, data)
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            pass  # Accepted and ignored: the twin has no presences or voice.
        else:
            log.warning("discord twin: unknown gateway opcode %r", op)
            await connection.close(UNKNOWN_OPCODE, "Unknown opcode.")

    async def _identify(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            await connection.close(ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        if data.get("token") != self.world.token or self.reject_token:
            await connection.close(AUTHENTICATION_FAILED, "Authentication failed.")
            return
        intents = data.get("intents", 0)
        if type(intents) is not int or intents < 0 or intents & ~DEFINED_INTENTS:
            await connection.close(INVALID_INTENTS, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.world.privileged_intents:
            await connection.close(DISALLOWED_INTENTS, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and not _valid_shard(shard):
            await connection.close(INVALID_SHARD, "Invalid shard.")
            return
        shard_id, shard_count = shard or (0, 1)
        guilds = self.shard_guilds(shard_id, shard_count)
        if len(guilds) > self.max_guilds_per_shard:
            await connection.close(SHARDING_REQUIRED, "Sharding required.")
            return
        now = time.monotonic()
        if self.session_starts.too_early(shard_id, now):
            # Rate Limiting: more IDENTIFYs in a bucket than max_concurrency allows per 5 s get op 9.
            self.session_starts.early += 1
            connection.send({"op": INVALID_SESSION, "d": False})
            await self.changes.notify()
            return
        if self.session_starts.remaining(now) == 0:
            await self._reset_token(connection)
            return
        self.session_starts.start(shard_id, now)
        session = GatewaySession(id=uuid.uuid4().hex, intents=intents, shard=shard)
        self.sessions.by_id[session.id] = session
        connection.session = session
        session.connection = connection
        self.identifies += 1
        session.dispatch("READY", self._ready_payload(session, guilds))
        if intents & GUILDS:
            for guild in guilds:
                session.dispatch("GUILD_CREATE", guild.payload())
        await self.changes.notify()

    async def _reset_token(self, connection: GatewayConnection) -> None:
        """Identifying: past the day's session starts "all active sessions for the app will be terminated, the bot
        token will be reset": every connection closes with 4004 and only the new token (twin.token) works."""
        self.world.reset_token()
        for other in list(self.connections):
            if other.session is not None:
                other.session.connection = None
                self.sessions.by_id.pop(other.session.id, None)
            await other.close(AUTHENTICATION_FAILED, "Authentication failed.")
        await connection.close(AUTHENTICATION_FAILED, "Authentication failed.")
        await self.changes.notify()

    async def _resume(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        if data.get("token") != self.world.token or self.reject_token:
            await connection.close(AUTHENTICATION_FAILED, "Authentication failed.")
            return
        session = self.sessions.by_id.get(str(data.get("session_id")))
        seq = data.get("seq") or 0
        if self.refuse_resumes > 0 or session is None or not session.can_replay_after(seq):
            if self.refuse_resumes > 0:
                self.refuse_resumes -= 1
            self.refused_resumes += 1
            if session is not None:
                self.sessions.by_id.pop(session.id, None)
            connection.send({"op": INVALID_SESSION, "d": False})
            await self.changes.notify()
            return
        previous = session.connection
        if previous is not None:
            # A resume takes the session over from a connection the client gave up on.
            previous.session = None
            await previous.close(UNKNOWN_ERROR, "session resumed elsewhere")
        connection.session = session
        for frame in session.frames_after(seq):
            connection.send(frame)
        session.connection = connection
        session.dispatch("RESUMED", {})
        self.resumes += 1
        await self.changes.notify()

    def _request_members(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data["guild_id"]))
        if guild is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(user_id) for user_id in data["user_ids"]}
            members = [member for member in members if member.user.id in wanted]
        elif data.get("query"):
            members = [member for member in members if member.user.username.startswith(data["query"])]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [member.payload() for member in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    def _ready_payload(self, session: GatewaySession, guilds: list[Guild]) -> dict[str, Any]:
        world = self.world
        data: dict[str, Any] = {
            "v": 10,
            "user": {**world.bot_user.payload(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(world.application_id), "flags": world.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
        }
        if session.shard is not None:
            data["shard"] = session.shard  # Ready › shard: "if sent when identifying"
        return data


def _decode(message: WSMessage) -> Any:
    """A client's JSON payload from a text or binary frame; None if it is not JSON."""
    try:
        return json.loads(message.data)  # bytes are read as UTF-8
    except (ValueError, UnicodeDecodeError):
        return None


def _valid_shard(shard: Any) -> bool:
    """IDENTIFY's `shard`: [shard_id, num_shards] with 0 <= shard_id < num_shards (events/gateway › Sharding)."""
    return (
        isinstance(shard, list) and len(shard) == 2 and all(type(n) is int for n in shard)
        and 0 <= shard[0] < shard[1]
    )
