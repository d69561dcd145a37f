"""The bot in the playground: its own process, told where the local Discord is through its environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence

from ..twin import DiscordTwin


class BotProcess:
    """`command` run with DISCORD_TOKEN, DISCORD_API_BASE and DISCORD_GATEWAY_URL pointing at `twin`.

    It runs in its own session, so that a Ctrl-C reaches the playground only, which then stops it.
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
        self.process = await asyncio.create_subprocess_exec(*self.command, env=env, start_new_session=True)

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
