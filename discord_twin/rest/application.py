"""Who the bot is and where its gateway is: /users/@me, /applications/@me, /gateway; users by id."""

from __future__ import annotations

import time

from aiohttp import web

from ..gateway import Gateway
from ..world import WorldState
from .http import DiscordError, json_response, snowflake


class ApplicationRoutes:
    def __init__(self, world: WorldState, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway

    async def get_me(self, request: web.Request) -> web.Response:
        bot = self.world.bot_user.payload()
        return json_response({**bot, "verified": True, "mfa_enabled": False, "locale": "en-US"})

    async def get_user(self, request: web.Request) -> web.Response:
        """resources/user › Get User."""
        user = self.world.users.get(snowflake(request.match_info["user_id"]))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def get_gateway(self, request: web.Request) -> web.Response:
        """events/gateway › Get Gateway: no authentication, only the `url`."""
        return json_response({"url": self.gateway.url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """events/gateway › Get Gateway Bot: the `url`, the recommended `shards` and the session start limit."""
        return json_response({
            "url": self.gateway.url,
            "shards": self.gateway.recommended_shards(),
            "session_start_limit": self.gateway.session_starts.payload(time.monotonic()),
        })

    async def get_application(self, request: web.Request) -> web.Response:
        return json_response(self.world.application_payload())
