"""A local twin of Discord's REST API, gateway and CDN, for end-to-end tests of the bot.

Usage:
    async with DiscordTwin() as twin:
        guild = twin.create_guild("g"); channel = twin.create_channel(guild, "digits")
        point_discord_py_at(twin.api_base, twin.gateway_url)  # bot.endpoint, or the bot's settings
        ... start a client with twin.token ...
        message = await twin.post_message(channel, user, attachments=[Attachment(png, "7.png")])
        reply = await twin.wait_for_reply(message)
"""

from .models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    MessageEdit,
    Role,
    StoredAttachment,
    User,
)
from .rest import RestCall
from .twin import DiscordTwin, Interaction, InteractionCallback
from .world import World, build_world

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "Attachment",
    "Channel",
    "DiscordTwin",
    "Guild",
    "Interaction",
    "InteractionCallback",
    "Member",
    "Message",
    "MessageEdit",
    "RestCall",
    "Role",
    "StoredAttachment",
    "User",
    "World",
    "build_world",
]
