"""Application command routes: the bot registering, listing and deleting its global and guild commands.

interactions/application-commands › Registering a Command: command names are unique per type within a scope (global,
or one guild); a scope holds at most 100 CHAT_INPUT, 15 USER and 15 MESSAGE commands (30032 beyond); "There is a
global rate limit of 200 application command creates per day, per guild" (30034 beyond), counting every command
that does not already exist, whether created alone or by a bulk overwrite ("Commands that do not already exist will
count toward daily application command create limits"). The twin counts the global scope the same way.
"""

from __future__ import annotations

import collections
import time
from typing import Any

from aiohttp import web

from ..changes import Changes
from ..world import WorldState
from .http import DiscordError, form_error, json_response, snowflake
from .validation import validate_command, validate_command_list

Command = dict[str, Any]

CHAT_INPUT, USER, MESSAGE = 1, 2, 3
MAX_COMMANDS = {CHAT_INPUT: 100, USER: 15, MESSAGE: 15}  # Registering a Command: per scope
CREATES_PER_DAY = 200
DAY = 24 * 3600.0
# The fields that make a command what it is; an overwrite that changes none of them keeps its version.
DEFINITION = (
    "type", "name", "description", "options", "default_member_permissions", "dm_permission", "contexts",
    "integration_types", "nsfw", "name_localizations", "description_localizations",
)


class CommandRoutes:
    """/applications/{application_id}[/guilds/{guild_id}]/commands[/{command_id}]; the commands live in the world."""

    def __init__(self, world: WorldState, changes: Changes) -> None:
        self.world = world
        self.changes = changes
        self.creates_per_day = CREATES_PER_DAY
        # When each command of a scope (None: global; else the guild's id) was created, over the last day.
        self.creates: dict[int | None, collections.deque[float]] = collections.defaultdict(collections.deque)

    async def get_commands(self, request: web.Request) -> web.Response:
        """Get Global / Guild Application Commands: what a bot compares with its own before it syncs."""
        return json_response(self._command_list(request))

    async def get_command(self, request: web.Request) -> web.Response:
        return json_response(self._named_command(request))

    async def delete_command(self, request: web.Request) -> web.Response:
        command = self._named_command(request)
        self._command_list(request).remove(command)
        await self.changes.notify()
        return web.Response(status=204)

    async def put_commands(self, request: web.Request) -> web.Response:
        """Bulk Overwrite: the whole list replaces the scope's commands, or nothing changes."""
        current = self._command_list(request)
        body = await request.json()
        if not isinstance(body, list):
            raise form_error("_", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        # One invalid command anywhere (names, descriptions, options) refuses the whole list.
        validate_command_list(body)
        _check_counts(body)
        previous = {(c["name"], c["type"]): c for c in current}
        scope = self._scope(request)
        stored = [self._command(data, previous, scope) for data in body]
        self._count_creates(scope, sum((c["name"], c["type"]) not in previous for c in stored))
        current[:] = stored  # In place: the world's lists are the ones tests hold.
        await self.changes.notify()
        return json_response(stored)

    async def post_command(self, request: web.Request) -> web.Response:
        """Create Global / Guild Application Command: creates, or replaces the one of the same name and type."""
        current = self._command_list(request)
        data = await request.json()
        validate_command(data)
        previous = {(c["name"], c["type"]): c for c in current}
        scope = self._scope(request)
        command = self._command(data, previous, scope)
        old = previous.get((command["name"], command["type"]))
        if old is not None:
            current[current.index(old)] = command
        else:
            _check_counts([*current, command])
            self._count_creates(scope, 1)
            current.append(command)
        await self.changes.notify()
        return json_response(command, 200 if old is not None else 201)

    def _scope(self, request: web.Request) -> int | None:
        return snowflake(request.match_info["guild_id"]) if "guild_id" in request.match_info else None

    def _count_creates(self, scope: int | None, count: int) -> None:
        """Record `count` creates in `scope`, or refuse them all (30034) if the day's creates would pass the limit."""
        now = time.monotonic()
        creates = self.creates[scope]
        while creates and now - creates[0] >= DAY:
            creates.popleft()
        if len(creates) + count > self.creates_per_day:
            raise DiscordError(400, 30034, f"Max number of daily application command creates has been reached "
                                           f"({self.creates_per_day})")
        creates.extend([now] * count)

    def _command_list(self, request: web.Request) -> list[Command]:
        if snowflake(request.match_info["application_id"]) != self.world.application_id:
            raise DiscordError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return self.world.commands
        guild_id = snowflake(request.match_info["guild_id"])
        if guild_id not in self.world.guilds:
            raise DiscordError(404, 10004, "Unknown Guild")
        return self.world.guild_commands.setdefault(guild_id, [])

    def _named_command(self, request: web.Request) -> Command:
        wanted = request.match_info["command_id"]
        command = next((c for c in self._command_list(request) if c["id"] == wanted), None)
        if command is None:
            raise DiscordError(404, 10063, "Unknown application command")
        return command

    def _command(self, data: Command, previous: dict[tuple[str, int], Command], guild_id: int | None) -> Command:
        kind = int(data.get("type", 1))
        name = str(data.get("name", ""))
        description = str(data.get("description") or "")
        old = previous.get((name, kind))
        command = {
            "id": old["id"] if old else str(self.world.ids.next()),  # Discord keeps ids across overwrites.
            "application_id": str(self.world.application_id),
            "version": "",
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
        unchanged = old is not None and all(old.get(key) == command[key] for key in DEFINITION)
        command["version"] = old["version"] if unchanged and old else str(self.world.ids.next())
        if guild_id is not None:
            command["guild_id"] = str(guild_id)
        return command


def _check_counts(commands: list[Command]) -> None:
    """Registering a Command: at most 100 CHAT_INPUT, 15 USER and 15 MESSAGE commands in a scope."""
    counts = collections.Counter(int(c.get("type", CHAT_INPUT)) for c in commands)
    for kind, limit in MAX_COMMANDS.items():
        if counts[kind] > limit:
            raise DiscordError(400, 30032, "Maximum number of application commands reached")
