"""A local twin of Discord: its REST API, gateway and CDN, for end-to-end tests of a bot.

It owns everything Discord would own: the world (users, guilds, channels, roles, members, messages,
files), the protocols an unmodified discord.py client speaks, and a control API that tests drive it
with. It knows nothing about digits or any particular bot.

    async with DiscordTwin() as twin:
        world = build_world(twin)  # guild "digit-lab", #digits, admin alice, member bob
        ... start a client on twin.api_base and twin.gateway_url with twin.token ...
        message = await twin.post_message(world.channel, world.user, attachments=[Attachment(png, "7.png")])
        reply = await twin.wait_for_reply(message)

Files, one responsibility each:
    twin.py          DiscordTwin: starts and stops the server, holds the parts, the control API
    world.py         WorldState: the world, building it, announcing its changes to the gateway sessions
    scaffold.py      build_world: a ready-made guild with a channel, an administrator and a member
    models.py        the world's things (User, Guild, Message, Interaction, ...) and their Discord JSON payloads
    permissions.py   permission bits; a member's permissions from its roles and a channel's overwrites
    actions.py       UserActions: test users posting, editing, deleting, running commands
    interactions.py  Interactions: opening a command or a click on a message component (INTERACTION_CREATE) and
                     taking the bot's responses, Discord's deadlines
    record.py        Record: what the bot did (messages, edits, deletions, reactions, typing); waits
    changes.py       Changes: waking waiters whenever anything changes
    faults.py        Faults: dropped connections, refused resumes, RECONNECT, INVALID_SESSION, lost heartbeats,
                     a token refused at the gateway, failing REST calls (a 429 as a real one), a slow CDN
    sessions.py      the bot's gateway sessions and their websockets: event fan-out by intent and shard, backlogs
                     for RESUME
    gateway.py       the websocket gateway: HELLO, IDENTIFY/READY (shards, session starts), RESUME, heartbeats,
                     member requests
    cdn.py           the CDN serving attachment files at their signed, expiring URLs
    rest/            the REST API: the route table in rest/__init__.py, one module per group of routes
                     (messages, interactions, commands, guilds, application), the middleware (auth,
                     faults, call log), rate limits, request bodies and Discord's limits
    control.py       the control API over HTTP (/control/...), for a twin in another process
    __main__.py      `python -m discord_twin --port P --guilds N --guilds-per-shard M --token T`: the twin on its own
    fixtures.py      pytest fixtures: a running twin (discord_twin) and a ready-made world (twin_world)
    tests/           the twin's own tests, driven by plain discord.py clients
"""

from .interactions import ComponentError
from .models import (
    Attachment,
    Channel,
    Guild,
    Interaction,
    InteractionCallback,
    Member,
    Message,
    MessageEdit,
    Role,
    StoredAttachment,
    User,
)
from .permissions import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    ATTACH_FILES,
    EMBED_LINKS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
)
from .rest import RestCall
from .scaffold import World, build_world
from .twin import DiscordTwin
from .world import WorldState

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "ATTACH_FILES",
    "EMBED_LINKS",
    "READ_MESSAGE_HISTORY",
    "SEND_MESSAGES",
    "VIEW_CHANNEL",
    "Attachment",
    "Channel",
    "ComponentError",
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
    "WorldState",
    "build_world",
]
