"""How cheap a big twin is: creating N guilds (each with a channel), and the READY + GUILD_CREATE fan-out to K shards.

    python benchmarks/twin_shards.py --guilds 5000 --shards 2 [--repeat 5] [--json]

Each run makes a fresh DiscordTwin, creates the guilds, then connects K websockets as discord.py does
(compress=zlib-stream), IDENTIFYs shard [k, K] on each at once (max_concurrency K), and waits until every shard
has decompressed and parsed READY and all of its GUILD_CREATEs. Prints the medians over the runs; with --json,
one JSON object: guilds, shards, create_s, fanout_s, guilds_per_shard (of the last run), runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from discord_twin import DiscordTwin  # noqa: E402


async def shard_session(session: aiohttp.ClientSession, twin: DiscordTwin, shard: int, shards: int) -> int:
    """Identify as shard [shard, shards]; the number of GUILD_CREATEs received after READY."""
    inflator = zlib.decompressobj()
    ws = await session.ws_connect(f"{twin.gateway_url}?v=10&encoding=json&compress=zlib-stream", max_msg_size=0)

    async def receive() -> dict[str, Any]:
        frame = await ws.receive()
        if frame.type is not aiohttp.WSMsgType.BINARY:
            raise SystemExit(f"shard {shard} of {shards}: the twin closed the connection ({frame.data}; 4011 means "
                             "more guilds than a shard may hold: use more --shards)")
        return json.loads(inflator.decompress(frame.data))  # type: ignore[no-any-return]

    await receive()  # HELLO
    await ws.send_json({"op": 2, "d": {"token": twin.token, "intents": 1, "properties": {}, "shard": [shard, shards]}})
    ready = await receive()
    expected = len(ready["d"]["guilds"])
    got = 0
    while got < expected:
        if (await receive()).get("t") == "GUILD_CREATE":
            got += 1
    await ws.close()
    return got


async def one_run(guilds: int, shards: int) -> tuple[float, float, list[int]]:
    async with DiscordTwin() as twin:
        started = time.perf_counter()
        for index in range(guilds):
            twin.create_channel(twin.create_guild(f"guild-{index}"), "general")
        created = time.perf_counter() - started
        twin.gateway.session_starts.max_concurrency = shards
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            per_shard = await asyncio.gather(*(shard_session(session, twin, k, shards) for k in range(shards)))
            fanout = time.perf_counter() - started
    return created, fanout, list(per_shard)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guilds", type=int, default=5000)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs = [await one_run(args.guilds, args.shards) for _ in range(args.repeat)]
    result = {
        "guilds": args.guilds,
        "shards": args.shards,
        "create_s": round(statistics.median(r[0] for r in runs), 3),
        "fanout_s": round(statistics.median(r[1] for r in runs), 3),
        "guilds_per_shard": runs[-1][2],
        "runs": args.repeat,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.guilds} guilds created in {result['create_s']} s (median of {args.repeat}); READY and "
              f"GUILD_CREATE to {args.shards} shards {result['guilds_per_shard']} in {result['fanout_s']} s")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
