"""Rate limits: a bucket per route and major parameter, its X-RateLimit-* headers, and the 429 answer."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from aiohttp import web

from .http import json_response


def too_many_requests(retry_after: float, scope: str = "user") -> web.Response:
    """Discord's 429, as discord.py expects it."""
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": scope == "global",
        "code": 0,
    }
    response = json_response(body, 429)
    response.headers["Retry-After"] = str(math.ceil(retry_after))
    response.headers["X-RateLimit-Scope"] = scope
    # discord.py treats a 429 without Via as a Cloudflare ban; Discord's API responses carry it.
    response.headers["Via"] = "1.1 google"
    return response


@dataclass
class _Bucket:
    window_start: float
    used: int = 0


class RateLimiter:
    """`limit` requests per bucket per `window` seconds; the same limit for every route."""

    def __init__(self) -> None:
        self.limit = 1000  # Discord's message route allows 5 per 5 s per channel
        self.window = 1.0
        self._buckets: dict[str, _Bucket] = {}

    def set_rate_limit(self, limit: int, window: float) -> None:
        """Enforce `limit` requests per route bucket per `window` seconds (Discord: 5 per 5 s per channel)."""
        self.limit, self.window = limit, window

    def bucket_of(self, request: web.Request, template: str) -> tuple[str, str]:
        """The bucket's key (route and major parameter) and its hash, as in X-RateLimit-Bucket."""
        info = request.match_info
        major = info.get("channel_id") or info.get("guild_id") or info.get("token") or ""
        route = f"{request.method} {template}"
        bucket_hash = hashlib.sha1(route.encode()).hexdigest()[:16]
        return f"{bucket_hash}:{major}", bucket_hash

    def take(self, key: str) -> web.Response | None:
        """Count a request against its bucket; a 429 if the bucket is already used up."""
        bucket = self._bucket(key)
        if bucket.used >= self.limit:
            retry_after = self.window - (time.monotonic() - bucket.window_start)
            return too_many_requests(max(retry_after, 0.001))
        bucket.used += 1
        return None

    def add_headers(self, response: web.StreamResponse, key: str, bucket_hash: str) -> None:
        bucket = self._bucket(key)
        reset_after = max(self.window - (time.monotonic() - bucket.window_start), 0.0)
        response.headers["X-RateLimit-Limit"] = str(self.limit)
        response.headers["X-RateLimit-Remaining"] = str(max(self.limit - bucket.used, 0))
        response.headers["X-RateLimit-Reset"] = f"{time.time() + reset_after:.3f}"
        response.headers["X-RateLimit-Reset-After"] = f"{reset_after:.3f}"
        response.headers["X-RateLimit-Bucket"] = bucket_hash

    def _bucket(self, key: str) -> _Bucket:
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None or now - bucket.window_start >= self.window:
            bucket = self._buckets[key] = _Bucket(window_start=now)
        return bucket
