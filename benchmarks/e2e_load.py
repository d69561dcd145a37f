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

With --retrain, an admin posts `!retrain OPTIONS` after the warm-up; the load starts once the
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

REPO = Path(__file__).resolve().parent.parent
# Run as a script, so the repository root (home of the `tests` package) is not on sys.path yet.
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

from tests.discord_twin import Attachment, DiscordTwin, Message, build_world  # noqa: E402

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
    async with DiscordTwin() as twin:
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

            async def one_user(user_index: int) -> None:
                for index in range(args.messages):
                    sample = (user_index * args.messages + index) % len(digits)
                    png = digits[sample]
                    posted = await twin.post_message(
                        world.channel, users[user_index], attachments=[Attachment(png, f"digit{index}.png")]
                    )
                    try:
                        reply = await twin.wait_for_reply(posted, timeout=max(deadline - time.perf_counter(), 0.001))
                    except TimeoutError:
                        unanswered.append(posted)
                        return  # This user gives up; its remaining messages count as unsent.
                    assert posted.dispatched_at is not None
                    latencies.append(reply.created_at - posted.dispatched_at)
                    answers.append((recognized_digit(reply), labels[sample]))

            started = time.perf_counter()
            await asyncio.gather(*(one_user(index) for index in range(args.users)))
            elapsed = time.perf_counter() - started
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
    print(f"target: {args.target} ({' '.join(command)}), images: {source}")
    print(f"users × messages: {args.users} × {args.messages}")
    print(f"sent: {result['sent']}, received: {result['received']}, unanswered: {len(unanswered)}")
    print(f"latency p50: {result['p50_ms']} ms, p99: {result['p99_ms']} ms, mean: {result['mean_ms']} ms")
    print(f"throughput: {result['per_second']} replies/s over {result['seconds']} s")
    if args.target == "bot":
        print(f"recognized: {result['recognized']} of {result['received']} replies named a digit, "
              f"{result['correct']} of them the right one")
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

    from tests.discord_twin import point_discord_py_at

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
    parser.add_argument("--minimal-client", action="store_true", help=argparse.SUPPRESS)  # The subprocess role.
    args = parser.parse_args()
    if args.minimal_client:
        minimal_client()
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
