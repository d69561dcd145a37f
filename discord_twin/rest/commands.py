"""Application command routes: the bot registering its global and guild commands."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..changes import Changes
from ..world import WorldState
from .http import DiscordError, form_error, json_response, snowflake
from .validation import validate_command, validate_command_list

Command = dict[str, Any]


class CommandRoutes:
    """/applications/{application_id}[/guilds/{guild_id}]/commands; the commands are kept in the world."""

    def __init__(self, world: WorldState, changes: Changes) -> None:
        self.world = world
        self.changes = changes

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self._command_list(request))

    async def put_commands(self, request: web.Request) -> web.Response:
        current = self._command_list(request)
        body = await request.json()
        if not isinstance(body, list):
            raise form_error("_", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        # Bulk Overwrite: one invalid command anywhere (names, descriptions, options) refuses the whole list.
        validate_command_list(body)
        guild_id = request.match_info.get("guild_id")
        previous = {(c["name"], c["type"]): c for c in current}
        stored = [self._command(data, previous, guild_id) for data in body]
        current[:] = stored  # In place: the world's lists are the ones tests hold.
        await self.changes.notify()
        return json_response(stored)

    async def post_command(self, request: web.Request) -> web.Response:
        """Create or replace (same name and type) one global command."""
        current = self._command_list(request)
        data = await request.json()
        validate_command(data)
        previous = {(c["name"], c["type"]): c for c in current}
        command = self._command(data, previous, None)
        old = previous.get((command["name"], command["type"]))
        if old is not None:
            current[current.index(old)] = command
        else:
            current.append(command)
        await self.changes.notify()
        return json_response(command, 200 if old is not None else 201)

    def _command_list(self, request: web.Request) -> list[Command]:
        if snowflake(request.match_info["application_id"]) != self.world.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return self.world.commands
        guild_id = snowflake(request.match_info["guild_id"])
        if guild_id not in self.world.guilds:
            raise DiscordError(404, 10004, "Unknown Guild")
        return self.world.guild_commands.setdefault(guild_id, [])

    def _command(self, data: Command, previous: dict[tuple[str, int], Command], guild_id: str | None) -> Command:
        kind = int(data.get("type", 1))
        name = str(data.get("name", ""))
        description = str(data.get("description") or "")
        old = previous.get((name, kind))
        command = {
            "id": old["id"] if old else str(self.world.ids.next()),  # Discord keeps ids across overwrites.
            "application_id": str(self.world.application_id),
            "version": str(self.world.ids.next()),
            "type": kind,
            "name": name,
            "description": description if kind == 1 else "",
            "options": data.get("options") or [],
            "default_member_permissions": data.get("default_member_permissions"),
            "dm_permission": data.get("dm_permission", True),
            "contexts": data.get("contexts"),
            "integration_types": data.get("integration_types") or [0],
            "nsfw": bool(data.get("nsfw", False)),
            "name_localizations": data.get("name_localizations"),
            "description_localizations": data.get("description_localizations"),
        }
        if guild_id is not None:
            command["guild_id"] = guild_id
        return command
