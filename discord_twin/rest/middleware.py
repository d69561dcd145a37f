"""What every REST call passes through: unknown routes, the bot token, injected faults, rate limits, the call log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from ..changes import DEFAULT_TIMEOUT, Changes
from ..faults import Faults, RestFault
from ..world import WorldState
from .http import API_PREFIX, DiscordError, Handler
from .ratelimit import Bucket, RateLimiter, cloudflare_ban

log = logging.getLogger(__name__)

# Routes authenticated by the interaction token in the URL rather than by the bot token.
TOKEN_IN_URL_PREFIXES = (f"{API_PREFIX}/webhooks/", f"{API_PREFIX}/interactions/")
# events/gateway › Get Gateway: "This endpoint does not require authentication."
UNAUTHENTICATED_PATHS = {f"{API_PREFIX}/gateway"}


@dataclass
class RestCall:
    """One REST request the twin answered, for tests to inspect."""

    method: str
    path: str
    route: str
    status: int
    at: float = field(default_factory=time.perf_counter)


class RestMiddleware:
    """An aiohttp middleware for the paths under /api/v10; anything else (the CDN, the gateway) passes untouched."""

    def __init__(self, world: WorldState, faults: Faults, rate_limits: RateLimiter, changes: Changes) -> None:
        self.world = world
        self.faults = faults
        self.rate_limits = rate_limits
        self.changes = changes
        self.calls: list[RestCall] = []
        self.unknown_routes: list[str] = []

    @web.middleware
    async def handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(f"{API_PREFIX}/"):
            return await handler(request)
        match_info = request.match_info
        if match_info.http_exception is not None:
            status = match_info.http_exception.status
            reason = "Not Found" if status == 404 else "Method Not Allowed"
            self.unknown_routes.append(f"{request.method} {request.path}")
            log.warning("discord twin: no route for %s %s (answered %d)", request.method, request.path, status)
            response: web.StreamResponse = DiscordError(status, 0, f"{status}: {reason}").response()
            await self._log(RestCall(request.method, request.path, "?", status))
            return response
        template = match_info.route.resource.canonical if match_info.route.resource else request.path
        if self.rate_limits.banned():
            self.rate_limits.bans += 1
            await self._log(RestCall(request.method, request.path, template, 429))
            return cloudflare_ban()
        bucket = self.rate_limits.bucket_of(request, template)
        try:
            response = await self._guarded(request, handler, bucket)
        except DiscordError as error:
            response = error.response()
        if bucket is not None and response.status != 429:  # a 429 carries its own headers
            self.rate_limits.add_headers(response, bucket)
        self.rate_limits.count_invalid(response)
        await self._log(RestCall(request.method, request.path, template, response.status))
        return response

    async def wait_for_calls(self, matches: Callable[[RestCall], bool], count: int,
                             timeout: float = DEFAULT_TIMEOUT) -> list[RestCall]:
        """The logged calls that `matches`, once there are at least `count` of them. A call is logged once answered,
        so a test that saw the answer's effect (a reply, a follow-up) waits here for the call itself."""
        def enough() -> list[RestCall] | None:
            found = [call for call in self.calls if matches(call)]
            return found if len(found) >= count else None

        return await self.changes.wait_until(enough, timeout, f"{count} matching REST calls")

    async def _log(self, call: RestCall) -> None:
        # A call is logged once answered, after its handler's own changes: waiters on the log are woken again.
        self.calls.append(call)
        await self.changes.notify()

    async def _guarded(self, request: web.Request, handler: Handler, bucket: Bucket | None) -> web.StreamResponse:
        if not request.path.startswith(TOKEN_IN_URL_PREFIXES) and request.path not in UNAUTHENTICATED_PATHS:
            if request.headers.get("Authorization") != f"Bot {self.world.token}":
                raise DiscordError(401, 0, "401: Unauthorized")
        fault = self.faults.take_rest_fault(request.method, request.path)
        if fault is not None:
            return self._fault_response(fault, bucket)
        limited = self.rate_limits.take(bucket) if bucket is not None else None
        if limited is not None:
            return limited
        return await handler(request)

    def _fault_response(self, fault: RestFault, bucket: Bucket | None) -> web.Response:
        if fault.status != 429:
            code, message = fault.error()
            return DiscordError(fault.status, code, message).response()
        return self.rate_limits.refuse(bucket, fault.retry_after, fault.scope)
