"""Fault injection: dropped gateway connections, refused resumes, failing REST calls, a slow or missing CDN."""

from __future__ import annotations

from dataclasses import dataclass

from . import gateway as gw
from .gateway import Gateway


# The JSON error Discord answers with for each status (topics/opcodes-and-status-codes › JSON Error Codes; 401 and
# 5xx carry code 0, as on Discord).
DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (50035, "Invalid Form Body"),
    401: (0, "401: Unauthorized"),
    403: (50013, "Missing Permissions"),
    404: (10008, "Unknown Message"),
    413: (40005, "Request entity too large"),
    500: (0, "500: Internal Server Error"),
    502: (0, "502: Bad Gateway"),
    503: (0, "503: Service Unavailable"),
}


@dataclass
class RestFault:
    """An injected failure for the next matching REST call."""

    status: int
    retry_after: float = 0.1
    scope: str = "user"
    route: str | None = None  # substring of "METHOD /path"; None matches any call
    code: int | None = None  # the JSON error code; Discord's usual one for `status` when None
    message: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.route is None or self.route in f"{method} {path}"

    def error(self) -> tuple[int, str]:
        code, message = DEFAULT_ERRORS.get(self.status, (0, f"{self.status}: injected by the twin"))
        return (code if self.code is None else self.code), (self.message or message)


class Faults:
    """What goes wrong next: tests set it here; the REST middleware and the CDN consult it."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.rest: list[RestFault] = []  # pending, each answers one matching call
        self.cdn_delay_seconds = 0.0
        self.cdn_missing = False
        self.cdn_extra_bytes = 0

    async def drop_gateway(self, code: int = gw.UNKNOWN_ERROR) -> None:
        """Close every gateway connection (sessions stay resumable)."""
        await self.gateway.drop_all(code)

    def reconnect_gateway(self) -> int:
        """Send op 7 RECONNECT: clients should reconnect and RESUME."""
        return self.gateway.send_reconnect()

    async def invalidate_session(self, resumable: bool = True) -> None:
        """Send op 9 INVALID_SESSION; with `resumable` (d=true) clients may RESUME, otherwise they IDENTIFY anew."""
        await self.gateway.invalidate_sessions(resumable)

    def lose_heartbeats(self) -> None:
        """The current connections' heartbeats are no longer received: each is closed when they are overdue, and its
        client RESUMEs the session on a new connection."""
        for connection in self.gateway.connections:
            connection.heartbeats_lost = True

    def reject_gateway_token(self, enabled: bool = True) -> None:
        """The gateway refuses the bot's token (close 4004) while REST still accepts it."""
        self.gateway.reject_token = enabled

    def refuse_next_resume(self, count: int = 1) -> None:
        """The next `count` RESUMEs get INVALID_SESSION (d=false), forcing a fresh IDENTIFY."""
        self.gateway.refuse_resumes += count

    def fail_next_rest(
        self,
        status: int = 429,
        *,
        retry_after: float = 0.1,
        count: int = 1,
        route: str | None = None,
        scope: str = "user",
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `count` REST calls (matching `route`, a substring of "METHOD /path") with `status`,
        carrying Discord's usual JSON error code for it (e.g. 403 → 50013) unless `code` is given. A 429 is a real
        one: `scope` "user" (the route's bucket headers, nothing remaining), "global" or "shared", with
        `retry_after`; it counts among the twin's rate limited answers."""
        for _ in range(count):
            self.rest.append(RestFault(status, retry_after=retry_after, scope=scope, route=route, code=code,
                                       message=message))

    def take_rest_fault(self, method: str, path: str) -> RestFault | None:
        """The first pending fault for this call, removed: each fault answers one call."""
        fault = next((f for f in self.rest if f.matches(method, path)), None)
        if fault is not None:
            self.rest.remove(fault)
        return fault

    def cdn_delay(self, seconds: float) -> None:
        """The CDN waits this long before answering each request."""
        self.cdn_delay_seconds = seconds

    def cdn_oversize(self, extra_bytes: int) -> None:
        """The CDN sends this many bytes more than each file holds (and than its payload's `size` claims); 0 stops it."""
        self.cdn_extra_bytes = extra_bytes

    def cdn_not_found(self, enabled: bool = True) -> None:
        """The CDN answers 404 for every file while enabled."""
        self.cdn_missing = enabled
