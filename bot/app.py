"""`python -m bot`: read the settings, set up logging, run the bot until SIGINT or SIGTERM; `python -m bot
sync-commands`: register the application commands if Discord's differ from the code's, and exit."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import discord

from bot.client import DigitBot
from bot.config import BotSettings, ConfigError
from bot.endpoint import point_discord_py_at
from bot.registration import register
from digits.community import CommunityError
from model_store import StoreError

log = logging.getLogger("bot")

# Exit codes: 0 after a clean shutdown, 2 when the configuration or the token is wrong.
EXIT_CONFIG = 2
GATEWAY_AUTHENTICATION_FAILED = 4004


def read_settings() -> BotSettings | None:
    """The settings from the environment; None, having said on stderr what is wrong, when they cannot be used."""
    try:
        return BotSettings.from_env()
    except ConfigError as error:
        print(f"digitbot: configuration error: {error}", file=sys.stderr)
        return None


def main() -> int:
    """Run the bot; return the process exit code."""
    settings = read_settings()
    if settings is None:
        return EXIT_CONFIG
    discord.utils.setup_logging(level=getattr(logging, settings.log_level))
    point_discord_py_at(settings.api_base, settings.gateway_url)
    try:
        asyncio.run(run(settings))
    except discord.LoginFailure:
        print("digitbot: Discord rejected DISCORD_TOKEN: copy the token again from the Developer Portal (Bot → Reset Token)",
              file=sys.stderr)
        return EXIT_CONFIG
    except (CommunityError, StoreError) as error:  # the corrections database or the model store cannot be opened
        print(f"digitbot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as error:  # a setting found wrong only at start (BOT_METRICS_PORT in use)
        print(f"digitbot: configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except discord.PrivilegedIntentsRequired:
        print("digitbot: the Message Content intent is not enabled for this bot: enable it in the Developer Portal "
              "(Bot → Privileged Gateway Intents) or set BOT_MESSAGE_CONTENT=false", file=sys.stderr)
        return EXIT_CONFIG
    except discord.ConnectionClosed as error:
        if error.code != GATEWAY_AUTHENTICATION_FAILED:
            raise
        print("digitbot: the Discord gateway rejected DISCORD_TOKEN (close code 4004)", file=sys.stderr)
        return EXIT_CONFIG
    return 0


async def run(settings: BotSettings) -> None:
    """Run until the connection ends for good or SIGINT/SIGTERM arrives; shut down cleanly either way."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with DigitBot(settings) as bot:
        running = asyncio.create_task(bot.start(settings.token), name="discord")
        stopping = asyncio.create_task(stop.wait(), name="stop signal")
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            log.info("stop signal received: shutting down (a running retrain is cancelled)")
            await bot.close()  # unloads the cogs (stopping any retrain), then closes the connection
        stopping.cancel()
        await running  # re-raises a login failure


def sync_commands() -> int:
    """`python -m bot sync-commands`: compare the commands Discord holds with the code's, overwrite them if they differ."""
    settings = read_settings()
    if settings is None:
        return EXIT_CONFIG
    discord.utils.setup_logging(level=logging.WARNING)
    point_discord_py_at(settings.api_base, settings.gateway_url)

    async def sync() -> None:
        async with DigitBot(settings, registers_commands=False) as bot:
            await bot.login(settings.token)  # loads the cogs, whose commands make the tree
            registration = await register(bot.tree)
        names = ", ".join(registration.commands)
        if registration.synced:
            print(f"synced {len(registration.commands)} commands ({names}); changed: {', '.join(registration.changed)}")
        else:
            print(f"Discord already holds these {len(registration.commands)} commands ({names}): nothing to sync")

    try:
        asyncio.run(sync())
    except discord.LoginFailure:
        print("digitbot: Discord rejected DISCORD_TOKEN", file=sys.stderr)
        return EXIT_CONFIG
    return 0
