"""The bot in the playground: its own process, told where the local Discord is through its environment."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Sequence

from ..twin import DiscordTwin

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class BotProcess:
    """`command` run with DISCORD_TOKEN, DISCORD_API_BASE and DISCORD_GATEWAY_URL pointing at `twin`.

    It runs in its own session, so that a Ctrl-C reaches the playground only, which then stops it; and it gets
    SIGTERM if the playground dies without stopping it (killed), so that it never outlives the playground.
    """

    def __init__(self, twin: DiscordTwin, command: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.twin = twin
        self.command = list(command)
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **(os.environ if self.env is None else self.env),
            "DISCORD_TOKEN": self.twin.token,
            "DISCORD_API_BASE": self.twin.api_base,
            "DISCORD_GATEWAY_URL": self.twin.gateway_url,
            "PYTHONUNBUFFERED": "1",
        }
        self.process = await asyncio.create_subprocess_exec(*self.command, env=env, start_new_session=True,
                                                            preexec_fn=_ending_with_the_playground())

    async def wait(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    async def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; the exit code."""
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        return process.returncode


def _ending_with_the_playground() -> Callable[[], None] | None:
    """A preexec_fn after which the child gets SIGTERM when the playground's process dies (Linux; None elsewhere)."""
    if _LIBC is None:
        return None
    libc, playground = _LIBC, os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != playground:  # the playground died before the child could ask
            os._exit(1)

    return preexec
