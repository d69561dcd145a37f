"""Who may do what, decided once for every entry point: servers only, the bot's admins, the watched channels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

import discord
from discord.ext import commands

from bot.config import BotSettings

T = TypeVar("T")


class NoModelError(commands.CommandError):
    """Nothing is served yet: the store holds no trained model."""


class NotAdminError(commands.CheckFailure):
    """The author is not one of the bot's admins."""


class _Configured(Protocol):
    settings: BotSettings


def is_admin(settings: BotSettings, user: discord.abc.User) -> bool:
    """Configured admin user or role, or Discord's Administrator permission in this server."""
    if user.id in settings.admin_user_ids:
        return True
    if isinstance(user, discord.Member):
        return user.guild_permissions.administrator or any(role.id in settings.admin_role_ids for role in user.roles)
    return False


def admin_only() -> Callable[[T], T]:
    """A command for the bot's admins (`is_admin`); others get NotAdminError."""

    async def predicate(ctx: commands.Context[Any]) -> bool:
        if not is_admin(cast(_Configured, ctx.bot).settings, ctx.author):
            raise NotAdminError()
        return True

    return commands.check(predicate)


def guild_only(ctx: commands.Context[Any]) -> bool:
    """Every text command: servers only (NoPrivateMessage, answered "That only works in a server.")."""
    if ctx.guild is None:
        raise commands.NoPrivateMessage()
    return True
