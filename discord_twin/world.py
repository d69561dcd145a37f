"""The world the twin holds, building it, and announcing its changes to the bot's gateway sessions.

Users, guilds (with their channels, roles and members), messages, the files on the CDN, and the bot's
application with the commands it registered.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from .models import (
    DM,
    MEMBER,
    ROLE,
    CdnUrls,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    SnowflakeFactory,
    StoredAttachment,
    User,
    guess_content_type,
    bot_token,
    image_size,
    user_id_of_token,
)
from .permissions import DEFAULT_EVERYONE_PERMISSIONS, DM_PERMISSIONS, VIEW_CHANNEL, channel_permissions
from .sessions import (
    BLANK_CONTENT,
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    GUILD_MEMBERS,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    GUILD_PRESENCES,
    GUILDS,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    Sessions,
)


class WorldState:
    """Everything Discord knows in the twin; each change that Discord announces goes out to `sessions`."""

    def __init__(self, sessions: Sessions, *, bot_name: str, token: str | None = None) -> None:
        self.sessions = sessions
        self.ids = SnowflakeFactory()
        # A Discord-shaped token names the bot's id; the bot then has that id, as on Discord.
        self.bot_user = User((token and user_id_of_token(token)) or self.ids.next(), bot_name, bot=True)
        self.token = token or bot_token(self.bot_user.id)  # the one token REST and the gateway accept
        # For bots created since 2016 the application id equals the bot user's id.
        self.application_id = self.bot_user.id
        self.owner = User(self.ids.next(), "app-owner")
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user, self.owner.id: self.owner}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.dm_channels: dict[int, Channel] = {}  # by the id of the user the bot talks with
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        # The application commands the bot registered: global ones, and per guild.
        self.commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.cdn = CdnUrls()  # the CDN's base URL and the signing of its attachment URLs
        self.privileged_intents = PRIVILEGED_INTENTS  # enabled for the bot in the "developer portal"

    def reset_token(self) -> str:
        """A new token for the bot; the old one is refused from now on."""
        self.token = bot_token(self.bot_user.id)
        return self.token

    # -- building ------------------------------------------------------------------------------

    def create_user(self, name: str, *, bot: bool = False, global_name: str | None = None) -> User:
        user = User(self.ids.next(), name, bot=bot, global_name=global_name)
        self.users[user.id] = user
        return user

    def create_guild(self, name: str, *, owner: User | None = None) -> Guild:
        """A guild with its @everyone role, the bot as a member, and an owner (created if not given)."""
        owner = owner or self.create_user(f"{name}-owner")
        guild_id = self.ids.earlier()
        guild = Guild(guild_id, name, owner.id, created_at=datetime.now(timezone.utc))
        guild.roles[guild_id] = Role(guild_id, guild_id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS)
        for user in (self.bot_user, owner):
            guild.members[user.id] = Member(user, guild_id, [], datetime.now(timezone.utc))
        self.guilds[guild_id] = guild
        # A guild joined mid-session comes without "unavailable": that is how clients tell a join
        # from a guild listed in READY becoming available.
        joined = guild.payload()
        del joined["unavailable"]
        self.sessions.dispatch("GUILD_CREATE", joined, intent=GUILDS)
        return guild

    def create_channel(self, guild: Guild, name: str) -> Channel:
        channel = Channel(self.ids.next(), guild.id, name, position=len(guild.channels))
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self.sessions.dispatch("CHANNEL_CREATE", channel.payload(), intent=GUILDS)
        return channel

    def open_dm(self, user: User) -> Channel:
        """The direct message channel between the bot and `user` (made on first use; Discord announces nothing)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(self.ids.next(), None, "", type=DM, recipient=user)
            self.dm_channels[user.id] = self.channels[channel.id] = channel
        return channel

    def create_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        """A role; `permissions` is the bit set, e.g. permissions.ADMINISTRATOR (0x8)."""
        role = Role(self.ids.next(), guild.id, name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        self.sessions.dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()}, intent=GUILDS
        )
        return role

    def add_member(self, guild: Guild, user: User, roles: Iterable[Role] = ()) -> Member:
        member = Member(user, guild.id, [role.id for role in roles], datetime.now(timezone.utc))
        guild.members[user.id] = member
        self.sessions.dispatch(
            "GUILD_MEMBER_ADD", {**member.payload(), "guild_id": str(guild.id)}, intent=GUILD_MEMBERS
        )
        return member

    def set_permission_overwrite(
        self, channel: Channel, target: Role | User, *, allow: int = 0, deny: int = 0
    ) -> Overwrite | None:
        """Set (or, with allow=deny=0, remove) the channel's overwrite for a role or a member; CHANNEL_UPDATE follows."""
        kind = ROLE if isinstance(target, Role) else MEMBER
        if allow or deny:
            channel.overwrites[target.id] = Overwrite(target.id, kind, allow, deny)
        else:
            channel.overwrites.pop(target.id, None)
        self.sessions.dispatch("CHANNEL_UPDATE", channel.payload(), intent=GUILDS)
        return channel.overwrites.get(target.id)

    def bot_permissions(self, channel: Channel) -> int:
        """The bot's permissions in `channel` (topics/permissions › Permission Overwrites; fixed in a DM)."""
        if channel.guild_id is None:
            return DM_PERMISSIONS
        return channel_permissions(self.guilds[channel.guild_id], channel, self.bot_user)

    def bot_sees(self, channel: Channel) -> bool:
        return bool(self.bot_permissions(channel) & VIEW_CHANNEL)

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
            cdn=self.cdn,
            width=size[0] if size else None,
            height=size[1] if size else None,
            description=description,
        )
        self.attachments[attachment.id] = attachment
        return attachment

    # -- messages (ephemeral ones exist only for their one viewer, so nothing is announced) ----

    def add_message(self, message: Message) -> None:
        self.messages[message.id] = message
        message.channel.last_message_id = message.id
        if not message.ephemeral:
            self._dispatch_message("MESSAGE_CREATE", message)

    def edit_message(self, message: Message) -> None:
        """Announce an edit already applied to `message`."""
        message.edited_at = datetime.now(timezone.utc)
        if not message.ephemeral:
            self._dispatch_message("MESSAGE_UPDATE", message)

    def delete_message(self, message: Message) -> None:
        message.deleted = True
        if not message.ephemeral and self.bot_sees(message.channel):
            data = {"id": str(message.id), "channel_id": str(message.channel.id), **_guild_field(message)}
            intent = DIRECT_MESSAGES if message.channel.is_dm else GUILD_MESSAGES
            self.sessions.dispatch("MESSAGE_DELETE", data, intent=intent)

    def react(self, message: Message, emoji: str, user_id: int, *, added: bool) -> None:
        users = message.reactions.setdefault(emoji, set())
        if added:
            users.add(user_id)
        else:
            users.discard(user_id)
        if not self.bot_sees(message.channel):
            return
        event = "MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE"
        data = {
            "user_id": str(user_id),
            "channel_id": str(message.channel.id),
            "message_id": str(message.id),
            **_guild_field(message),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        intent = DIRECT_MESSAGE_REACTIONS if message.channel.is_dm else GUILD_MESSAGE_REACTIONS
        self.sessions.dispatch(event, data, intent=intent)

    def _dispatch_message(self, event: str, message: Message) -> None:
        if not self.bot_sees(message.channel):
            return  # Gateway events of a channel go only to those who may view it.
        # events/gateway › Message Content Intent: privileged except in the bot's own messages, DMs with the bot and
        # messages that mention it.
        privileged = self._content_hidden(message)
        intent = DIRECT_MESSAGES if message.channel.is_dm else GUILD_MESSAGES
        self.sessions.dispatch(event, self.message_payload(message), intent=intent, privileged_content=privileged)

    # -- payloads ------------------------------------------------------------------------------

    def message_payload(self, message: Message) -> dict[str, Any]:
        guild = self.guilds.get(message.guild_id) if message.guild_id is not None else None
        member = guild.members.get(message.author.id) if guild is not None else None
        referenced = self.messages.get(message.reference_id) if message.reference_id else None
        return message.payload(member=member, users=self.users, referenced=referenced)

    def rest_message_payload(self, message: Message) -> dict[str, Any]:
        """A message as the REST API shows it to the bot: events/gateway › Message Content Intent applies to "message
        content data across the APIs", so without the intent enabled (HTTP Restrictions: whatever the IDENTIFY asked
        for) content, embeds, attachments and components are empty, except in the bot's own messages, DMs with it and
        messages that mention it; the same for the message it replies to."""
        data = self.message_payload(message)
        if self.privileged_intents & MESSAGE_CONTENT:
            return data
        if self._content_hidden(message):
            data.update(BLANK_CONTENT)
        referenced = self.messages.get(message.reference_id) if message.reference_id else None
        if data.get("referenced_message") and referenced is not None and self._content_hidden(referenced):
            data["referenced_message"] = {**data["referenced_message"], **BLANK_CONTENT}
        return data

    def _content_hidden(self, message: Message) -> bool:
        """Whether a bot without the Message Content intent gets this message's content blanked."""
        return not message.channel.is_dm and message.author is not self.bot_user and (
            self.bot_user.id not in message.mention_ids()
        )

    @property
    def application_flags(self) -> int:
        """Application Flags: GATEWAY_PRESENCE (1<<12), GATEWAY_GUILD_MEMBERS (1<<14), GATEWAY_MESSAGE_CONTENT (1<<18)
        for the privileged intents enabled."""
        intents = self.privileged_intents
        return (
            ((1 << 12) if intents & GUILD_PRESENCES else 0) | ((1 << 14) if intents & GUILD_MEMBERS else 0)
            | ((1 << 18) if intents & MESSAGE_CONTENT else 0)
        )

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


def _guild_field(message: Message) -> dict[str, str]:
    """{"guild_id": ...} for an event about a guild's message; nothing for a direct message."""
    return {} if message.guild_id is None else {"guild_id": str(message.guild_id)}
