"""Discord's permission bits, and a member's permissions in a guild and in a channel.

Follows topics/permissions (discord/discord-api-docs, developers/topics/permissions.mdx): the base permissions from
@everyone and the member's roles (Administrator grants everything, the owner has everything), then the channel's
permission overwrites in the documented order (@everyone, then all role overwrites together, then the member's own),
then the implicit denials: without VIEW_CHANNEL nothing else counts; without SEND_MESSAGES neither do
MENTION_EVERYONE, SEND_TTS_MESSAGES, ATTACH_FILES and EMBED_LINKS.
"""

from __future__ import annotations

from .models import MEMBER, ROLE, Channel, Guild, User

# Bitwise Permission Flags.
ADD_REACTIONS = 1 << 6
ADMINISTRATOR = 1 << 3
MANAGE_MESSAGES = 1 << 13
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 51) - 1
# What a fresh @everyone role gets: view, send, embed, attach, read history, react, use commands.
DEFAULT_EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
)
# What the bot may do in a direct message channel: there are no roles or overwrites there.
DM_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
)
# The names Discord's client shows, for error messages and logs.
NAMES = {
    VIEW_CHANNEL: "View Channel",
    SEND_MESSAGES: "Send Messages",
    EMBED_LINKS: "Embed Links",
    ATTACH_FILES: "Attach Files",
    READ_MESSAGE_HISTORY: "Read Message History",
    ADD_REACTIONS: "Add Reactions",
}

def guild_permissions(guild: Guild, user: User) -> int:
    """The owner has every permission; others those of @everyone and their roles (all of them with Administrator)."""
    if user.id == guild.owner_id:
        return ALL_PERMISSIONS
    member = guild.members[user.id]
    value = guild.everyone.permissions
    for role_id in member.role_ids:
        value |= guild.roles[role_id].permissions
    return ALL_PERMISSIONS if value & ADMINISTRATOR else value


def channel_permissions(guild: Guild, channel: Channel, user: User) -> int:
    """Permission Overwrites: the base permissions with the channel's overwrites applied, then implicit denials."""
    base = guild_permissions(guild, user)
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    value = base
    everyone = channel.overwrites.get(guild.id)
    if everyone is not None:
        value = (value & ~everyone.deny) | everyone.allow
    member = guild.members[user.id]
    allow = deny = 0
    for role_id in member.role_ids:
        overwrite = channel.overwrites.get(role_id)
        if overwrite is not None and overwrite.type == ROLE:
            allow |= overwrite.allow
            deny |= overwrite.deny
    value = (value & ~deny) | allow
    own = channel.overwrites.get(user.id)
    if own is not None and own.type == MEMBER:
        value = (value & ~own.deny) | own.allow
    # Implicit Permissions.
    if not value & VIEW_CHANNEL:
        return 0
    if not value & SEND_MESSAGES:
        value &= ~(MENTION_EVERYONE | SEND_TTS_MESSAGES | ATTACH_FILES | EMBED_LINKS)
    return value


def describe(bits: int) -> str:
    """"Attach Files, Embed Links" for the named bits set in `bits`."""
    return ", ".join(name for bit, name in NAMES.items() if bits & bit) or f"permissions {bits:#x}"
