"""`make run`: the bot on Discord when there is a DISCORD_TOKEN, otherwise the playground with the bot in it.

On a first start (nothing to serve yet) it trains the tutorial's network, starts the bot at once and
trains the robust recipe in the background (`bot.first_start`), again on later starts until that
training has finished once (a robust version saved by a start that was killed is decided on, not trained
again); otherwise it just runs the bot.

The playground (`python -m discord_twin.playground`) is a local Discord on 127.0.0.1 with a page that
looks like a Discord channel; it runs this same bot (`python -m bot`) as its own process, pointed at
it with a token made for the run. Either way this process becomes the one that runs (exec), so that
Ctrl-C and exit codes are the bot's or the playground's own; on a first start it stays as the bot's
parent until the bot exits, returning its exit code.
"""

from __future__ import annotations

import asyncio
import os
import sys

from bot.config import BotSettings, ConfigError
from bot.first_start import (
    finish_interrupted_upgrade,
    needs_first_model,
    robust_upgrade,
    serve_with_upgrade,
    train_tutorial,
    wants_robust_upgrade,
)
from digits.settings import Paths, environment
from model_store import ModelStore, StoreError


def run_settings(env: dict[str, str]) -> BotSettings:
    """The bot's settings as it will read them; without a token, as the playground's bot (which gets one)."""
    return BotSettings.from_env({**env, "DISCORD_TOKEN": env.get("DISCORD_TOKEN", "").strip() or "playground"})


def command(env: dict[str, str]) -> list[str]:
    """What `make run` runs, given the environment (with `.env` read in)."""
    python = sys.executable
    if env.get("DISCORD_TOKEN", "").strip():
        # BOT_PROCESSES=N: the shards over N processes (bot/cluster.py); the playground always runs one.
        return [python, "-m", "bot"] if run_settings(env).processes == 1 else [python, "-m", "bot", "cluster"]
    # The bot's own settings, read as it will read them: a bad one stops here, in the bot's words.
    settings = run_settings(env)
    return [python, "-m", "discord_twin.playground",
            "--max-upload-bytes", str(settings.max_image_bytes),
            "--max-upload-pixels", str(settings.max_image_pixels),
            "--", python, "-m", "bot"]


def main() -> int:
    env = dict(environment())
    try:
        argv = command(env)
        settings = run_settings(env)
    except ConfigError as error:
        print(f"digitbot: configuration error: {error}", file=sys.stderr)
        return 2
    if "discord_twin.playground" in argv:
        # In the playground the bot's log goes to this terminal from WARNING up; the page shows the rest.
        env.setdefault("BOT_LOG_LEVEL", "WARNING")
    paths = Paths.from_env(env)
    try:
        store = ModelStore(paths.model_store)
        store.connect()  # a PostgreSQL store that cannot be reached: one line, not a first training
    except StoreError as error:
        print(f"digitbot: {error}", file=sys.stderr)
        return 2
    if needs_first_model(store) and not train_tutorial(store, env):
        print("digitbot: training the first model failed (see above); the bot needs one to start", file=sys.stderr)
        return 1
    finish_interrupted_upgrade(store, floor_points=settings.accuracy_floor_points)
    if not wants_robust_upgrade(store):
        os.execve(argv[0], argv, env)
    upgrade = robust_upgrade(store, floor_points=settings.accuracy_floor_points, mnist_dir=paths.mnist_dir)
    return asyncio.run(serve_with_upgrade(argv, env, upgrade))


if __name__ == "__main__":
    sys.exit(main())
