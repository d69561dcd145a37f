"""Who the bot is and where its gateway is: /users/@me, /applications/@me, /gateway."""

from __future__ import annotations

from aiohttp import web

from ..gateway import Gateway
from ..world import WorldState
from .http import json_response


class ApplicationRoutes:
    def __init__(self, world: WorldState, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway

    async def get_me(self, request: web.Request) -> web.Response:
        bot = self.world.bot_user.payload()
        return json_response({**bot, "verified": True, "mfa_enabled": False, "locale": "en-US"})

    async def get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": self.gateway.url, "shards": 1, "session_start_limit": limit})

    async def get_application(self, request: web.Request) -> web.Response:
        return json_response(self.world.application_payload())
