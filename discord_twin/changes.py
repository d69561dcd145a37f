"""Waiting for the twin to reach a state: every part reports its changes here, and waiters re-check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")

DEFAULT_TIMEOUT = 5.0


class Changes:
    """Wakes every waiter whenever a part of the twin changed something, so that it re-checks its condition."""

    def __init__(self, describe: Callable[[], str] = lambda: "") -> None:
        self._describe = describe  # the twin's state, for the message of a wait that timed out
        self._changed = asyncio.Condition()

    async def notify(self) -> None:
        """Wake every waiter to re-check its condition."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(
        self, find: Callable[[], T | None], timeout: float = DEFAULT_TIMEOUT, what: str = "a condition"
    ) -> T:
        """Return `find()` once it is truthy; re-checked after every change."""
        async with self._changed:
            try:
                found = await asyncio.wait_for(self._changed.wait_for(find), timeout)
            except TimeoutError:
                raise TimeoutError(f"twin: no {what} within {timeout}s; {self._describe()}") from None
        return cast(T, found)  # Condition.wait_for returns once find() is truthy
