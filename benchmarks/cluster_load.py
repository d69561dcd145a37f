"""The bot as a cluster against a standalone twin: many guilds, many shards, K processes, N image messages.

    python benchmarks/cluster_load.py --guilds 1000 --guilds-per-shard 250 --processes 2 --messages 2000 --json
    python benchmarks/cluster_load.py --guilds 100 --processes 1 --messages 400 --photos phone --no-rate-limits --json
    python benchmarks/cluster_load.py ... --repo ../main-before --direct     # today's bot, from another checkout

The twin runs on its own (`python -m discord_twin`, Discord's rate limits on unless --no-rate-limits, identify interval
5 s unless --identify-interval); the bot runs as `python -m bot cluster --processes K` (or, with --direct, as one
`python -m bot`, which any checkout of the bot has). Each message, posted through the twin's control API by its
guild's owner, round-robin over the guilds, carries one picture: a small MNIST digit, or with --photos a phone photo
(300-1,200 px, where segmentation dominates) or a 4000x3000 JPEG (decode-bound). All messages are offered at once
(at most --concurrency posts in flight), so REST is offered more than Discord's 50 requests a second.

With --kill, half the messages are posted, the process holding the last shards is killed (SIGKILL), and the rest are
posted once the launcher has it back. Messages posted while a process is down would be lost (Discord does not
replay them to a new session), so none are. Then a version is promoted in the store and the time until every
process serves it is measured.

Prints one JSON object with --json: shards, processes, posted, answered, duplicates, missed, global_429, route_429,
invalid_sessions, cold_start_s (launch to every shard connected), failover_s (kill to the process ready again),
promote_follow_s, p50_ms and p99_ms (post to reply, from the messages' snowflakes), replies_per_s (over all the
answering, a failover included), rest_per_s (REST calls the twin answered in the median second while the first
messages, or all of them without --kill, were answered), peak_rss_mb (the largest process), photos.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from samples.pictures import on_paper, photo_4000x3000, place, upscale  # noqa: E402
from tests.fixtures.processes import free_ports  # noqa: E402

TOKEN = "cluster-load-token"
DISCORD_EPOCH_MS = 1420070400000
STARTUP_TIMEOUT = 300.0


def snowflake_ms(snowflake: str) -> int:
    return (int(snowflake) >> 22) + DISCORD_EPOCH_MS


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))]


def mnist_digits(count: int) -> list[np.ndarray]:
    from digits.mnist import load_test_set
    from digits.settings import Paths

    images, _ = load_test_set(Paths.from_env())
    return [images[i] for i in range(count)]


def pictures(kind: str | None, count: int = 20) -> list[tuple[bytes, str]]:
    """`count` distinct pictures of digits: (encoded bytes, file name)."""
    rng = np.random.default_rng(0)
    digits = mnist_digits(count)
    made = []
    for digit in digits:
        if kind is None:
            buffer = io.BytesIO()
            Image.fromarray(digit).save(buffer, format="PNG")
            made.append((buffer.getvalue(), "digit.png"))
        elif kind == "phone":
            side = int(rng.integers(300, 1201))
            canvas = (side, int(side * rng.uniform(0.75, 1.0)))
            ink = place(upscale(digit, int(min(canvas) * 0.6)), canvas, rng)
            buffer = io.BytesIO()
            Image.fromarray(on_paper(ink, rng)).save(buffer, format="JPEG", quality=85)
            made.append((buffer.getvalue(), "photo.jpg"))
        else:
            made.append((photo_4000x3000(digit, rng), "photo.jpg"))
    return made


class Run:
    def __init__(self, args: argparse.Namespace, api_base: str, gateway_url: str) -> None:
        self.args = args
        self.api_base = api_base
        self.base = api_base.removesuffix("/api/v10")
        self.gateway_url = gateway_url
        self.session = aiohttp.ClientSession(headers={"Authorization": f"Bot {TOKEN}"},
                                             timeout=aiohttp.ClientTimeout(total=120))
        self.replies: dict[str, list[str]] = {}  # posted message id → the ids of the bot's replies to it
        self.last_seen = "0"

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, f"{self.base}/control/{path}", json=body) as response:
            data = await response.json()
            if response.status != 200:
                raise RuntimeError(f"control {path}: {response.status} {data}")
            return data

    async def collect(self) -> None:
        for reply in await self.control("GET", f"bot-messages?after={self.last_seen}"):
            self.last_seen = max(self.last_seen, reply["id"], key=int)
            if reply["reply_to"] in self.replies:
                self.replies[reply["reply_to"]].append(reply["id"])

    async def connected(self) -> int:
        stats = await self.control("GET", "stats")
        return sum(session["connected"] for session in stats["sessions"])

    async def post_all(self, jobs: list[tuple[dict[str, Any], bytes, str]]) -> None:
        limit = asyncio.Semaphore(self.args.concurrency)

        async def post(guild: dict[str, Any], data: bytes, name: str) -> None:
            body = {"channel_id": guild["channels"][0]["id"], "author_id": guild["owner_id"],
                    "attachments": [{"filename": name, "data_base64": base64.b64encode(data).decode()}]}
            async with limit:
                message = await self.control("POST", "messages", body)
            self.replies[message["id"]] = []

        await asyncio.gather(*(post(*job) for job in jobs))

    async def wait_answered(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.collect()
            if all(self.replies.values()):
                return
            await asyncio.sleep(0.2)

    async def health(self, port: int) -> dict[str, Any] | None:
        try:
            async with self.session.get(f"http://127.0.0.1:{port}/healthz") as response:
                return await response.json()  # type: ignore[no-any-return]
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None


async def rest_calls_each_second(run: Run, until: asyncio.Event) -> list[int]:
    """How many REST calls the twin answered in each second, until `until` is set."""
    counts, last = [], (await run.control("GET", "stats"))["rest_calls"]
    while not until.is_set():
        await asyncio.sleep(1.0)
        now = (await run.control("GET", "stats"))["rest_calls"]
        counts.append(now - last)
        last = now
    return counts


async def peak_rss(root: int, until: asyncio.Event) -> int:
    """The largest resident set of any one process under `root` (the launcher, each bot, the proxy, the workers)."""
    import psutil

    peak = 0
    while not until.is_set():
        try:
            processes = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for process in processes:
            try:
                peak = max(peak, process.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
        await asyncio.sleep(0.2)
    return peak


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    running = asyncio.current_task()
    assert running is not None
    for signum in (signal.SIGINT, signal.SIGTERM):  # stopped early, it still stops the twin and the bot
        asyncio.get_running_loop().add_signal_handler(signum, running.cancel)
    twin_argv = [sys.executable, "-m", "discord_twin", "--guilds", str(args.guilds), "--guilds-per-shard",
                 str(args.guilds_per_shard), "--token", TOKEN, "--max-concurrency", str(args.max_concurrency),
                 "--identify-interval", str(args.identify_interval)]
    if args.no_rate_limits:
        twin_argv.append("--no-rate-limits")
    work = Path(tempfile.mkdtemp(prefix="cluster_load_"))
    twin = await asyncio.create_subprocess_exec(*twin_argv, cwd=REPO, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    assert twin.stdout is not None
    urls = dict(part.split("=", 1) for part in (await twin.stdout.readline()).decode().split())
    run = Run(args, urls["api_base"], urls["gateway_url"])
    store = work / "models"
    shutil.copytree(args.store, store)
    health_port = free_ports(args.processes)
    repo = args.repo.resolve()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DISCORD_", "BOT_"))}
    env.update({"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE": run.api_base, "DISCORD_GATEWAY_URL": run.gateway_url,
                "MODEL_STORE": str(store), "BOT_DATABASE": str(work / "corrections.sqlite3"),
                "BOT_IDENTIFY_INTERVAL": str(args.identify_interval), "BOT_METRICS_PORT": str(health_port),
                "BOT_COOLDOWN_RATE": "1000000", "PYTHONPATH": str(repo), "PYTHONUNBUFFERED": "1"})
    argv = [sys.executable, "-m", "bot"] if args.direct else \
        [sys.executable, "-m", "bot", "cluster", "--processes", str(args.processes)]
    log_path = args.log or work / "bot.log"
    log = open(log_path, "wb")
    started = time.monotonic()
    bot = await asyncio.create_subprocess_exec(*argv, cwd=repo, env=env, stdout=log, stderr=log)
    done = asyncio.Event()
    memory = asyncio.create_task(peak_rss(bot.pid, done))
    result: dict[str, Any] = {}
    try:
        guilds = await run.control("GET", "guilds")
        stats = await run.control("GET", "stats")
        shards = -(-args.guilds // args.guilds_per_shard)
        while await run.connected() < shards:
            if bot.returncode is not None or time.monotonic() - started > STARTUP_TIMEOUT:
                raise SystemExit(f"the bot did not connect every shard; its log: {log_path}")
            await asyncio.sleep(0.1)
        cold_start = time.monotonic() - started
        made = pictures(args.photos)
        jobs = [(guilds[i % len(guilds)], *made[i % len(made)]) for i in range(args.messages)]
        first_half = jobs[: len(jobs) // 2] if args.kill else jobs
        posting = time.monotonic()
        counting = asyncio.Event()
        rest_samples = asyncio.create_task(rest_calls_each_second(run, counting))
        await run.post_all(first_half)
        await run.wait_answered(args.timeout)
        counting.set()
        # REST sustained while the first messages are answered (all offered at once: more than Discord allows): the
        # median second, the first and last two (the queue filling and emptying) left out.
        per_second = (await rest_samples)[2:-2]
        rest_per_s = statistics.median(per_second) if per_second else None
        failover = None
        if args.kill:
            port = health_port + args.processes - 1
            victim = await run.health(port)
            assert victim is not None, "no /healthz to find the process to kill"
            killed = time.monotonic()
            os.kill(victim["pid"], signal.SIGKILL)
            while (health := await run.health(port)) is None or not health["ready"] or health["pid"] == victim["pid"]:
                await asyncio.sleep(0.05)
            failover = time.monotonic() - killed
            await run.post_all(jobs[len(jobs) // 2:])
        await run.wait_answered(args.timeout)
        answering = time.monotonic() - posting
        await asyncio.sleep(1.0)  # room for a second answer to any message, which would be a duplicate
        await run.collect()
        promote_follow = None
        if not args.direct:
            from model_store import ModelStore

            served = ModelStore(store)
            promoted = time.monotonic()
            served.promote(served.save(store / "1" / "model.weights.h5", served.card(1), promote=False))
            while [((await run.health(health_port + i)) or {}).get("version") for i in range(args.processes)] \
                    != [2] * args.processes:
                await asyncio.sleep(0.02)
            promote_follow = time.monotonic() - promoted
        stats = await run.control("GET", "stats")
        latencies = [snowflake_ms(replies[0]) - snowflake_ms(message) for message, replies in run.replies.items() if replies]
        answered = sum(bool(replies) for replies in run.replies.values())
        result = {
            "shards": shards,
            "processes": args.processes,
            "posted": len(run.replies),
            "answered": answered,
            "duplicates": sum(len(replies) > 1 for replies in run.replies.values()),
            "missed": len(run.replies) - answered,
            "global_429": stats["global_429"],
            "route_429": stats["route_429"],
            "invalid_sessions": stats["invalid_sessions"],
            "cold_start_s": round(cold_start, 2),
            "failover_s": None if failover is None else round(failover, 2),
            "promote_follow_s": None if promote_follow is None else round(promote_follow, 3),
            "p50_ms": round(percentile(latencies, 0.5)) if latencies else None,
            "p99_ms": round(percentile(latencies, 0.99)) if latencies else None,
            "replies_per_s": round(answered / answering, 1),
            "rest_per_s": rest_per_s,
            "photos": args.photos,
            "rate_limits": not args.no_rate_limits,
            "bot": "python -m bot" if args.direct else "python -m bot cluster",
        }
    finally:
        done.set()
        if bot.returncode is None:
            bot.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(bot.wait(), 30)
            except TimeoutError:
                bot.kill()
                await bot.wait()
        peak = await memory
        twin.send_signal(signal.SIGTERM)
        await twin.wait()
        await run.session.close()
        log.close()
    result["peak_rss_mb"] = round(peak / 2**20, 1)
    if result.get("missed") == 0 and result.get("duplicates") == 0 and args.log is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"bot log kept: {log_path}", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guilds", type=int, default=1000)
    parser.add_argument("--guilds-per-shard", type=int, default=250)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--photos", choices=["phone", "4000x3000"], default=None,
                        help="post photos instead of small MNIST PNGs")
    parser.add_argument("--kill", action="store_true", help="kill -9 a process half way, measure the failover")
    parser.add_argument("--no-rate-limits", action="store_true", help="lift Discord's rate limits in the twin")
    parser.add_argument("--identify-interval", type=float, default=5.0, help="seconds per bucket (Discord: 5)")
    parser.add_argument("--max-concurrency", type=int, default=1, help="identify buckets (Discord: 1 for most bots)")
    parser.add_argument("--concurrency", type=int, default=32, help="posts in flight at once")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the answers")
    parser.add_argument("--store", type=Path, default=Path(os.environ.get("MODEL_STORE", "models")),
                        help="the model store to serve (copied; default $MODEL_STORE or ./models)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose bot runs (default this one)")
    parser.add_argument("--direct", action="store_true",
                        help="run one `python -m bot` instead of the launcher (needs --processes 1; any checkout)")
    parser.add_argument("--log", type=Path, default=None, help="keep the bot's output in this file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.direct and (args.processes != 1 or args.kill):
        parser.error("--direct runs one process: use --processes 1 and no --kill")
    if not (args.store / "SERVING").is_file():
        parser.error(f"{args.store} holds no served model: train one (python train.py) or pass --store")
    result = asyncio.run(measure(args))
    for key, value in result.items():
        print(f"{key}: {value}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    return 0 if result.get("missed") == 0 and result.get("duplicates") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
