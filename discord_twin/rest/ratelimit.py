"""Rate limits as Discord documents them (topics/rate-limits): a global limit of 50 requests per second per bot, and
per-route buckets keyed by the route and its top-level resource (channel, guild, or webhook id + token), with the
X-RateLimit-* headers and Discord's 429 answer.

Discord does not publish every route's numbers ("should not hard code"); the twin uses the widely observed ones for
the routes a bot answers with: 5 messages per 5 s per channel, 5 edits or deletions per 5 s per channel, one reaction
per 0.25 s per channel, and 5 interaction-webhook calls per 2 s per interaction token ("Interactions webhooks share
the same rate limit properties as normal webhooks"). Interaction endpoints are not bound to the global limit, and the
interaction callback has no bucket at all: Discord answers it without X-RateLimit-* headers.
`relax()` lifts all of this for load tests of a bot's own throughput (not Discord's behaviour).
"""

from __future__ import annotations

import collections
import hashlib
import math
import time
from dataclasses import dataclass

from aiohttp import web

from .http import API_PREFIX, json_response

# Routes whose calls carry the interaction token instead of the bot token: exempt from the global limit.
INTERACTION_PREFIXES = (f"{API_PREFIX}/webhooks/", f"{API_PREFIX}/interactions/")
# The interaction callback: no bucket, no rate limit headers.
UNLIMITED_PREFIX = f"{API_PREFIX}/interactions/"


@dataclass(frozen=True)
class RouteLimit:
    limit: int
    window: float  # seconds


GLOBAL_LIMIT = RouteLimit(50, 1.0)  # Global Rate Limit: "up to 50 requests per second"
DEFAULT_ROUTE_LIMIT = RouteLimit(50, 1.0)  # routes without a known limit of their own
_MSG = f"{API_PREFIX}/channels/{{channel_id}}/messages"
_HOOK = f"{API_PREFIX}/webhooks/{{application_id}}/{{token}}"
ROUTE_LIMITS: dict[tuple[str, str], RouteLimit] = {
    ("POST", _MSG): RouteLimit(5, 5.0),
    ("PATCH", f"{_MSG}/{{message_id}}"): RouteLimit(5, 5.0),
    ("DELETE", f"{_MSG}/{{message_id}}"): RouteLimit(5, 5.0),
    ("PUT", f"{_MSG}/{{message_id}}/reactions/{{emoji}}/@me"): RouteLimit(1, 0.25),
    ("POST", _HOOK): RouteLimit(5, 2.0),
    ("PATCH", f"{_HOOK}/messages/{{message_id}}"): RouteLimit(5, 2.0),
    ("DELETE", f"{_HOOK}/messages/{{message_id}}"): RouteLimit(5, 2.0),
}
RELAXED = RouteLimit(1000, 1.0)
# Invalid Request Limit aka Cloudflare bans: "10,000 per 10 minutes. An invalid request is one that results in 401,
# 403, or 429 statuses"; "429 errors returned with X-RateLimit-Scope: shared are not counted".
INVALID_REQUEST_LIMIT = RouteLimit(10_000, 600.0)


def cloudflare_ban() -> web.Response:
    """What an IP address restricted for too many invalid requests gets: Cloudflare's 429 page, not Discord's JSON
    (no Via header: discord.py reads that as a ban and raises instead of retrying)."""
    return web.Response(status=429, text="error code: 1015", content_type="text/plain")


def too_many_requests(retry_after: float, scope: str = "user", code: int = 0) -> web.Response:
    """Discord's 429 (Exceeding A Rate Limit), as discord.py expects it."""
    body = {"message": "You are being rate limited.", "retry_after": round(retry_after, 3), "global": scope == "global"}
    if code:
        body["code"] = code
    response = json_response(body, 429)
    response.headers["Retry-After"] = str(math.ceil(retry_after))
    response.headers["X-RateLimit-Scope"] = scope
    if scope == "global":
        response.headers["X-RateLimit-Global"] = "true"
    # discord.py treats a 429 without Via as a Cloudflare ban; Discord's API responses carry it.
    response.headers["Via"] = "1.1 google"
    return response


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass(frozen=True)
class Bucket:
    """Where one request is counted: its route bucket (key, hash, limit) and whether the global limit applies."""

    key: str
    hash: str
    limit: RouteLimit
    global_applies: bool


class RateLimiter:
    """Counts requests per route bucket and globally; answers 429 once a window is used up."""

    def __init__(self) -> None:
        self.global_limit = GLOBAL_LIMIT
        self.route_limits = dict(ROUTE_LIMITS)
        self.default_route_limit = DEFAULT_ROUTE_LIMIT
        self.override: RouteLimit | None = None  # set_rate_limit: one limit for every route
        self._windows: dict[str, _Window] = {}
        self.limited: list[tuple[str, str]] = []  # (bucket key or "global", scope) of every 429 answered
        self.invalid_limit = INVALID_REQUEST_LIMIT
        self._invalid: collections.deque[float] = collections.deque()  # when each recent invalid request was answered
        self.bans = 0  # requests answered with Cloudflare's ban

    def set_rate_limit(self, limit: int, window: float) -> None:
        """Enforce `limit` requests per `window` seconds on every route bucket (replacing the per-route table)."""
        self.override = RouteLimit(limit, window)

    def set_route_limit(self, method: str, template: str, limit: int, window: float) -> None:
        """Set one route's bucket, `template` as in the route table (e.g. "/api/v10/channels/{channel_id}/messages")."""
        self.route_limits[(method, template)] = RouteLimit(limit, window)

    def set_global_limit(self, limit: int, window: float = 1.0) -> None:
        self.global_limit = RouteLimit(limit, window)

    def relax(self) -> None:
        """1000 per second everywhere: for measuring a bot's own throughput, not Discord's behaviour."""
        self.override = self.global_limit = RELAXED

    def banned(self) -> bool:
        """Whether the bot is over the invalid request limit (and so restricted) right now."""
        now = time.monotonic()
        while self._invalid and now - self._invalid[0] >= self.invalid_limit.window:
            self._invalid.popleft()
        return len(self._invalid) >= self.invalid_limit.limit

    def count_invalid(self, response: web.StreamResponse) -> None:
        """Count a 401, 403 or 429 answer (a 429 of scope "shared" excepted) towards the invalid request limit."""
        shared = response.headers.get("X-RateLimit-Scope") == "shared"
        if response.status in (401, 403) or (response.status == 429 and not shared):
            self._invalid.append(time.monotonic())

    def bucket_of(self, request: web.Request, template: str) -> Bucket | None:
        """The request's route bucket: the route (method and template) plus its top-level resource; None for the
        interaction callback, which has none."""
        if request.path.startswith(UNLIMITED_PREFIX):
            return None
        info = request.match_info
        major = info.get("channel_id") or info.get("guild_id") or info.get("token") or ""
        route = f"{request.method} {template}"
        bucket_hash = hashlib.sha1(route.encode()).hexdigest()[:16]
        limit = self.override or self.route_limits.get((request.method, template), self.default_route_limit)
        exempt = request.path.startswith(INTERACTION_PREFIXES)
        return Bucket(f"{bucket_hash}:{major}", bucket_hash, limit, not exempt)

    def take(self, bucket: Bucket) -> web.Response | None:
        """Count a request; a 429 if the global window or the route bucket is already used up."""
        if bucket.global_applies:
            window = self._window("global", self.global_limit)
            if window.used >= self.global_limit.limit:
                return self.refuse(bucket, self._reset_after(window, self.global_limit), "global")
        window = self._window(bucket.key, bucket.limit)
        if window.used >= bucket.limit.limit:
            return self.refuse(bucket, self._reset_after(window, bucket.limit), "user")
        window.used += 1
        if bucket.global_applies:
            self._window("global", self.global_limit).used += 1
        return None

    def refuse(self, bucket: Bucket | None, retry_after: float, scope: str) -> web.Response:
        """Exceeding A Rate Limit: a 429 as Discord sends it, counted in `limited`. A route's 429 (scope "user" or
        "shared") carries its bucket's headers with nothing remaining; a global one only X-RateLimit-Global."""
        self.limited.append(("global" if scope == "global" else bucket.key if bucket else "", scope))
        response = too_many_requests(retry_after, scope)
        if bucket is not None and scope != "global":
            self._headers(response, bucket, remaining=0, reset_after=retry_after)
        return response

    def add_headers(self, response: web.StreamResponse, bucket: Bucket) -> None:
        """Header Format: X-RateLimit-Limit, -Remaining, -Reset, -Reset-After and -Bucket of the route bucket."""
        window = self._window(bucket.key, bucket.limit)
        self._headers(response, bucket, remaining=max(bucket.limit.limit - window.used, 0),
                      reset_after=self._reset_after(window, bucket.limit))

    @staticmethod
    def _headers(response: web.StreamResponse, bucket: Bucket, *, remaining: int, reset_after: float) -> None:
        response.headers["X-RateLimit-Limit"] = str(bucket.limit.limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = f"{time.time() + reset_after:.3f}"
        response.headers["X-RateLimit-Reset-After"] = f"{reset_after:.3f}"
        response.headers["X-RateLimit-Bucket"] = bucket.hash

    @staticmethod
    def _reset_after(window: _Window, limit: RouteLimit) -> float:
        return max(limit.window - (time.monotonic() - window.start), 0.001)

    def _window(self, key: str, limit: RouteLimit) -> _Window:
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or now - window.start >= limit.window:
            window = self._windows[key] = _Window(start=now)
        return window
