"""DiscordTwin: serves a local Discord (REST, gateway, CDN) and holds the parts that tests drive it with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from .actions import UserActions
from .cdn import Cdn
from .changes import Changes
from .faults import Faults
from .gateway import Gateway
from .sessions import Sessions
from .interactions import Interactions
from .models import Channel, Message, MessageEdit, User
from .record import Record
from .rest import RestApi, RestCall
from .world import WorldState


class DiscordTwin:
    """A Discord stand-in on 127.0.0.1 that an unmodified discord.py client can use.

    Point a client at `api_base` (discord.http.Route.BASE) and `gateway_url`
    (discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY), log in with `token`.

    The twin is its parts: `world` (users, guilds, channels, messages, files), `actions` (test users
    acting), `interactions`, `record` (what the bot did, and waits for it), `faults`, and the servers
    `gateway`, `rest` and `cdn`. The names tests use most are also the twin's own: the parts' methods
    (bound in __init__) and the properties below.
    """

    def __init__(self, *, token: str | None = None, bot_name: str = "digitbot", host: str = "127.0.0.1") -> None:
        self.host = host
        self.changes = Changes(describe=self._summary)
        sessions = Sessions()
        self.world = WorldState(sessions, bot_name=bot_name, token=token)
        self.record = Record(self.world, self.changes)
        self.interactions = Interactions(self.world, self.record, self.changes)
        self.actions = UserActions(self.world, self.record, self.interactions, self.changes)
        self.gateway = Gateway(self.world, sessions, self.changes)
        self.faults = Faults(self.gateway)
        self.rest = RestApi(self.world, self.record, self.interactions, self.gateway, self.faults, self.changes)
        self.cdn = Cdn(self.world, self.faults)
        self.api_base = ""
        self.gateway_url = ""
        self.cdn_base = ""
        self.port = 0
        self._runner: web.AppRunner | None = None

        # The control API, each name the part's own method.
        # Building the world:
        self.create_user = self.world.create_user
        self.create_guild = self.world.create_guild
        self.create_channel = self.world.create_channel
        self.create_role = self.world.create_role
        self.add_member = self.world.add_member
        self.set_permission_overwrite = self.world.set_permission_overwrite
        self.open_dm = self.world.open_dm  # a user's direct messages with the bot
        # Acting as users:
        self.post_message = self.actions.post_message
        self.edit_message_as_user = self.actions.edit_message_as_user
        self.delete_message_as_user = self.actions.delete_message_as_user
        self.open_slash_command = self.actions.open_slash_command
        self.open_message_command = self.actions.open_message_command
        self.use_component = self.interactions.use_component  # click a button, pick in a select
        # Waiting for the bot:
        self.wait_until = self.changes.wait_until
        self.wait_until_connected = self.gateway.wait_until_connected
        self.wait_for_bot_message = self.record.wait_for_bot_message
        self.wait_for_reply = self.record.wait_for_reply
        self.wait_for_edit = self.record.wait_for_edit
        self.wait_for_rest_calls = self.rest.middleware.wait_for_calls
        self.wait_for_delete = self.record.wait_for_delete
        # Faults and limits:
        self.drop_gateway = self.faults.drop_gateway
        self.refuse_next_resume = self.faults.refuse_next_resume
        self.reconnect_gateway = self.faults.reconnect_gateway
        self.invalidate_session = self.faults.invalidate_session
        self.lose_heartbeats = self.faults.lose_heartbeats
        self.reject_gateway_token = self.faults.reject_gateway_token
        self.set_privileged_intents = self.gateway.set_privileged_intents
        self.fail_next_rest = self.faults.fail_next_rest
        self.cdn_delay = self.faults.cdn_delay
        self.cdn_not_found = self.faults.cdn_not_found
        self.cdn_oversize = self.faults.cdn_oversize
        self.set_rate_limit = self.rest.rate_limits.set_rate_limit
        self.set_route_limit = self.rest.rate_limits.set_route_limit
        self.set_global_limit = self.rest.rate_limits.set_global_limit
        self.relax_rate_limits = self.rest.rate_limits.relax

    def take_from_bot(self, channel: Channel, permissions: int) -> None:
        """Deny the bot `permissions` (bits from discord_twin.permissions) in one channel, by a member overwrite."""
        current = channel.overwrites.get(self.world.bot_user.id)
        allow, deny = (current.allow, current.deny) if current else (0, 0)
        self.world.set_permission_overwrite(channel, self.world.bot_user, allow=allow & ~permissions, deny=deny | permissions)

    def give_back_to_bot(self, channel: Channel, permissions: int) -> None:
        """Undo take_from_bot for `permissions` in `channel`."""
        current = channel.overwrites.get(self.world.bot_user.id)
        if current is not None:
            self.world.set_permission_overwrite(channel, self.world.bot_user, allow=current.allow,
                                                deny=current.deny & ~permissions)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, port: int = 0, *, routes: Sequence[web.AbstractRouteDef] = (),
                    middlewares: Sequence[Middleware] = ()) -> DiscordTwin:
        """Serve on `host`; port 0 picks a free port; `routes` are served beside Discord's, and `middlewares`
        see every request first. Returns self."""
        app = web.Application(middlewares=[*middlewares, self.rest.middleware.handle], client_max_size=64 * 1024 * 1024)
        app.add_routes(self.gateway.routes())
        app.add_routes(self.rest.routes())
        app.add_routes(self.cdn.routes())
        app.add_routes(routes)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://{self.host}:{self.port}"
        self.cdn_base = self.world.cdn.base = base
        self.api_base = f"{base}/api/v10"
        self.gateway_url = self.gateway.url = f"ws://{self.host}:{self.port}/gateway"
        return self

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordTwin:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- who the bot is, and what it did -------------------------------------------------------

    @property
    def token(self) -> str:
        """The bot's token: shaped like Discord's (its first part is the bot's id in base64) unless one was given."""
        return self.world.token

    @property
    def bot_user(self) -> User:
        return self.world.bot_user

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The global application commands the bot registered."""
        return self.world.commands

    @property
    def guild_commands(self) -> dict[int, list[dict[str, Any]]]:
        return self.world.guild_commands

    @property
    def bot_messages(self) -> list[Message]:
        return self.record.bot_messages

    @property
    def edits(self) -> list[MessageEdit]:
        return self.record.edits

    @property
    def deleted(self) -> list[Message]:
        return self.record.deleted

    @property
    def typing(self) -> list[tuple[int, float]]:
        return self.record.typing

    @property
    def rest_calls(self) -> list[RestCall]:
        return self.rest.middleware.calls

    @property
    def unknown_routes(self) -> list[str]:
        return self.rest.middleware.unknown_routes

    @property
    def cdn_requests(self) -> list[str]:
        return self.cdn.requests

    def _summary(self) -> str:
        return (
            f"{self.record.summary()}, sessions connected={len(self.gateway.connected_sessions)}, "
            f"unknown routes={self.unknown_routes}"
        )
