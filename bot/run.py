"""`make run`: the bot on Discord when there is a DISCORD_TOKEN, otherwise the playground with the bot in it.

The playground (`python -m discord_twin.playground`) is a local Discord on 127.0.0.1 with a page that
looks like a Discord channel; it runs this same bot (`python -m bot`) as its own process, pointed at
it with a token made for the run. Either way this process becomes the one that runs (exec), so that
Ctrl-C and exit codes are the bot's or the playground's own.
"""

from __future__ import annotations

import os
import sys

from bot.config import BotSettings, ConfigError
from digits.settings import environment


def command(env: dict[str, str]) -> list[str]:
    """What `make run` runs, given the environment (with `.env` read in)."""
    python = sys.executable
    if env.get("DISCORD_TOKEN", "").strip():
        return [python, "-m", "bot"]
    # The bot's own settings, read as it will read them: a bad one stops here, in the bot's words.
    settings = BotSettings.from_env({**env, "DISCORD_TOKEN": "playground"})
    return [python, "-m", "discord_twin.playground",
            "--max-upload-bytes", str(settings.max_image_bytes),
            "--max-upload-pixels", str(settings.max_image_pixels),
            "--", python, "-m", "bot"]


def main() -> int:
    env = dict(environment())
    try:
        argv = command(env)
    except ConfigError as error:
        print(f"digitbot: configuration error: {error}", file=sys.stderr)
        return 2
    if "discord_twin.playground" in argv:
        # In the playground the bot's log goes to this terminal from WARNING up; the page shows the rest.
        env.setdefault("BOT_LOG_LEVEL", "WARNING")
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    sys.exit(main())
