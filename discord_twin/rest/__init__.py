"""The twin's REST API (Discord's v10 under /api/v10): the route table, one handler class per group of routes.

Where a route is handled: find its path below; the handler is a method of the group named there, in the
module of the same name (`messages.py`, `interactions.py`, `commands.py`, `guilds.py`, `application.py`).
Every call first passes `middleware.py` (auth, injected faults, `ratelimit.py`); message bodies are read and
checked in `bodies.py` and `validation.py`.
"""

from __future__ import annotations

from aiohttp import web

from ..changes import Changes
from ..faults import Faults
from ..gateway import Gateway
from ..interactions import Interactions
from ..record import Record
from ..world import WorldState
from .application import ApplicationRoutes
from .commands import CommandRoutes
from .guilds import GuildRoutes
from .http import API_PREFIX
from .interactions import InteractionRoutes
from .messages import MessageRoutes
from .middleware import RestCall, RestMiddleware
from .ratelimit import RateLimiter

__all__ = ["RestApi", "RestCall"]


class RestApi:
    """The REST routes and the middleware every call passes; the state they act on lives in the twin's parts."""

    def __init__(
        self,
        world: WorldState,
        record: Record,
        interactions: Interactions,
        gateway: Gateway,
        faults: Faults,
        changes: Changes,
    ) -> None:
        self.rate_limits = RateLimiter()
        self.middleware = RestMiddleware(world, faults, self.rate_limits, changes)
        self.application = ApplicationRoutes(world, gateway)
        self.messages = MessageRoutes(world, record)
        self.guilds = GuildRoutes(world)
        self.commands = CommandRoutes(world, changes)
        self.interactions = InteractionRoutes(world, record, interactions)

    def routes(self) -> list[web.RouteDef]:
        p = API_PREFIX
        msg = f"{p}/channels/{{channel_id}}/messages/{{message_id}}"
        hook = f"{p}/webhooks/{{application_id}}/{{token}}"
        cmd = f"{p}/applications/{{application_id}}/commands"
        guild_cmd = f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands"
        return [
            web.get(f"{p}/users/@me", self.application.get_me),
            web.post(f"{p}/users/@me/channels", self.messages.open_dm),
            web.get(f"{p}/users/{{user_id}}", self.application.get_user),
            web.get(f"{p}/gateway", self.application.get_gateway),
            web.get(f"{p}/gateway/bot", self.application.get_gateway_bot),
            web.get(f"{p}/oauth2/applications/@me", self.application.get_application),
            web.get(f"{p}/applications/@me", self.application.get_application),
            web.get(f"{p}/channels/{{channel_id}}", self.messages.get_channel),
            web.get(f"{p}/channels/{{channel_id}}/messages", self.messages.list_messages),
            web.post(f"{p}/channels/{{channel_id}}/messages", self.messages.create_message),
            web.get(msg, self.messages.get_message),
            web.patch(msg, self.messages.edit_message),
            web.delete(msg, self.messages.delete_message),
            web.put(f"{msg}/reactions/{{emoji}}/@me", self.messages.add_reaction),
            web.delete(f"{msg}/reactions/{{emoji}}/{{user_id}}", self.messages.remove_reaction),
            web.post(f"{p}/channels/{{channel_id}}/typing", self.messages.typing),
            web.get(f"{p}/guilds/{{guild_id}}", self.guilds.get_guild),
            web.get(f"{p}/guilds/{{guild_id}}/members/{{user_id}}", self.guilds.get_member),
            web.get(cmd, self.commands.get_commands),
            web.put(cmd, self.commands.put_commands),
            web.post(cmd, self.commands.post_command),
            web.get(f"{cmd}/{{command_id}}", self.commands.get_command),
            web.delete(f"{cmd}/{{command_id}}", self.commands.delete_command),
            web.get(guild_cmd, self.commands.get_commands),
            web.put(guild_cmd, self.commands.put_commands),
            web.post(guild_cmd, self.commands.post_command),
            web.get(f"{guild_cmd}/{{command_id}}", self.commands.get_command),
            web.delete(f"{guild_cmd}/{{command_id}}", self.commands.delete_command),
            web.post(f"{p}/interactions/{{interaction_id}}/{{token}}/callback", self.interactions.callback),
            web.post(hook, self.interactions.execute_webhook),
            web.get(f"{hook}/messages/{{message_id}}", self.interactions.get_webhook_message),
            web.patch(f"{hook}/messages/{{message_id}}", self.interactions.edit_webhook_message),
            web.delete(f"{hook}/messages/{{message_id}}", self.interactions.delete_webhook_message),
        ]
