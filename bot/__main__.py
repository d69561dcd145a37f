"""`python -m bot predict IMAGE...` reads digits offline; `python -m bot` (anything else) runs the Discord bot."""

import sys

if sys.argv[1:2] == ["predict"]:
    from digits.predict_cli import main

    sys.exit(main(sys.argv[2:]))
else:
    # Imported only here: the bot pulls in discord.py, which the offline CLI does not need.
    from bot.app import main

    sys.exit(main())
