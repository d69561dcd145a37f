"""`python -m bot predict IMAGE...` reads digits offline; `python -m bot cluster` runs the bot as several processes
(`bot/cluster.py`); `python -m bot sync-commands` registers the slash commands if they changed; `python -m bot` (anything
else) runs the Discord bot."""

import sys


def main() -> int:
    if sys.argv[1:2] == ["predict"]:
        from digits.predict_cli import main as predict

        return predict(sys.argv[2:])
    # Imported only here: the bot pulls in discord.py, which the offline CLI does not need.
    if sys.argv[1:2] == ["cluster"]:
        from bot.cluster import main as cluster

        return cluster(sys.argv[2:])
    if sys.argv[1:2] == ["sync-commands"]:
        from bot.app import sync_commands

        return sync_commands()
    from bot.app import main as run_bot

    return run_bot()


sys.exit(main())
