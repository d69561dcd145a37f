"""The things in the twin's world (users, guilds, channels, roles, members, messages, files, interactions) and their
JSON payloads."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import itertools
import mimetypes
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .changes import DEFAULT_TIMEOUT, Changes

DISCORD_EPOCH_MS = 1420070400000

# Message flags (resources/message › Message Flags).
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_VOICE_MESSAGE = 1 << 13
FLAG_IS_COMPONENTS_V2 = 1 << 15
# The flags a bot may set: Create Message ("only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE, and
# IS_COMPONENTS_V2 can be set"); an interaction's message may also be EPHEMERAL (receiving-and-responding ›
# Messages).
CHANNEL_MESSAGE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_VOICE_MESSAGE | FLAG_IS_COMPONENTS_V2
INTERACTION_MESSAGE_FLAGS = CHANNEL_MESSAGE_FLAGS | FLAG_EPHEMERAL

_MENTION = re.compile(r"<@!?(\d+)>")


class SnowflakeFactory:
    """Increasing snowflakes built like Discord's: milliseconds since 2015 in the top bits."""

    def __init__(self) -> None:
        self._started = int(time.time() * 1000) - DISCORD_EPOCH_MS
        self._last = self._started << 22  # later ids, even if the clock steps back, stay above the earlier() ones
        self._increment = itertools.count()
        self._earlier = itertools.count(1)

    def next(self) -> int:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (millis << 22) | (1 << 17) | (next(self._increment) & 0xFFF)
        # Strictly increasing even when many ids fall in one millisecond or the clock steps back.
        self._last = max(candidate, self._last + 1)
        return self._last

    def earlier(self) -> int:
        """An id from before the first `next()`, each a millisecond before the previous one.

        For guilds: a shard is chosen from the id's milliseconds (events/gateway › Sharding Formula), so guilds made
        in one burst would all land on one shard; a millisecond apart, consecutive guilds fall on consecutive shards,
        as guilds created over months do on Discord.
        """
        return ((self._started - next(self._earlier)) << 22) | (1 << 17)


def bot_token(user_id: int) -> str:
    """A bot token shaped like Discord's: the user id in base64, a base64 timestamp, and a secret part.

    Libraries read the bot's id from the first part (hikari does, and refuses a token where it is not).
    """

    def encode(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{encode(str(user_id).encode())}.{encode(int(time.time()).to_bytes(4, 'big'))}.{secrets.token_urlsafe(27)}"


def user_id_of_token(token: str) -> int | None:
    """The bot user id a Discord-shaped token names in its first part; None for a token of another shape."""
    first = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() and 0 < int(decoded) < 1 << 63 else None


def snowflake_time(snowflake: int) -> datetime:
    """The creation time encoded in a snowflake."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(eq=False)
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
            "avatar_decoration_data": None,
        }


@dataclass(eq=False)
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


ROLE, MEMBER = 0, 1  # overwrite types


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, object]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


GUILD_TEXT, DM = 0, 1  # channel types


@dataclass(eq=False)
class Channel:
    """A guild's text channel, or (type DM, no guild) the direct messages between the bot and `recipient`."""

    id: int
    guild_id: int | None
    name: str
    position: int = 0
    type: int = GUILD_TEXT
    last_message_id: int | None = None
    # Permission overwrites by role or member id (permissions.Overwrite).
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    recipient: User | None = None  # DM channels: the user the bot talks with

    @property
    def is_dm(self) -> bool:
        return self.guild_id is None

    def payload(self) -> dict[str, Any]:
        if self.recipient is not None:
            return {  # resources/channel › Example DM Channel
                "id": str(self.id),
                "type": DM,
                "last_message_id": None if self.last_message_id is None else str(self.last_message_id),
                "recipients": [self.recipient.payload()],
                "flags": 0,
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [overwrite.payload() for overwrite in self.overwrites.values()],
            "nsfw": False,
            "topic": None,
            "parent_id": None,
            "rate_limit_per_user": 0,
            "last_message_id": None if self.last_message_id is None else str(self.last_message_id),
            "flags": 0,
        }


@dataclass(eq=False)
class Member:
    user: User
    guild_id: int
    role_ids: list[int]
    joined_at: datetime

    def payload(self, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user.payload(),
            "roles": [str(role_id) for role_id in self.role_ids],
            "joined_at": iso(self.joined_at),
            "nick": None,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            # Only interactions carry the member's computed permissions.
            data["permissions"] = str(permissions)
        return data


@dataclass(eq=False)
class Guild:
    id: int
    name: str
    owner_id: int
    created_at: datetime
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        """The @everyone role, whose id is the guild's id."""
        return self.roles[self.id]

    def payload(self) -> dict[str, Any]:
        """The full GUILD_CREATE payload."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [role.payload() for role in self.roles.values()],
            "channels": [channel.payload() for channel in self.channels.values()],
            "threads": [],
            "members": [member.payload() for member in self.members.values()],
            "member_count": len(self.members),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "joined_at": iso(self.created_at),
            "application_id": None,
            "premium_progress_bar_enabled": False,
        }


@dataclass(frozen=True)
class Attachment:
    """A file a test user attaches: raw bytes, a file name and (guessed if omitted) a content type."""

    data: bytes
    filename: str
    content_type: str | None = None


@dataclass
class CdnUrls:
    """Where the CDN is, and the signatures of its attachment URLs (reference › Signed Attachment CDN URLs: `ex`, the
    hex expiry time, `is`, the hex issue time, and `hm`, a signature "that remains valid until the URL's expiration").
    Every payload carries a freshly signed URL, as Discord refreshes them; a URL stops working after `lifetime`."""

    base: str = ""  # http://host:port once the twin serves
    lifetime: float = 24 * 3600.0
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def signed(self, path: str) -> str:
        issued = int(time.time())
        expires = int(time.time() + self.lifetime)
        return f"{self.base}{path}?ex={expires:x}&is={issued:x}&hm={self._signature(path, expires, issued)}&"

    def valid(self, path: str, query: Mapping[str, str]) -> bool:
        """Whether `query` signs `path` and has not expired."""
        try:
            expires, issued = int(query.get("ex", ""), 16), int(query.get("is", ""), 16)
        except ValueError:
            return False
        expected = self._signature(path, expires, issued)
        return hmac.compare_digest(expected, query.get("hm", "")) and time.time() < expires

    def _signature(self, path: str, expires: int, issued: int) -> str:
        return hmac.new(self.secret, f"{path}:{expires:x}:{issued:x}".encode(), hashlib.sha256).hexdigest()


@dataclass(eq=False)
class StoredAttachment:
    """A file held by the twin's CDN, posted by a user or uploaded by the bot."""

    id: int
    channel_id: int
    filename: str
    content_type: str | None
    data: bytes
    cdn: CdnUrls = field(repr=False)
    width: int | None = None
    height: int | None = None
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def path(self) -> str:
        """The file's place on the CDN, which its signature covers (the media proxy serves the same path)."""
        return f"/attachments/{self.channel_id}/{self.id}/{self.filename}"

    @property
    def url(self) -> str:
        return self.cdn.signed(self.path)

    @property
    def proxy_url(self) -> str:
        return self.cdn.signed(self.path).replace(self.cdn.base, f"{self.cdn.base}/media-proxy", 1)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.proxy_url,
            "flags": 0,
        }
        if self.content_type is not None:
            data["content_type"] = self.content_type
        if self.description is not None:
            data["description"] = self.description
        if self.width is not None:
            data["width"], data["height"] = self.width, self.height
        return data


def guess_content_type(filename: str) -> str | None:
    """Discord derives an attachment's type from its file name; so does the twin."""
    guessed, _ = mimetypes.guess_type(filename)
    return guessed


def image_size(data: bytes, content_type: str | None) -> tuple[int, int] | None:
    """Width and height of an image attachment, as Discord reports them; None for other files."""
    if content_type is None or not content_type.startswith("image/"):
        return None
    try:
        from PIL import Image  # Optional: without Pillow, images simply carry no dimensions.

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # Not a decodable image: Discord then omits the dimensions too.
        return None


@dataclass(eq=False)
class Message:
    """A message in the twin, written by a test user or by the bot."""

    id: int
    channel: Channel
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    reference_id: int | None = None  # message_reference.message_id for replies
    # A reply that pings (Discord's client default) mentions the replied-to author: they are in `mentions`.
    reply_ping_id: int | None = None
    type: int = 0
    flags: int = 0
    tts: bool = False
    edited_at: datetime | None = None
    webhook_id: int | None = None
    interaction: Interaction | None = field(default=None, repr=False)
    reactions: dict[str, set[int]] = field(default_factory=dict)
    deleted: bool = False
    # perf_counter() when the twin queued MESSAGE_CREATE for this message (user messages).
    dispatched_at: float | None = None
    # perf_counter() when the twin received or created the message.
    created_at: float = field(default_factory=time.perf_counter)

    @property
    def timestamp(self) -> datetime:
        return snowflake_time(self.id)

    @property
    def guild_id(self) -> int | None:
        return self.channel.guild_id

    @property
    def files(self) -> list[StoredAttachment]:
        """The attachments, under the name tests usually look for."""
        return self.attachments

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred interaction response still showing "thinking…"."""
        return bool(self.flags & FLAG_LOADING)

    def mention_ids(self) -> list[int]:
        ids = [int(match) for match in _MENTION.findall(self.content)]
        if self.reply_ping_id is not None and self.reply_ping_id not in ids:
            ids.append(self.reply_ping_id)
        return ids

    def payload(
        self,
        *,
        member: Member | None,
        users: dict[int, User],
        referenced: Message | None,
        include_reference: bool = True,
    ) -> dict[str, Any]:
        """The Discord message object; `referenced` is the replied-to message, if any."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel.id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": iso(self.timestamp),
            "edited_timestamp": iso(self.edited_at),
            "tts": self.tts,
            "mention_everyone": "@everyone" in self.content,
            "mentions": [users[uid].payload() for uid in self.mention_ids() if uid in users],
            "mention_roles": [],
            "attachments": [attachment.payload() for attachment in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "reactions": [
                {"emoji": {"id": None, "name": emoji}, "count": len(user_ids), "me": False, "burst_count": 0}
                for emoji, user_ids in self.reactions.items()
                if user_ids
            ],
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if self.channel.guild_id is not None:  # direct messages carry no guild_id
            data["guild_id"] = str(self.channel.guild_id)
        if member is not None:
            # Discord sends the author's member without its nested user.
            member_data = member.payload()
            del member_data["user"]
            data["member"] = member_data
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        if self.interaction is not None:
            data["interaction_metadata"] = self.interaction.metadata_payload()
            data["interaction"] = {
                "id": str(self.interaction.id),
                "type": self.interaction.type,
                "name": self.interaction.command_name,
                "user": self.interaction.user.payload(),
            }
        if self.reference_id is not None:
            data["message_reference"] = {
                "type": 0,
                "message_id": str(self.reference_id),
                "channel_id": str(self.channel.id),
            }
            if self.channel.guild_id is not None:
                data["message_reference"]["guild_id"] = str(self.channel.guild_id)
            if include_reference:
                data["referenced_message"] = (
                    None
                    if referenced is None or referenced.deleted
                    else referenced.payload(member=None, users=users, referenced=None, include_reference=False)
                )
        return data


@dataclass(eq=False)
class MessageEdit:
    """One edit of a message, with the state after the edit."""

    message: Message
    content: str
    embeds: list[dict[str, Any]]
    attachments: list[StoredAttachment]
    by_bot: bool
    at: float = field(default_factory=time.perf_counter)

    @property
    def files(self) -> list[StoredAttachment]:
        return self.attachments


@dataclass(eq=False)
class InteractionCallback:
    """The bot's initial response to an interaction (POST .../callback)."""

    type: int  # 4 message, 5 deferred message, 6 deferred update, 7 update, 9 modal, ...
    data: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)


@dataclass(eq=False)
class Interaction:
    """An interaction a test user opened (a command, or a click on a message's component), and everything the bot
    answered to it."""

    changes: Changes = field(repr=False)
    id: int
    token: str
    command_type: int  # 1 slash command, 3 message context menu; 0 for a component
    command_name: str  # the command's name, or the component's custom_id
    user: User
    channel: Channel
    payload: dict[str, Any] = field(repr=False)
    target_message: Message | None = None
    # MESSAGE_COMPONENT interactions: the message whose component was used (the "original" of types 6 and 7).
    source: Message | None = None
    callbacks: list[InteractionCallback] = field(default_factory=list)
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    dispatched_at: float | None = None

    @property
    def type(self) -> int:
        """Interaction Type: 2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT."""
        return 2 if self.source is None else 3

    @property
    def response(self) -> InteractionCallback | None:
        return self.callbacks[0] if self.callbacks else None

    @property
    def message_type(self) -> int:
        """Type of the bot's response messages: 20 for slash commands, 23 for context menus, 0 for components."""
        return {1: 20, 3: 23}.get(self.command_type, 0)

    def metadata_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "user": self.user.payload(),
            "authorizing_integration_owners": {"0": str(self.channel.guild_id)},
        }
        if self.source is not None:
            data["interacted_message_id"] = str(self.source.id)
            return data
        data["name"], data["command_type"] = self.command_name, self.command_type
        if self.target_message is not None:
            data["target_message_id"] = str(self.target_message.id)
        return data

    async def wait_for_response(self, timeout: float = DEFAULT_TIMEOUT) -> InteractionCallback:
        """The bot's initial response (any callback type)."""
        return await self.changes.wait_until(lambda: self.response, timeout, f"a response to /{self.command_name}")

    async def wait_for_original(
        self, predicate: Callable[[Message], bool] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        """The original response message once `predicate` holds (e.g. a deferred one filled in)."""

        def find() -> Message | None:
            original = self.original
            return original if original is not None and (predicate is None or predicate(original)) else None

        return await self.changes.wait_until(find, timeout, f"the original response to /{self.command_name}")

    async def wait_for_followup(
        self, predicate: Callable[[Message], bool] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Message:
        def find() -> Message | None:
            return next((m for m in self.followups if predicate is None or predicate(m)), None)

        return await self.changes.wait_until(find, timeout, f"a follow-up to /{self.command_name}")
