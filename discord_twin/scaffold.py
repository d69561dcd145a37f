"""A ready-made world for tests and demos: a guild with a channel, an administrator and an ordinary member."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import Channel, Guild, Role, User
from .permissions import ADMINISTRATOR

if TYPE_CHECKING:
    from .twin import DiscordTwin


@dataclass(frozen=True)
class World:
    guild: Guild
    channel: Channel
    admin_role: Role
    admin: User
    user: User


def build_world(twin: DiscordTwin, channel_name: str = "digits") -> World:
    """Guild "digit-lab" with #`channel_name`, user "alice" (Administrator role) and "bob" (no roles)."""
    guild = twin.create_guild("digit-lab")
    channel = twin.create_channel(guild, channel_name)
    admin_role = twin.create_role(guild, "admins", ADMINISTRATOR)
    admin = twin.create_user("alice")
    user = twin.create_user("bob")
    twin.add_member(guild, admin, roles=[admin_role])
    twin.add_member(guild, user)
    return World(guild, channel, admin_role, admin, user)
