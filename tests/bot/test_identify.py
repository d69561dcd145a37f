"""Session starts in Discord's order across processes (events/gateway › Rate Limiting: one IDENTIFY per bucket per
5 s; Session Start Limit Object › max_concurrency: bucket = shard_id % max_concurrency), through a lock every process
sees. Two gates with their own FileIdentifyLock stand for two processes (flock locks conflict between open files,
even in one process); the cluster's test runs real processes against the twin."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.identify import FileIdentifyLock, IdentifyGate, file_lock_beside

INTERVAL = 0.2
pytestmark = pytest.mark.timeout(30)


async def test_one_identify_per_bucket_per_interval_across_gates(tmp_path: Path) -> None:
    gates = [IdentifyGate(file_lock_beside(tmp_path / "models"), INTERVAL) for _ in range(2)]
    starts: dict[int, float] = {}

    async def launch(gate: IdentifyGate, shards: range) -> None:
        """Shards in order, as discord.py launches them: each IDENTIFY, then READY a round trip later."""
        for shard in shards:
            await gate.before_identify(shard)
            starts[shard] = time.monotonic()
            await asyncio.sleep(0.01)
            gate.ready(shard)

    for gate in gates:
        gate.max_concurrency = 2
    await asyncio.gather(launch(gates[0], range(0, 4)), launch(gates[1], range(4, 8)))
    for bucket in (0, 1):
        times = sorted(start for shard, start in starts.items() if shard % 2 == bucket)
        assert len(times) == 4 and all(b - a >= INTERVAL for a, b in zip(times, times[1:]))
    # Buckets start side by side: the whole start takes about four intervals, not eight.
    assert max(starts.values()) - min(starts.values()) < 6 * INTERVAL
    for gate in gates:
        await gate.close()
    assert sorted(path.name for path in (tmp_path / "models").iterdir()) == [".identify-0.lock", ".identify-1.lock"]


async def test_an_identify_without_ready_keeps_its_turn_and_its_interval(tmp_path: Path) -> None:
    """discord.py identifies again after a refused IDENTIFY: the second try waits the interval, and no other process
    identifies in that bucket meanwhile."""
    gate, other = IdentifyGate(FileIdentifyLock(tmp_path), INTERVAL), IdentifyGate(FileIdentifyLock(tmp_path), INTERVAL)
    await gate.before_identify(0)
    first = time.monotonic()
    waiting = asyncio.create_task(other.before_identify(2))
    await gate.before_identify(0)  # no READY came: a second try
    assert time.monotonic() - first >= INTERVAL and not waiting.done()
    gate.ready(0)
    await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - first >= 2 * INTERVAL
    other.ready(2)
    for each in (gate, other):
        await each.close()
