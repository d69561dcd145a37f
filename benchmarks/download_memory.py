"""Peak memory of the bot while attachments send far more bytes than they claim (issue 25 item 4).

The twin runs in this process; the bot runs as a subprocess pointed at it (as in e2e_load.py), serving the model in
MODEL_STORE (default ./models). After a warm-up answer, the twin's CDN sends `--extra-bytes` more than each file
holds (and than its `size` claims), and one user posts `--attachments` small digit pictures, ten a message, all at
once. Reported: the bot's resident memory before the burst and its peak during it (VmHWM, reset before the burst),
and how the pictures were answered.

    .venv/bin/python benchmarks/download_memory.py --json                  # 100 attachments claiming ~100 bytes, 20 MB each
    .venv/bin/python benchmarks/download_memory.py --extra-bytes 0 --json  # the same burst from an honest CDN
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from PIL import Image

from discord_twin import Attachment, DiscordTwin, build_world

REPO = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 180.0
PER_MESSAGE = 10  # Discord's most attachments per message


def digit_png() -> bytes:
    """A drawn "1" on 28×28 pixels (about a hundred bytes as a PNG)."""
    image = Image.new("L", (28, 28), 0)
    for y in range(5, 23):
        image.putpixel((13, y), 255)
        image.putpixel((14, y), 200)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def resident(pid: int, field: str) -> int:
    """A memory figure of /proc/PID/status (VmRSS now, VmHWM the peak since the last reset), in bytes."""
    found = re.search(rf"{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert found is not None, field
    return int(found.group(1)) * 1024


async def run(args: argparse.Namespace) -> int:
    picture = digit_png()
    async with DiscordTwin() as twin:
        twin.relax_rate_limits()  # measure the bot's memory, not Discord's 5 messages per 5 s
        world = build_world(twin, channel_name="memory")
        env = {**os.environ, "DISCORD_TOKEN": twin.token, "DISCORD_API_BASE": twin.api_base,
               "DISCORD_GATEWAY_URL": twin.gateway_url, "BOT_COOLDOWN_RATE": "100000", "PYTHONUNBUFFERED": "1"}
        log_file = tempfile.NamedTemporaryFile(prefix="download_memory_", suffix=".log", delete=False)
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=REPO, env=env, stdout=log_file,
                                                   stderr=log_file)
        try:
            try:
                await twin.wait_until_connected(timeout=STARTUP_TIMEOUT)
                warmup = await twin.post_message(world.channel, world.admin, attachments=[Attachment(picture, "w.png")])
                answer = await twin.wait_for_reply(warmup, timeout=STARTUP_TIMEOUT)
            except TimeoutError as error:
                print(f"the bot did not come up: {error}; its log: {log_file.name}", file=sys.stderr)
                return 2
            if "it's a" not in json.dumps(answer.embeds) and "probably a" not in json.dumps(answer.embeds):
                print(f"the bot answered the warm-up without a digit (is there a model in MODEL_STORE?): "
                      f"{answer.content or json.dumps(answer.embeds)[:300]}", file=sys.stderr)
                return 2
            Path(f"/proc/{bot.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
            before = resident(bot.pid, "VmRSS")
            twin.cdn_oversize(args.extra_bytes)
            sizes = [PER_MESSAGE] * (args.attachments // PER_MESSAGE) + [args.attachments % PER_MESSAGE]
            posted = [await twin.post_message(world.channel, world.user,
                                              attachments=[Attachment(picture, f"d{i}.png") for i in range(size)])
                      for size in sizes if size]
            replies = await asyncio.gather(*(twin.wait_for_reply(message, timeout=args.timeout) for message in posted))
            peak = resident(bot.pid, "VmHWM")
        finally:
            if bot.returncode is None:
                bot.terminate()
                await bot.wait()
            log_file.close()
    embeds = [embed for reply in replies for embed in reply.embeds]
    result = {
        "attachments": args.attachments,
        "claimed_bytes": len(picture),
        "sent_bytes": len(picture) + args.extra_bytes,
        "rss_before_mb": round(before / 2**20, 1),
        "peak_rss_mb": round(peak / 2**20, 1),
        "growth_mb": round((peak - before) / 2**20, 1),
        "answered": sum("Couldn't read" not in embed.get("title", "") for embed in embeds),
        "refused": sum("Couldn't read" in embed.get("title", "") for embed in embeds),
    }
    os.unlink(log_file.name)
    print(f"{args.attachments} attachments claiming {len(picture)} bytes, each sent with {args.extra_bytes:,} bytes more")
    print(f"bot's resident memory: {result['rss_before_mb']} MB before, peak {result['peak_rss_mb']} MB "
          f"(+{result['growth_mb']} MB); {result['answered']} answered, {result['refused']} refused")
    if args.json:
        print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attachments", type=int, default=100, help="pictures posted at once, ten a message (100)")
    parser.add_argument("--extra-bytes", type=int, default=20_000_000,
                        help="bytes the CDN sends beyond each file (20,000,000; 0: an honest CDN)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each reply may take")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
