"""Playground load benchmark: N users post images through the playground's control API to the real bot.

Starts `python -m discord_twin.playground --port 0 -- python -m bot` (the bot on MODEL_STORE, default
./models: train a model first) and measures, per message, from sending `POST /playground/api/messages`
to the bot's reply (MESSAGE_CREATE whose message_reference names it) arriving on the live stream
(`GET /playground/api/events`), as the page sees it. Each user posts its images one after another (the
next once the previous was answered), all users at once. Also reported: how long the playground took to
be ready (page served and bot connected, from the process start) and the resident memory of the
playground and bot processes together after the load.

    .venv/bin/python benchmarks/playground_load.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_load import load_digits, percentile  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RECOGNIZED = re.compile(r"it's a (\d)\b")


async def stream(session: aiohttp.ClientSession, url: str, replies: dict[str, asyncio.Future[tuple[float, dict]]],
                 ready: asyncio.Event) -> None:
    """Read the event stream; resolve the future of each message the bot replies to."""
    async with session.get(f"{url}/playground/api/events", timeout=aiohttp.ClientTimeout(total=None)) as response:
        event = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
                if event == "HELLO":
                    ready.set()
            elif line.startswith("data: ") and event == "MESSAGE_CREATE":
                message = json.loads(line[6:])
                reference = (message.get("message_reference") or {}).get("message_id")
                if message["author"].get("bot") and reference:
                    future = replies.setdefault(reference, asyncio.get_running_loop().create_future())
                    if not future.done():
                        future.set_result((time.perf_counter(), message))


async def run(args: argparse.Namespace) -> int:
    digits, labels, source = load_digits(min(args.users * args.messages, 10_000))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "BOT_LOG_LEVEL": "WARNING",
           # The playground has two people, who post every image of the load between them: lift the bot's
           # per-person cooldown (10 images per 30 s by default) above that.
           "BOT_COOLDOWN_RATE": os.environ.get("BOT_COOLDOWN_RATE", str(args.users * args.messages + 10))}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "discord_twin.playground", "--port", "0", "--no-rate-limits", "--", sys.executable, "-m", "bot"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        ready_seconds = time.perf_counter() - started
        found = re.search(r"open (http://\S+)", line)
        if not found or "the bot is in" not in line:
            print(f"the playground did not come up: {line!r}", file=sys.stderr)
            return 2
        url = found.group(1)
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as page:
                assert page.status == 200
            replies: dict[str, asyncio.Future[tuple[float, dict]]] = {}
            ready = asyncio.Event()
            reader = asyncio.create_task(stream(session, url, replies, ready))
            await asyncio.wait_for(ready.wait(), 10)

            async def post(user: str, png: bytes, name: str) -> tuple[float, dict]:
                form = aiohttp.FormData()
                form.add_field("user", user)
                form.add_field("files", png, filename=name, content_type="image/png")
                sent = time.perf_counter()
                async with session.post(f"{url}/playground/api/messages", data=form) as response:
                    response.raise_for_status()
                    message_id = (await response.json())["id"]
                future = replies.setdefault(message_id, asyncio.get_running_loop().create_future())
                arrived, reply = await asyncio.wait_for(future, args.timeout)
                return arrived - sent, reply

            await post("admin", digits[0], "warmup.png")  # not measured: first-request costs

            latencies: list[float] = []
            answers: list[tuple[int | None, int]] = []
            unanswered = 0

            async def one_user(index: int) -> None:
                nonlocal unanswered
                user = "admin" if index % 2 else "member"  # the playground has two identities
                for n in range(args.messages):
                    sample = (index * args.messages + n) % len(digits)
                    try:
                        latency, reply = await post(user, digits[sample], f"u{index}-{n}.png")
                    except TimeoutError:
                        unanswered += 1
                        return
                    latencies.append(latency)
                    title = reply["embeds"][0].get("title", "") if reply.get("embeds") else ""
                    found_digit = RECOGNIZED.search(title)
                    answers.append((int(found_digit.group(1)) if found_digit else None, labels[sample]))

            load_started = time.perf_counter()
            await asyncio.gather(*(one_user(index) for index in range(args.users)))
            elapsed = time.perf_counter() - load_started
            reader.cancel()
        parent = psutil.Process(process.pid)
        rss = parent.memory_info().rss + sum(child.memory_info().rss for child in parent.children(recursive=True))
    finally:
        process.terminate()
        process.wait(timeout=20)

    recognized = [(digit, label) for digit, label in answers if digit is not None]
    result = {
        "images": source,
        "users": args.users,
        "messages_per_user": args.messages,
        "received": len(latencies),
        "unanswered": unanswered,
        "recognized": len(recognized),
        "correct": sum(digit == label for digit, label in recognized),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "per_second": round(len(latencies) / elapsed, 2),
        "ready_seconds": round(ready_seconds, 2),
        "rss_mb": round(rss / 2**20, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(f"images: {source}; users × messages: {args.users} × {args.messages}")
    print(f"received: {result['received']}, unanswered: {unanswered}, recognized: {result['recognized']}, "
          f"correct: {result['correct']}")
    print(f"latency (POST to the reply on the event stream) p50: {result['p50_ms']} ms, p99: {result['p99_ms']} ms, "
          f"mean: {result['mean_ms']} ms; throughput: {result['per_second']} replies/s")
    print(f"ready (page served, bot connected): {result['ready_seconds']} s; resident memory, playground + bot: "
          f"{result['rss_mb']} MB; load average: {result['load_average_1m']}")
    if args.json:
        print(json.dumps(result))
    return 1 if unanswered or len(recognized) < len(latencies) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument("--messages", type=int, default=10, help="image messages per user (default 10)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one reply may take")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
