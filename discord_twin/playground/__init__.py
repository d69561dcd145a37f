"""The playground: the twin as a local Discord in the browser, with a bot in it as its own process.

Files:
    server.py     Playground: the twin with one guild and channel, the page, and its JSON API (/playground/api/)
    feed.py       the live feed: the world's gateway events (and ephemeral answers) as server-sent events
    guard.py      who may drive it: its own page (Host, Origin, Sec-Fetch-Site checked); uploads served inert
    process.py    BotProcess: the bot's command, run pointed at the twin
    __main__.py   `python -m discord_twin.playground [-- BOT COMMAND]`: both until Ctrl-C
    static/       the page: index.html, style.css, app.js (no build step, nothing loaded from elsewhere)
"""

from .process import BotProcess
from .server import Limits, Playground

__all__ = ["BotProcess", "Limits", "Playground"]
