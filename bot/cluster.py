"""`python -m bot cluster --processes N` (and `make run` with `BOT_PROCESSES=N`): the bot's shards over N processes.

The launcher asks Discord how many shards to run (`BOT_SHARD_COUNT` overrides), splits this machine's shards
(`BOT_SHARD_IDS`, default all) into N contiguous ranges, and runs `python -m bot` once per range. It first starts the
REST proxy (`rest_proxy/server.mjs`, @discordjs/proxy), so that every process shares one REST budget, kept at an even
pace under Discord's global limit (discord.py alone learns the limits from 429s, which a burst piles up). Each bot process serves /healthz on 127.0.0.1:`BOT_METRICS_PORT` + its index.

It supervises them: every line a process prints is shown with its name and shard range; a process that exits, or
whose /healthz fails for `health_grace` seconds (never ready within `start_allowance` of its start, or not ready
again after it was), is restarted, after a pause that doubles with each quick failure (from 1 s up to a minute);
SIGINT (Ctrl-C) or SIGTERM stops every process (forwarded; SIGKILL after `STOP_TIMEOUT`) and then the proxy. A bot
that exits with code 2 (a wrong setting or token) stops the cluster with code 2: restarting cannot help it.

Supervision is written here, on asyncio's subprocesses, because no library fitted: supervisord prefixes no log lines,
has no HTTP health checks and no start order (the proxy before the bots), and reopening /dev/stdout for its children
overwrites a log file the launcher's output is redirected to; honcho does not restart; circus is barely maintained.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.config import BotSettings, ConfigError
from bot.shards import describe, split
from digits.processes import end_process, ending_with_this_process

REPO = Path(__file__).resolve().parents[1]
PROXY_SCRIPT = REPO / "rest_proxy" / "server.mjs"
DISCORD_API = "https://discord.com/api/v10"
DEFAULT_METRICS_PORT = 9310
EXIT_CONFIG = 2
# Restarts: the pause after a quick failure doubles from FIRST_BACKOFF up to MAX_BACKOFF; a process that ran
# STABLE seconds starts again at FIRST_BACKOFF.
FIRST_BACKOFF, MAX_BACKOFF, STABLE = 1.0, 60.0, 60.0
HEALTH_INTERVAL = 1.0  # seconds between two /healthz checks of a process
HEALTH_TIMEOUT = 2.0
STOP_TIMEOUT = 15.0  # seconds a stopping process gets before SIGKILL
UNHEALTHY_STOP_TIMEOUT = 5.0  # the same for a process failing /healthz: its event loop may not be running at all


def say(line: str) -> None:
    print(f"[cluster] {line}", file=sys.stderr, flush=True)


@dataclass
class Member:
    """One supervised process: the REST proxy, or a bot process with its shards."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str | None = None
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    unhealthy: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class Options:
    health_grace: float  # seconds a process may fail /healthz before it is restarted
    start_allowance: float  # seconds a new process has to become ready, on top of health_grace


class Cluster:
    def __init__(self, members: list[Member], options: Options, proxy: Member | None) -> None:
        self.members = members
        self.options = options
        self.proxy = proxy
        self.stopping = asyncio.Event()
        self.exit_code = 0

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop, signum)
        supervised = [] if self.proxy is None else [asyncio.create_task(self._supervise(self.proxy, started=True))]
        supervised += [asyncio.create_task(self._supervise(member)) for member in self.members]
        await self.stopping.wait()
        await asyncio.gather(*(self._stop(member) for member in self.members))
        if self.proxy is not None:
            await self._stop(self.proxy)
        await asyncio.gather(*supervised, return_exceptions=True)
        return self.exit_code

    def stop(self, signum: int = signal.SIGTERM, code: int = 0) -> None:
        if not self.stopping.is_set():
            say(f"stopping every process ({signal.Signals(signum).name})")
            self.exit_code = code
            self.stopping.set()

    async def _start(self, member: Member) -> None:
        member.starts += 1
        member.unhealthy.clear()
        member.process = await asyncio.create_subprocess_exec(
            *member.argv, env=member.env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=member is self.proxy,
            preexec_fn=ending_with_this_process())  # a killed launcher leaves no bot answering beside a new one
        say(f"{member.name}: started (pid {member.process.pid})")

    async def _supervise(self, member: Member, started: bool = False) -> None:
        backoff = FIRST_BACKOFF
        while not self.stopping.is_set():
            if not started:
                await self._start(member)
            started = False
            process = member.process
            assert process is not None and process.stdout is not None
            since = time.monotonic()
            output = asyncio.create_task(_relay(member.name, process.stdout))
            watch = asyncio.create_task(self._watch_health(member, process)) if member.health_url else None
            unhealthy = asyncio.create_task(member.unhealthy.wait())
            await asyncio.wait({asyncio.create_task(process.wait()), unhealthy}, return_when=asyncio.FIRST_COMPLETED)
            for task in (watch, unhealthy):
                if task is not None:
                    task.cancel()
            if member.unhealthy.is_set() and process.returncode is None:
                say(f"{member.name}: /healthz failing for {self.options.health_grace:g} s: restarting it")
                await end_process(process, signal.SIGTERM, UNHEALTHY_STOP_TIMEOUT)
            await process.wait()
            # Its reading workers may outlive a killed bot for a moment, holding its output open: not waited for.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(output, 2.0)
            if self.stopping.is_set():
                return
            code = process.returncode
            if code == EXIT_CONFIG and member is not self.proxy:
                say(f"{member.name}: exited with code 2 (a setting or the token is wrong): stopping the cluster")
                self.stop(signal.SIGTERM, EXIT_CONFIG)
                return
            backoff = FIRST_BACKOFF if time.monotonic() - since >= STABLE else backoff
            say(f"{member.name}: {_ended(code)}; restarting in {backoff:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _watch_health(self, member: Member, process: asyncio.subprocess.Process) -> None:
        """Set `member.unhealthy` once /healthz has failed for health_grace seconds (plus start_allowance while the
        process has never been ready)."""
        assert member.health_url is not None
        started = last_ready = time.monotonic()
        ever_ready = False
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT)) as session:
            while process.returncode is None:
                await asyncio.sleep(HEALTH_INTERVAL)
                try:
                    async with session.get(member.health_url) as response:
                        ready = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ready = False
                now = time.monotonic()
                if ready:
                    if not ever_ready:
                        say(f"{member.name}: ready in {now - started:.1f} s")
                    ever_ready, last_ready = True, now
                    continue
                allowed = self.options.health_grace + (0 if ever_ready else self.options.start_allowance)
                if now - (last_ready if ever_ready else started) > allowed:
                    member.unhealthy.set()
                    return

    async def _stop(self, member: Member) -> None:
        process = member.process
        if process is not None and process.returncode is None:
            await end_process(process, signal.SIGINT, STOP_TIMEOUT)


async def _relay(name: str, stream: asyncio.StreamReader) -> None:
    """Every line the process prints, on the launcher's stderr with the process's name and shards before it."""
    prefix = f"[{name}] ".encode()
    while line := await stream.readline():
        sys.stderr.buffer.write(prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
        sys.stderr.buffer.flush()


def _ended(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


async def recommended_shards(api_base: str, token: str) -> int:
    """Get Gateway Bot's `shards`: Discord's recommendation (events/gateway › Get Gateway Bot)."""
    headers = {"Authorization": f"Bot {token}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.get(f"{api_base}/gateway/bot", headers=headers) as response:
            if response.status == 401:
                raise ConfigError("Discord rejected DISCORD_TOKEN: copy the token again from the Developer Portal")
            response.raise_for_status()
            return int((await response.json())["shards"])


async def start_proxy(api_base: str, port: int, env: dict[str, str]) -> tuple[Member, str]:
    """Start the REST proxy; the member supervising it (restarted on the same port) and the API base it serves."""
    argv = ["node", str(PROXY_SCRIPT), "--port", str(port), "--api", api_base]
    # In a session of its own, Ctrl-C in the terminal does not reach it: the launcher stops it after the bots, which
    # may still be sending their last calls.
    process = await asyncio.create_subprocess_exec(*argv, env=env, stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                                                   start_new_session=True, preexec_fn=ending_with_this_process())
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    if not first.startswith("rest proxy: http://"):
        await process.wait()
        raise ConfigError(f"the REST proxy did not start: {first or _ended(process.returncode)} "
                          "(`make install` installs it; it needs Node.js 18 or newer)")
    served = first.split()[2]
    port = int(served.split(":")[2].split("/")[0])
    member = Member("rest-proxy", ["node", str(PROXY_SCRIPT), "--port", str(port), "--api", api_base], env, process=process)
    member.starts = 1
    say(f"rest-proxy: started (pid {process.pid}) on {served}, in front of {api_base}")
    return member, served


def parse(argv: Sequence[str], settings: BotSettings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=settings.processes,
                        help=f"bot processes on this machine (default BOT_PROCESSES, now {settings.processes})")
    parser.add_argument("--rest-proxy", action=argparse.BooleanOptionalAction, default=None,
                        help="send REST through one local proxy (default; needed by more than one process); "
                             "--no-rest-proxy when DISCORD_API_BASE already names the bot's one proxy")
    parser.add_argument("--rest-proxy-port", type=int, default=0, help="the proxy's port (default: a free one)")
    parser.add_argument("--health-grace", type=float, default=30.0,
                        help="seconds a process may fail /healthz before it is restarted (default 30)")
    args = parser.parse_args(argv)
    if args.processes < 1 or args.health_grace <= 0:
        parser.error("--processes must be 1 or more and --health-grace positive")
    return args


async def launch(argv: Sequence[str]) -> int:
    try:
        settings = BotSettings.from_env()
    except ConfigError as error:
        print(f"digitbot: configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    args = parse(argv, settings)
    api_base = settings.api_base or DISCORD_API
    try:
        shard_count = settings.shard_count or await recommended_shards(api_base, settings.token)
    except (aiohttp.ClientError, TimeoutError) as error:
        print(f"digitbot: cannot ask {api_base} how many shards to run: {error}", file=sys.stderr)
        return 1
    except ConfigError as error:
        print(f"digitbot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    shard_ids = settings.shard_ids or tuple(range(shard_count))
    if args.processes > len(shard_ids):
        print(f"digitbot: {args.processes} processes for {len(shard_ids)} shard(s): each process needs a shard "
              "(use fewer processes, or set BOT_SHARD_COUNT higher)", file=sys.stderr)
        return EXIT_CONFIG
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proxy = None
    if args.rest_proxy is not False:
        try:
            proxy, api_base = await start_proxy(api_base, args.rest_proxy_port, env)
            env["DISCORD_API_BASE"] = api_base
        except (ConfigError, OSError, TimeoutError) as error:
            if args.rest_proxy or args.processes > 1:
                print(f"digitbot: {error}", file=sys.stderr)
                return 1
            say(f"no REST proxy ({error}); the one process keeps Discord's limits by itself")
    base_port = settings.metrics_port or DEFAULT_METRICS_PORT
    per_process = max(1, (os.cpu_count() or 1) // args.processes)
    members = []
    for index, ids in enumerate(split(shard_ids, args.processes)):
        member_env = {**env, "BOT_SHARD_COUNT": str(shard_count), "BOT_SHARD_IDS": describe(ids),
                      "BOT_METRICS_PORT": str(base_port + index)}
        member_env.setdefault("BOT_READING_WORKERS", str(per_process))
        members.append(Member(f"bot-{index} shards {describe(ids)}", [sys.executable, "-m", "bot"], member_env,
                              health_url=f"http://127.0.0.1:{base_port + index}/healthz"))
    say(f"{shard_count} shard(s), {describe(shard_ids)} on this machine, in {args.processes} process(es); "
        f"health on 127.0.0.1:{base_port}-{base_port + args.processes - 1}")
    # Every session of the bot starts in turn, 5 s apart per bucket: the last process may wait for all the others.
    allowance = len(shard_ids) * settings.identify_interval + 30.0
    return await Cluster(members, Options(args.health_grace, allowance), proxy).run()


def main(argv: Sequence[str]) -> int:
    return asyncio.run(launch(argv))
