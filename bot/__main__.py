"""`python -m bot predict IMAGE...` reads digits offline; `python -m bot` (anything else) runs the Discord bot."""

import sys


def main() -> int:
    if sys.argv[1:2] == ["predict"]:
        from digits.predict_cli import main as predict

        return predict(sys.argv[2:])
    # Imported only here: the bot pulls in discord.py, which the offline CLI does not need.
    from bot.app import main as run_bot

    return run_bot()


sys.exit(main())
