"""DiscordTwin: a local Discord (REST, gateway, CDN) and the control API tests drive it with."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, TypeVar

from aiohttp import web

from . import gateway as gw
from .gateway import Gateway, GatewaySession
from .models import (
    DEFAULT_EVERYONE_PERMISSIONS,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    MessageEdit,
    Role,
    SnowflakeFactory,
    StoredAttachment,
    User,
    guess_content_type,
    image_size,
)
from .rest import RestApi, RestCall, RestFault

T = TypeVar("T")

DEFAULT_TIMEOUT = 5.0

# Application command option types, by the Python type of a test's option value.
_OPTION_TYPES: list[tuple[type, int]] = [(bool, 5), (int, 4), (float, 10), (str, 3)]


@dataclass(eq=False)
class InteractionCallback:
    """The bot's initial response to an interaction (POST .../callback)."""

    type: int  # 4 message, 5 deferred message, 6 deferred update, 7 update, 9 modal, ...
    data: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)


@dataclass(eq=False)
class Interaction:
    """An interaction a test user opened, and everything the bot answered to it."""

    twin: DiscordTwin = field(repr=False)
    id: int
    token: str
    command_type: int  # 1 slash command, 3 message context menu
    command_name: str
    user: User
    channel: Channel
    payload: dict[str, Any] = field(repr=False)
    target_message: Message | None = None
    callbacks: list[InteractionCallback] = field(default_factory=list)
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    dispatched_at: float | None = None

    @property
    def response(self) -> InteractionCallback | None:
        return self.callbacks[0] if self.callbacks else None

    @property
    def message_type(self) -> int:
        """Type of the bot's response messages: 20 for slash commands, 23 for context menus."""
        return 20 if self.command_type == 1 else 23

    def metadata_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": 2,
            "name": self.command_name,
            "command_type": self.command_type,
            "user": self.user.payload(),
            "authorizing_integration_owners": {"0": str(self.channel.guild_id)},
        }
        if self.target_message is not None:
            data["target_message_id"] = str(self.target_message.id)
        return data

    async def wait_for_response(self, timeout: float = DEFAULT_TIMEOUT) -> InteractionCallback:
        """The bot's initial response (any callback type)."""
        return await self.twin.wait_until(lambda: self.response, timeout, f"a response to /{self.command_name}")

    async def wait_for_original(
        self, predicate: Callable[[Message], bool] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        """The original response message once `predicate` holds (e.g. a deferred one filled in)."""

        def find() -> Message | None:
            original = self.original
            return original if original is not None and (predicate is None or predicate(original)) else None

        return await self.twin.wait_until(find, timeout, f"the original response to /{self.command_name}")

    async def wait_for_followup(
        self, predicate: Callable[[Message], bool] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        def find() -> Message | None:
            return next((m for m in self.followups if predicate is None or predicate(m)), None)

        return await self.twin.wait_until(find, timeout, f"a follow-up to /{self.command_name}")


class DiscordTwin:
    """A Discord stand-in on 127.0.0.1 that an unmodified discord.py client can use.

    Point a client at `api_base` (discord.http.Route.BASE) and `gateway_url`
    (discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY), log in with `token`.
    """

    def __init__(self, *, token: str | None = None, bot_name: str = "digitbot", host: str = "127.0.0.1") -> None:
        self.token = token or f"twin.{secrets.token_urlsafe(24)}"
        self.host = host
        self.ids = SnowflakeFactory()
        self.bot_user = User(self.ids.next(), bot_name, bot=True)
        # For bots created since 2016 the application id equals the bot user's id.
        self.application_id = self.bot_user.id
        self.owner = User(self.ids.next(), "app-owner")
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user, self.owner.id: self.owner}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        # What the bot did, in order.
        self.bot_messages: list[Message] = []
        self._replies: dict[int, list[Message]] = {}  # by the id they reply to, for fast waits
        self.edits: list[MessageEdit] = []
        self.deleted: list[Message] = []
        self.typing: list[tuple[int, float]] = []
        self.commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        # Seconds the bot has for its first response to an interaction (Discord: 3).
        self.interaction_ack_deadline = 3.0
        # Seconds an interaction's token works for its webhook (responses, follow-ups; Discord: 15 min).
        self.interaction_token_lifetime = 15 * 60.0
        self.gateway = Gateway(self)
        self.rest = RestApi(self)
        self.api_base = ""
        self.gateway_url = ""
        self.cdn_base = ""
        self.port = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, port: int = 0) -> DiscordTwin:
        """Serve on `host`; port 0 picks a free port. Returns self."""
        app = web.Application(middlewares=[self.rest.middleware], client_max_size=64 * 1024 * 1024)
        app.add_routes([web.get("/gateway", self.gateway.handle), web.get("/gateway/resume", self.gateway.handle)])
        app.add_routes(self.rest.routes())
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://{self.host}:{self.port}"
        self.cdn_base = base
        self.api_base = f"{base}/api/v10"
        self.gateway_url = f"ws://{self.host}:{self.port}/gateway"
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

    # -- the world -----------------------------------------------------------------------------

    def create_user(self, name: str, *, bot: bool = False, global_name: str | None = None) -> User:
        user = User(self.ids.next(), name, bot=bot, global_name=global_name)
        self.users[user.id] = user
        return user

    def create_guild(self, name: str, *, owner: User | None = None) -> Guild:
        """A guild with its @everyone role, the bot as a member, and an owner (created if not given)."""
        owner = owner or self.create_user(f"{name}-owner")
        guild_id = self.ids.next()
        guild = Guild(guild_id, name, owner.id, created_at=datetime.now(timezone.utc))
        guild.roles[guild_id] = Role(guild_id, guild_id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS)
        for user in (self.bot_user, owner):
            guild.members[user.id] = Member(user, guild_id, [], datetime.now(timezone.utc))
        self.guilds[guild_id] = guild
        # A guild joined mid-session comes without "unavailable": that is how clients tell a join
        # from a guild listed in READY becoming available.
        joined = guild.payload()
        del joined["unavailable"]
        self.gateway.dispatch("GUILD_CREATE", joined, intent=gw.GUILDS)
        return guild

    def create_channel(self, guild: Guild, name: str) -> Channel:
        channel = Channel(self.ids.next(), guild.id, name, position=len(guild.channels))
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.gateway.dispatch("CHANNEL_CREATE", channel.payload(), intent=gw.GUILDS)
        return channel

    def create_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        """A role; `permissions` is the bit set, e.g. models.ADMINISTRATOR (0x8)."""
        role = Role(self.ids.next(), guild.id, name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        self.gateway.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()}, intent=gw.GUILDS)
        return role

    def add_member(self, guild: Guild, user: User, roles: Iterable[Role] = ()) -> Member:
        member = Member(user, guild.id, [role.id for role in roles], datetime.now(timezone.utc))
        guild.members[user.id] = member
        self.gateway.dispatch(
            "GUILD_MEMBER_ADD", {**member.payload(), "guild_id": str(guild.id)}, intent=gw.GUILD_MEMBERS
        )
        return member

    def store_attachment(
        self,
        channel: Channel,
        filename: str,
        data: bytes,
        content_type: str | None = None,
        description: str | None = None,
    ) -> StoredAttachment:
        """Put a file on the CDN, with the type and image size Discord would report."""
        content_type = content_type or guess_content_type(filename)
        size = image_size(data, content_type)
        attachment = StoredAttachment(
            id=self.ids.next(),
            channel_id=channel.id,
            filename=filename,
            content_type=content_type,
            data=data,
            cdn_base=self.cdn_base,
            width=size[0] if size else None,
            height=size[1] if size else None,
            description=description,
        )
        self.attachments[attachment.id] = attachment
        return attachment

    # -- acting as users -----------------------------------------------------------------------

    async def post_message(
        self,
        channel: Channel,
        author: User,
        content: str = "",
        *,
        attachments: Iterable[Attachment] = (),
        embeds: list[dict[str, Any]] | None = None,
        reply_to: Message | None = None,
    ) -> Message:
        """Post as `author` and dispatch MESSAGE_CREATE; `dispatched_at` records when."""
        stored = [self.store_attachment(channel, a.filename, a.data, a.content_type) for a in attachments]
        message = Message(
            id=self.ids.next(),
            channel=channel,
            author=author,
            content=content,
            embeds=embeds or [],
            attachments=stored,
            reference_id=reply_to.id if reply_to else None,
            type=19 if reply_to else 0,
        )
        self.messages[message.id] = message
        channel.last_message_id = message.id
        self._dispatch_message("MESSAGE_CREATE", message)
        message.dispatched_at = time.perf_counter()
        await self.notify()
        return message

    async def edit_message_as_user(self, message: Message, content: str) -> Message:
        message.content = content
        message.edited_at = datetime.now(timezone.utc)
        self.edits.append(MessageEdit(message, content, message.embeds, message.attachments, by_bot=False))
        self._dispatch_message("MESSAGE_UPDATE", message)
        await self.notify()
        return message

    async def delete_message_as_user(self, message: Message) -> None:
        message.deleted = True
        self._dispatch_delete(message)
        await self.notify()

    async def open_slash_command(
        self,
        channel: Channel,
        user: User,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        require_registered: bool = True,
    ) -> Interaction:
        """Run /name (or /name subcommand) as `user`; option values: str, int, float, bool, User, Attachment (uploaded).

        By default the command must have been registered by the bot, as on Discord.
        """
        command = self._find_command(channel, name, 1, require_registered)
        declared_options = (command or {}).get("options", [])
        if subcommand is not None:
            declared_options = next((o.get("options", []) for o in declared_options if o["name"] == subcommand), [])
        declared = {o["name"]: o for o in declared_options}
        resolved: dict[str, dict[str, Any]] = {}
        option_payloads = []
        for option_name, value in (options or {}).items():
            kind, raw = self._option(channel, value, resolved)
            kind = int(declared.get(option_name, {}).get("type", kind))
            option_payloads.append({"name": option_name, "type": kind, "value": raw})
        if subcommand is not None:  # Discord nests a subcommand's options under an option of type 1
            option_payloads = [{"name": subcommand, "type": 1, "options": option_payloads}]
        data: dict[str, Any] = {"type": 1, "name": name, "options": option_payloads}
        if resolved:
            data["resolved"] = resolved
        return await self._open_interaction(channel, user, command, data, target=None)

    async def open_message_command(
        self, channel: Channel, user: User, name: str, target: Message, *, require_registered: bool = True
    ) -> Interaction:
        """Run the message context-menu command `name` on `target` as `user`."""
        command = self._find_command(channel, name, 3, require_registered)
        data = {
            "type": 3,
            "name": name,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): self.message_payload(target)}},
        }
        return await self._open_interaction(channel, user, command, data, target=target)

    def _find_command(self, channel: Channel, name: str, kind: int, required: bool) -> dict[str, Any] | None:
        for command in [*self.guild_commands.get(channel.guild_id, []), *self.commands]:
            if command["name"] == name and command["type"] == kind:
                return command
        if required:
            known = [c["name"] for c in [*self.guild_commands.get(channel.guild_id, []), *self.commands]]
            raise LookupError(f"the bot has not registered command {name!r} (type {kind}); registered: {known}")
        return None

    def _option(self, channel: Channel, value: Any, resolved: dict[str, dict[str, Any]]) -> tuple[int, Any]:
        if isinstance(value, Attachment):
            stored = self.store_attachment(channel, value.filename, value.data, value.content_type)
            resolved.setdefault("attachments", {})[str(stored.id)] = stored.payload()
            return 11, str(stored.id)
        if isinstance(value, User):
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            return 6, str(value.id)
        for python_type, kind in _OPTION_TYPES:
            if isinstance(value, python_type):
                return kind, value
        raise TypeError(f"unsupported option value {value!r}")

    async def _open_interaction(
        self,
        channel: Channel,
        user: User,
        command: dict[str, Any] | None,
        data: dict[str, Any],
        target: Message | None,
    ) -> Interaction:
        guild = self.guilds[channel.guild_id]
        interaction_id = self.ids.next()
        data["id"] = command["id"] if command else str(self.ids.next())
        if command is not None and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        member = guild.members[user.id]
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": 2,  # APPLICATION_COMMAND
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "member": member.payload(permissions=guild.permissions_of(user)),
            "token": f"interaction.{secrets.token_urlsafe(32)}",
            "version": 1,
            "app_permissions": str(guild.permissions_of(self.bot_user)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        interaction = Interaction(
            twin=self,
            id=interaction_id,
            token=payload["token"],
            command_type=data["type"],
            command_name=data["name"],
            user=user,
            channel=channel,
            payload=payload,
            target_message=target,
        )
        self.interactions[interaction_id] = interaction
        self.interactions_by_token[interaction.token] = interaction
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        interaction.dispatched_at = time.perf_counter()
        await self.notify()
        return interaction

    # -- what the bot did (called by the REST handlers) ----------------------------------------

    async def record_bot_message(self, message: Message) -> None:
        self.messages[message.id] = message
        self.bot_messages.append(message)
        if message.reference_id is not None:
            self._replies.setdefault(message.reference_id, []).append(message)
        message.channel.last_message_id = message.id
        if not message.ephemeral:  # Ephemeral messages only exist for their one viewer.
            self._dispatch_message("MESSAGE_CREATE", message)
        await self.notify()

    async def record_bot_edit(self, message: Message) -> None:
        message.edited_at = datetime.now(timezone.utc)
        self.edits.append(MessageEdit(message, message.content, message.embeds, message.attachments, by_bot=True))
        if not message.ephemeral:
            self._dispatch_message("MESSAGE_UPDATE", message)
        await self.notify()

    async def record_bot_delete(self, message: Message) -> None:
        message.deleted = True
        self.deleted.append(message)
        if not message.ephemeral:
            self._dispatch_delete(message)
        await self.notify()

    async def record_reaction(self, message: Message, emoji: str, user_id: int, *, added: bool) -> None:
        users = message.reactions.setdefault(emoji, set())
        if added:
            users.add(user_id)
        else:
            users.discard(user_id)
        event = "MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE"
        data = {
            "user_id": str(user_id),
            "channel_id": str(message.channel.id),
            "message_id": str(message.id),
            "guild_id": str(message.guild_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        self.gateway.dispatch(event, data, intent=gw.GUILD_MESSAGE_REACTIONS)
        await self.notify()

    async def record_interaction_callback(
        self, interaction: Interaction, kind: int, data: dict[str, Any], message: Message | None
    ) -> None:
        interaction.callbacks.append(InteractionCallback(kind, data))
        if message is not None:
            interaction.original = message
            await self.record_bot_message(message)
        await self.notify()

    async def record_followup(self, interaction: Interaction, message: Message) -> None:
        interaction.followups.append(message)
        await self.record_bot_message(message)

    # -- waiting -------------------------------------------------------------------------------

    async def notify(self) -> None:
        """Wake every waiter to re-check its condition."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, find: Callable[[], T | None], timeout: float = DEFAULT_TIMEOUT, what: str = "a condition") -> T:
        """Return `find()` once it is truthy; re-checked on every change in the twin."""
        async with self._changed:
            try:
                return await asyncio.wait_for(self._changed.wait_for(find), timeout)  # type: ignore[arg-type]
            except TimeoutError:
                raise TimeoutError(f"twin: no {what} within {timeout}s; {self._summary()}") from None

    async def wait_until_connected(self, count: int = 1, timeout: float = DEFAULT_TIMEOUT) -> list[GatewaySession]:
        """Wait until `count` gateway sessions are identified and connected."""

        def find() -> list[GatewaySession] | None:
            sessions = self.gateway.connected_sessions
            return sessions if len(sessions) >= count else None

        return await self.wait_until(find, timeout, f"{count} connected gateway session(s)")

    async def wait_for_bot_message(
        self,
        predicate: Callable[[Message], bool] | None = None,
        *,
        channel: Channel | None = None,
        reply_to: Message | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Message:
        """The first message the bot sent (ever, not only from now on) that matches every filter."""

        def matches(message: Message) -> bool:
            return (
                (channel is None or message.channel is channel)
                and (reply_to is None or message.reference_id == reply_to.id)
                and (predicate is None or predicate(message))
            )

        return await self.wait_until(
            lambda: next((m for m in self.bot_messages if matches(m)), None), timeout, "matching bot message"
        )

    async def wait_for_reply(self, message: Message, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """The bot's first reply (message_reference) to `message`."""

        def find() -> Message | None:
            replies = self._replies.get(message.id)
            return replies[0] if replies else None

        return await self.wait_until(find, timeout, f"reply to message {message.id}")

    async def wait_for_edit(
        self,
        predicate: Callable[[MessageEdit], bool] | None = None,
        *,
        message: Message | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> MessageEdit:
        """The first edit by the bot (of `message`, if given) matching `predicate`."""

        def matches(edit: MessageEdit) -> bool:
            return edit.by_bot and (message is None or edit.message is message) and (predicate is None or predicate(edit))

        return await self.wait_until(lambda: next((e for e in self.edits if matches(e)), None), timeout, "matching edit")

    async def wait_for_delete(
        self, predicate: Callable[[Message], bool] | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        return await self.wait_until(
            lambda: next((m for m in self.deleted if predicate is None or predicate(m)), None), timeout, "deletion"
        )

    def _summary(self) -> str:
        sent = [f"{m.id}:{m.content[:40]!r}" for m in self.bot_messages[-5:]]
        return (
            f"bot messages={len(self.bot_messages)} (last: {sent}), edits={len(self.edits)}, "
            f"sessions connected={len(self.gateway.connected_sessions)}, unknown routes={self.rest.unknown_routes}"
        )

    # -- faults --------------------------------------------------------------------------------

    async def drop_gateway(self, code: int = gw.UNKNOWN_ERROR) -> None:
        """Close every gateway connection (sessions stay resumable)."""
        await self.gateway.drop_all(code)

    def refuse_next_resume(self, count: int = 1) -> None:
        """The next `count` RESUMEs get INVALID_SESSION (d=false), forcing a fresh IDENTIFY."""
        self.gateway.refuse_resumes += count

    def fail_next_rest(
        self,
        status: int = 429,
        *,
        retry_after: float = 0.1,
        count: int = 1,
        route: str | None = None,
        scope: str = "user",
    ) -> None:
        """Answer the next `count` REST calls (matching `route`, a substring of "METHOD /path") with `status`."""
        for _ in range(count):
            self.rest.faults.append(RestFault(status, retry_after=retry_after, scope=scope, route=route))

    def cdn_delay(self, seconds: float) -> None:
        self.rest.cdn_delay = seconds

    def cdn_not_found(self, enabled: bool = True) -> None:
        self.rest.cdn_not_found = enabled

    def set_rate_limit(self, limit: int, window: float) -> None:
        """Enforce `limit` requests per route bucket per `window` seconds (Discord: 5 per 5 s per channel)."""
        self.rest.rate_limit, self.rest.rate_limit_window = limit, window

    @property
    def rest_calls(self) -> list[RestCall]:
        return self.rest.calls

    @property
    def unknown_routes(self) -> list[str]:
        return self.rest.unknown_routes

    @property
    def cdn_requests(self) -> list[str]:
        return self.rest.cdn_requests

    # -- payloads ------------------------------------------------------------------------------

    def message_payload(self, message: Message) -> dict[str, Any]:
        member = self.guilds[message.guild_id].members.get(message.author.id)
        referenced = self.messages.get(message.reference_id) if message.reference_id else None
        return message.payload(member=member, users=self.users, referenced=referenced)

    def _dispatch_message(self, event: str, message: Message) -> None:
        # MESSAGE_CONTENT is privileged except for the bot's own messages and ones mentioning it.
        privileged = message.author is not self.bot_user and self.bot_user.id not in message.mention_ids()
        self.gateway.dispatch(
            event, self.message_payload(message), intent=gw.GUILD_MESSAGES, privileged_content=privileged
        )

    def _dispatch_delete(self, message: Message) -> None:
        data = {"id": str(message.id), "channel_id": str(message.channel.id), "guild_id": str(message.guild_id)}
        self.gateway.dispatch("MESSAGE_DELETE", data, intent=gw.GUILD_MESSAGES)

    def ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        return {
            "v": 10,
            "user": {**self.bot_user.payload(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(guild_id), "unavailable": True} for guild_id in self.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": f"ws://{self.host}:{self.port}/gateway/resume",
            "shard": session.shard or [0, 1],
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
        }

    @property
    def application_flags(self) -> int:
        # GATEWAY_GUILD_MEMBERS (1<<14) and GATEWAY_MESSAGE_CONTENT (1<<18): privileged intents enabled.
        return (1 << 14) | (1 << 18)

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner.payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "bot": self.bot_user.payload(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "rpc_origins": [],
            "tags": [],
        }

