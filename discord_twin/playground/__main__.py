"""`python -m discord_twin.playground [options] [-- BOT COMMAND...]`: the playground until Ctrl-C.

    python -m discord_twin.playground -- .venv/bin/python -m bot

serves the local Discord and its page on http://127.0.0.1:8080 (PLAYGROUND_HOST, PLAYGROUND_PORT) and runs
the bot command with DISCORD_TOKEN (made for this run, never printed), DISCORD_API_BASE and
DISCORD_GATEWAY_URL in its environment. Without a command, the page runs with no bot in it.

There is no login: whoever reaches the port may post as the admin. Served on another address than loopback
(PLAYGROUND_HOST=0.0.0.0: every interface), it says so once at start. Which pages and Host names it obeys
even then: guard.py.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import os
import signal
import sys
import time
from collections.abc import Sequence

from .process import BotProcess
from .server import Limits, Playground

CONNECT_TIMEOUT = 60.0  # seconds the bot may take to connect before the playground says so


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    argv = list(argv)
    command: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, command = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(prog="python -m discord_twin.playground",
                                     description="A local Discord in the browser, with a bot in it.")
    parser.add_argument("--host", default=os.environ.get("PLAYGROUND_HOST") or "127.0.0.1",
                        help="address to serve on (PLAYGROUND_HOST; default 127.0.0.1: there is no login)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PLAYGROUND_PORT") or 8080),
                        help="port (PLAYGROUND_PORT; default 8080)")
    parser.add_argument("--bot-name", default="digitbot", help="the bot user's name")
    parser.add_argument("--max-upload-bytes", type=int, default=Limits.max_bytes)
    parser.add_argument("--max-upload-pixels", type=int, default=Limits.max_pixels)
    parser.add_argument("--no-rate-limits", action="store_true",
                        help="lift Discord's rate limits (5 messages per 5 s per channel), e.g. to measure the bot itself")
    return parser.parse_args(argv), command


async def run(args: argparse.Namespace, command: list[str]) -> int:
    started = time.perf_counter()
    playground = Playground(host=args.host, bot_name=args.bot_name,
                            limits=Limits(args.max_upload_bytes, args.max_upload_pixels))
    try:
        await playground.start(args.port)
        if args.no_rate_limits:
            playground.twin.relax_rate_limits()
    except OSError as error:
        reason = "the port is in use" if error.errno == errno.EADDRINUSE else (error.strerror or str(error))
        print(f"playground: cannot serve on {args.host}:{args.port}: {reason}; "
              "set PLAYGROUND_PORT to another port", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(f"playground: serving on {args.host} port {playground.twin.port}, beyond this machine: there is no "
              "login, anyone who can reach it can post as the admin", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bot = BotProcess(playground.twin, command) if command else None
    code = 0
    try:
        if bot is None:
            print(f"playground: open {playground.url}  (no bot: give its command after --)", flush=True)
            await stop.wait()
            return 0
        await bot.start()
        exited = asyncio.create_task(bot.wait())
        stopping = asyncio.create_task(stop.wait())
        connected = asyncio.create_task(playground.twin.wait_until_connected(timeout=CONNECT_TIMEOUT))
        await asyncio.wait({exited, stopping, connected}, return_when=asyncio.FIRST_COMPLETED)
        if connected.done() and connected.exception() is None:
            print(f"playground: open {playground.url}  (the bot is in #{playground.world.channel.name}, "
                  f"ready in {time.perf_counter() - started:.1f} s; Ctrl-C stops)", flush=True)
        elif not exited.done() and not stopping.done():
            print(f"playground: open {playground.url}  (the bot has not connected yet; Ctrl-C stops)", flush=True)
        connected.cancel()
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done() and not stopping.done():
            code = exited.result()
            print(f"playground: the bot stopped (exit code {code}); stopping the playground", file=sys.stderr)
            return code or 1
        stopping.cancel()
        return 0
    finally:
        if bot is not None:
            await bot.stop()
        await playground.stop()


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower().rstrip(".") == "localhost"


def main(argv: Sequence[str] | None = None) -> int:
    args, command = parse(sys.argv[1:] if argv is None else argv)
    return asyncio.run(run(args, command))


if __name__ == "__main__":
    sys.exit(main())
