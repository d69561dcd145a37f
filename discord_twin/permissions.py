"""Discord's permission bits, and a member's permissions computed from its roles.

https://discord.com/developers/docs/topics/permissions. Channel permission overwrites do not exist in
the twin, so a member's permissions are the same in every channel of its guild.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Guild, User

ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 51) - 1
# What a fresh @everyone role gets: view, send, embed, attach, read history, react, use commands.
DEFAULT_EVERYONE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6) | (1 << 31)


def guild_permissions(guild: Guild, user: User) -> int:
    """The owner has every permission; others those of @everyone and their roles (all of them with Administrator)."""
    if user.id == guild.owner_id:
        return ALL_PERMISSIONS
    member = guild.members[user.id]
    value = guild.everyone.permissions
    for role_id in member.role_ids:
        value |= guild.roles[role_id].permissions
    return ALL_PERMISSIONS if value & ADMINISTRATOR else value
