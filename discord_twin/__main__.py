"""`python -m discord_twin --port P --guilds N --guilds-per-shard M --token T`: a twin on its own, until stopped.

Serves Discord's REST API, gateway and CDN, and the control API (control.py), on 127.0.0.1:P, with N guilds (each
with a #general channel and its owner), accepting the bot token T. The first line it prints is

    api_base=http://127.0.0.1:P/api/v10 gateway_url=ws://127.0.0.1:P/gateway

(api_base as discord.py's `Route.BASE` takes it: GET {api_base}/gateway/bot works). SIGINT or SIGTERM stops it.

--guilds-per-shard M is the number of guilds per shard behind /gateway/bot's recommended `shards`:
ceil(N / M), at least 1. Discord does not document its own figure (bots observe about 1,000); M may not exceed the
2,500 guilds a shard can hold (events/gateway › Sharding), past which IDENTIFY is closed with 4011.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import signal
import sys
from collections.abc import Sequence

from .control import Control
from .gateway import MAX_GUILDS_PER_SHARD, RECOMMENDED_GUILDS_PER_SHARD
from .twin import DiscordTwin


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m discord_twin", description="A local Discord on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one; the first line names it)")
    parser.add_argument("--guilds", type=int, default=1, help="guilds the bot is in, each with #general (default 1)")
    parser.add_argument("--guilds-per-shard", type=int, default=RECOMMENDED_GUILDS_PER_SHARD,
                        help=f"guilds per recommended shard in /gateway/bot (default {RECOMMENDED_GUILDS_PER_SHARD})")
    parser.add_argument("--max-guilds-per-shard", type=int, default=MAX_GUILDS_PER_SHARD,
                        help=f"guilds one session may hold before 4011 (default Discord's {MAX_GUILDS_PER_SHARD})")
    parser.add_argument("--max-concurrency", type=int, default=1,
                        help="identify buckets: shards starting together (session_start_limit.max_concurrency)")
    parser.add_argument("--identify-interval", type=float, default=5.0,
                        help="seconds between IDENTIFYs of one bucket (Discord: 5)")
    parser.add_argument("--token", help="the bot token to accept (default: a Discord-shaped one, printed)")
    parser.add_argument("--bot-name", default="digitbot", help="the bot user's name")
    parser.add_argument("--no-rate-limits", action="store_true",
                        help="lift Discord's REST rate limits, to measure a bot's own throughput")
    args = parser.parse_args(argv)
    if args.guilds < 0 or args.max_concurrency < 1 or args.identify_interval < 0:
        parser.error("--guilds must be 0 or more, --max-concurrency 1 or more, --identify-interval 0 or more")
    if not 1 <= args.guilds_per_shard <= args.max_guilds_per_shard:
        parser.error(f"--guilds-per-shard must be between 1 and --max-guilds-per-shard ({args.max_guilds_per_shard}):"
                     " a recommended shard may not hold more guilds than a shard can")
    return args


def build(args: argparse.Namespace) -> DiscordTwin:
    twin = DiscordTwin(token=args.token, bot_name=args.bot_name)
    gateway = twin.gateway
    gateway.recommended_guilds_per_shard = args.guilds_per_shard
    gateway.max_guilds_per_shard = args.max_guilds_per_shard
    gateway.session_starts.max_concurrency = args.max_concurrency
    gateway.session_starts.identify_interval = args.identify_interval
    for index in range(args.guilds):
        twin.create_channel(twin.create_guild(f"guild-{index}"), "general")
    if args.no_rate_limits:
        twin.relax_rate_limits()
    return twin


async def serve(args: argparse.Namespace) -> int:
    twin = build(args)
    try:
        await twin.start(args.port, routes=Control(twin).routes())
    except OSError as error:
        reason = "the port is in use" if error.errno == errno.EADDRINUSE else (error.strerror or str(error))
        print(f"discord_twin: cannot serve on 127.0.0.1:{args.port}: {reason}", file=sys.stderr)
        return 2
    print(f"api_base={twin.api_base} gateway_url={twin.gateway_url}", flush=True)
    if args.token is None:
        print(f"token={twin.token}", flush=True)
    print(f"discord_twin: {len(twin.world.guilds)} guilds, {twin.gateway.recommended_shards()} recommended shard(s); "
          "stop with Ctrl-C", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await twin.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(serve(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
