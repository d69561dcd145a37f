"""End-to-end load benchmark: many users post digit images to a bot connected to the Discord twin.

The twin runs in this process; the bot runs as a subprocess pointed at it through
DISCORD_TOKEN, DISCORD_API_BASE and DISCORD_GATEWAY_URL (the rest of the environment,
MODEL_STORE and BOT_* included, is passed through). Each of N users posts M image
messages, one after another (the next once the previous was answered), all users at once.
Latency is measured per message from the twin dispatching MESSAGE_CREATE to the bot's reply
(a message whose message_reference points at it) arriving at the twin. With the real bot, a reply
counts as recognized only if it names a digit (a cooldown or "no model yet" note does not), and
recognized digits are checked against the MNIST labels.

    .venv/bin/python benchmarks/e2e_load.py --target minimal --json
    .venv/bin/python benchmarks/e2e_load.py --retrain "epochs=20" --json   # while an admin's !retrain runs
    .venv/bin/python benchmarks/e2e_load.py --photos --json                # 4000×3000 JPEGs: peak memory, !model latency

With --photos, each image is a 4000×3000 JPEG phone photo of the digit (about 4 MB), each user posts
all of its messages at once (a burst), and the run also
reports the bot's peak resident memory and how fast `!model` answers meanwhile (an admin asks every
quarter second). With --retrain, an admin posts `!retrain OPTIONS` after the warm-up; the load starts once the
status message shows training progress, and the retrain is cancelled (store untouched) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from discord_twin import Attachment, DiscordTwin, Message, build_world

REPO = Path(__file__).resolve().parent.parent

STARTUP_TIMEOUT = 180.0  # The real bot loads a model before it connects.
RECOGNIZED = re.compile(r"(?:it's|probably) a (\d)\b")  # the title of the bot's answer for an image


def synthetic_digits(count: int) -> tuple[list[bytes], list[int]]:
    """28×28 PNGs of a drawn "1" at slightly different places, and their labels: stand-ins when MNIST is absent."""
    images = []
    for index in range(count):
        image = Image.new("L", (28, 28), 0)
        column = 11 + index % 6
        for y in range(5, 23):
            image.putpixel((column, y), 255)
            image.putpixel((column + 1, y), 200)
        images.append(png_bytes(image))
    return images, [1] * count


def mnist_digits(directory: Path, count: int) -> tuple[list[bytes], list[int]]:
    """The first `count` MNIST test images as PNGs, and their labels.

    IDX format: a 16-byte header then 28×28 bytes per image; an 8-byte header then one byte per label.
    """
    with gzip.open(directory / "t10k-images-idx3-ubyte.gz", "rb") as stream:
        header = stream.read(16)
        if int.from_bytes(header[:4], "big") != 2051:
            raise ValueError(f"{directory}: not an IDX image file")
        available = int.from_bytes(header[4:8], "big")
        raw = stream.read(min(count, available) * 28 * 28)
    with gzip.open(directory / "t10k-labels-idx1-ubyte.gz", "rb") as stream:
        labels = list(stream.read(8 + len(raw) // 784)[8:])
    return [png_bytes(Image.frombytes("L", (28, 28), raw[i * 784 : (i + 1) * 784])) for i in range(len(labels))], labels


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def load_digits(count: int) -> tuple[list[bytes], list[int], str]:
    mnist_dir = os.environ.get("MNIST_DIR")
    if mnist_dir and (Path(mnist_dir) / "t10k-images-idx3-ubyte.gz").exists():
        return *mnist_digits(Path(mnist_dir), count), f"MNIST test set ({mnist_dir})"
    return *synthetic_digits(count), "synthetic 28x28 PNGs"


def recognized_digit(reply: Message) -> int | None:
    """The digit the bot's reply names, or None for any other answer."""
    found = RECOGNIZED.search(reply.embeds[0].get("title", "")) if reply.embeds else None
    return int(found.group(1)) if found else None


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))]


async def run(args: argparse.Namespace) -> int:
    digits, labels, source = load_digits(min(args.users * args.messages, 10_000))
    if args.photos:
        digits, labels, source = *as_photos(digits, labels), f"{source}, as 4000x3000 JPEG photos"
    async with DiscordTwin() as twin:
        if not args.discord_rate_limits:
            # The benchmark measures the bot, not Discord's 5 messages per 5 s per channel (which would cap
            # 20 users in one channel at one reply a second): the twin's limits are lifted unless asked for.
            twin.relax_rate_limits()
        world = build_world(twin, channel_name="load")
        users = [twin.create_user(f"user{index}") for index in range(args.users)]
        for user in users:
            twin.add_member(world.guild, user)

        env = {
            **os.environ,
            "DISCORD_TOKEN": twin.token,
            "DISCORD_API_BASE": twin.api_base,
            "DISCORD_GATEWAY_URL": twin.gateway_url,
            "PYTHONUNBUFFERED": "1",
        }
        command = [sys.executable, "-m", "bot"] if args.target == "bot" else [sys.executable, __file__, "--minimal-client"]
        log_file = tempfile.NamedTemporaryFile(prefix="e2e_load_", suffix=".log", delete=False)
        process = await asyncio.create_subprocess_exec(*command, cwd=REPO, env=env, stdout=log_file, stderr=log_file)
        try:
            try:
                await twin.wait_until_connected(timeout=STARTUP_TIMEOUT)
                # Warm-up message, not measured: first-request costs (model load, connection pools).
                warmup = await twin.post_message(world.channel, world.admin, attachments=[Attachment(digits[0], "warmup.png")])
                warmup_reply = await twin.wait_for_reply(warmup, timeout=STARTUP_TIMEOUT)
            except TimeoutError as error:
                print(f"{args.target} did not come up: {error}\n--- its log ({log_file.name}) ---", file=sys.stderr)
                print(Path(log_file.name).read_text()[-4000:], file=sys.stderr)
                return 2
            if args.target == "bot" and recognized_digit(warmup_reply) is None:
                answer = warmup_reply.content or json.dumps(warmup_reply.embeds)
                print(f"the bot answered the warm-up image without a digit: {answer[:300]}\n"
                      "Is there a trained model in MODEL_STORE (default ./models)? `python train.py` makes one.",
                      file=sys.stderr)
                return 2

            retrain_status = await start_retrain(twin, world, args.retrain) if args.retrain else None

            latencies: list[float] = []
            unanswered: list[Message] = []
            answers: list[tuple[int | None, int]] = []  # (digit the bot named, label)
            deadline = time.perf_counter() + args.timeout

            async def post(user_index: int, index: int) -> tuple[Message, int]:
                sample = (user_index * args.messages + index) % len(digits)
                name = f"digit{index}.{'jpg' if args.photos else 'png'}"
                return await twin.post_message(world.channel, users[user_index], attachments=[Attachment(digits[sample], name)]), sample

            async def answered(posted: Message, sample: int) -> bool:
                try:
                    reply = await twin.wait_for_reply(posted, timeout=max(deadline - time.perf_counter(), 0.001))
                except TimeoutError:
                    unanswered.append(posted)
                    return False
                assert posted.dispatched_at is not None
                latencies.append(reply.created_at - posted.dispatched_at)
                answers.append((recognized_digit(reply), labels[sample]))
                return True

            async def one_user(user_index: int) -> None:
                if args.photos:  # a burst: all of the user's photos at once, as people share an album
                    sent = [await post(user_index, index) for index in range(args.messages)]
                    await asyncio.gather(*(answered(*message) for message in sent))
                    return
                for index in range(args.messages):
                    if not await answered(*await post(user_index, index)):
                        return  # This user gives up; its remaining messages count as unsent.

            started = time.perf_counter()
            loaded = asyncio.gather(*(one_user(index) for index in range(args.users)))
            watchers = [asyncio.create_task(peak_memory(process.pid, loaded)),
                        asyncio.create_task(model_command_latencies(twin, world, loaded))] if args.photos else []
            await loaded
            elapsed = time.perf_counter() - started
            peak_rss, model_latencies = [await watcher for watcher in watchers] if watchers else (None, [])
            if retrain_status is not None:
                retrain_ran_throughout = await stop_retrain(twin, world, retrain_status)
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            log_file.close()

    sent = len(latencies) + len(unanswered)
    result = {
        "target": args.target,
        "images": source,
        "users": args.users,
        "messages_per_user": args.messages,
        "sent": sent,
        "received": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "per_second": round(len(latencies) / elapsed, 2),
        "seconds": round(elapsed, 3),
    }
    recognized = [(digit, label) for digit, label in answers if digit is not None]
    if args.target == "bot":
        result["recognized"] = len(recognized)
        result["correct"] = sum(digit == label for digit, label in recognized)
    if args.retrain:
        result["retrain"] = args.retrain
        result["retrain_ran_throughout"] = retrain_ran_throughout
    if args.photos:
        result["peak_rss_mb"] = round(peak_rss / 2**20, 1) if peak_rss else None
        result["model_command_p50_ms"] = round(percentile(model_latencies, 0.50) * 1000, 1) if model_latencies else None
        result["model_command_p99_ms"] = round(percentile(model_latencies, 0.99) * 1000, 1) if model_latencies else None
    print(f"target: {args.target} ({' '.join(command)}), images: {source}")
    print(f"users × messages: {args.users} × {args.messages}")
    print(f"sent: {result['sent']}, received: {result['received']}, unanswered: {len(unanswered)}")
    print(f"latency p50: {result['p50_ms']} ms, p99: {result['p99_ms']} ms, mean: {result['mean_ms']} ms")
    print(f"throughput: {result['per_second']} replies/s over {result['seconds']} s")
    if args.target == "bot":
        print(f"recognized: {result['recognized']} of {result['received']} replies named a digit, "
              f"{result['correct']} of them the right one")
    if args.photos:
        print(f"bot's peak resident memory: {result['peak_rss_mb']} MB; !model answered in p50 "
              f"{result['model_command_p50_ms']} ms, p99 {result['model_command_p99_ms']} ms ({len(model_latencies)} asked)")
    if args.retrain:
        print(f"background: !retrain {args.retrain}, training throughout the load: {retrain_ran_throughout}")
    if unanswered:
        print(f"unanswered within {args.timeout} s: {[m.id for m in unanswered]}; bot log: {log_file.name}", file=sys.stderr)
    else:
        os.unlink(log_file.name)
    if args.json:
        print(json.dumps(result))
    refused = args.target == "bot" and len(recognized) < len(latencies)
    return 1 if unanswered or refused or sent < args.users * args.messages else 0


def as_photos(pngs: list[bytes], labels: list[int]) -> tuple[list[bytes], list[int]]:
    """Up to 20 distinct 4000×3000 JPEG photos of the digits, repeated (each takes a fifth of a second to make)."""
    import numpy as np

    from samples.pictures import photo_4000x3000

    rng = np.random.default_rng(0)
    photos = [photo_4000x3000(np.asarray(Image.open(io.BytesIO(png))), rng) for png in pngs[:20]]
    repeat = range(len(pngs))
    return [photos[index % len(photos)] for index in repeat], [labels[index % len(photos)] for index in repeat]


async def peak_memory(pid: int, until: asyncio.Future) -> int:
    """The process's largest resident set size, sampled every 20 ms until `until` is done."""
    import psutil

    process, peak = psutil.Process(pid), 0
    while not until.done():
        peak = max(peak, process.memory_info().rss)
        await asyncio.sleep(0.02)
    return peak


async def model_command_latencies(twin: DiscordTwin, world, until: asyncio.Future) -> list[float]:
    """Seconds from an admin's `!model` to the bot's reply, asked every quarter second until `until` is done."""
    latencies = []
    while not until.done():
        asked = await twin.post_message(world.channel, world.admin, "!model")
        reply = await twin.wait_for_reply(asked, timeout=60)
        assert asked.dispatched_at is not None
        latencies.append(reply.created_at - asked.dispatched_at)
        await asyncio.sleep(0.25)
    return latencies


async def start_retrain(twin: DiscordTwin, world, options: str) -> Message:
    """Have the admin start a retrain; return its status message once it shows training progress."""
    request = await twin.post_message(world.channel, world.admin, f"!retrain {options}")
    status = await twin.wait_for_reply(request, timeout=30)
    await twin.wait_for_edit(lambda edit: "Epoch" in str(edit.embeds), message=status, timeout=STARTUP_TIMEOUT)
    return status


async def stop_retrain(twin: DiscordTwin, world, status: Message) -> bool:
    """Cancel the retrain; True if it was still training when the load ended."""
    still_training = "Epoch" in str(status.embeds)
    request = await twin.post_message(world.channel, world.admin, "!retrain cancel")
    await twin.wait_for_reply(request, timeout=30)
    return still_training


def minimal_client() -> None:
    """A plain discord.py client that replies to every image message with its size: the bot stand-in."""
    import discord

    from bot.endpoint import point_discord_py_at

    point_discord_py_at(os.environ["DISCORD_API_BASE"], os.environ["DISCORD_GATEWAY_URL"])
    intents = discord.Intents.default()
    intents.message_content = True
    client = discord.Client(intents=intents)

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot or not message.attachments:
            return
        data = await message.attachments[0].read()
        await message.reply(f"{len(data)} bytes", mention_author=False)

    asyncio.run(client.start(os.environ["DISCORD_TOKEN"]))


def main() -> int:
    default_target = "bot" if (REPO / "bot" / "__main__.py").exists() else "minimal"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=["bot", "minimal"], default=default_target,
                        help=f"the real bot (python -m bot) or a minimal discord.py client (default: {default_target})")
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument("--messages", type=int, default=10, help="image messages per user (default 10)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds until unanswered messages fail the run")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    parser.add_argument("--retrain", metavar="OPTIONS", default=None,
                        help='measure while an admin\'s "!retrain OPTIONS" runs, e.g. "epochs=20" (bot target only)')
    parser.add_argument("--photos", action="store_true",
                        help="post 4000x3000 JPEG photos; report the bot's peak memory and !model latency meanwhile")
    parser.add_argument("--discord-rate-limits", action="store_true",
                        help="keep Discord's rate limits in the twin (5 messages per 5 s per channel, 50 requests/s); "
                             "by default they are lifted, to measure the bot's own throughput")
    parser.add_argument("--minimal-client", action="store_true", help=argparse.SUPPRESS)  # The subprocess role.
    args = parser.parse_args()
    if args.minimal_client:
        minimal_client()
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
