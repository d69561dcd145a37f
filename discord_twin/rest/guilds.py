"""Guild routes: the guild and its members."""

from __future__ import annotations

from aiohttp import web

from ..world import WorldState
from .http import DiscordError, json_response, snowflake


class GuildRoutes:
    def __init__(self, world: WorldState) -> None:
        self.world = world

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self.world.guilds.get(snowflake(request.match_info["guild_id"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        data = guild.payload()
        for key in ("channels", "members", "threads", "presences", "voice_states"):
            del data[key]  # Not part of the REST guild object.
        return json_response(data)

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self.world.guilds.get(snowflake(request.match_info["guild_id"]))
        member = guild.members.get(snowflake(request.match_info["user_id"])) if guild else None
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return json_response(member.payload())
