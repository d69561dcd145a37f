"""Session starts in Discord's order across processes (events/gateway › Rate Limiting: one IDENTIFY per bucket per
5 s; Session Start Limit Object › max_concurrency: bucket = shard_id % max_concurrency), through a lock every process
sees: the model store's (a file lock in a folder store, an advisory lock in a PostgreSQL one). Two gates with their
own store stand for two processes (flock locks conflict between open files, advisory locks between connections, even in
one process); the cluster's test runs real processes against the twin."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot import identify
from bot.identify import IdentifyGate
from model_store import ModelStore
from tests.fixtures.postgres import Relay

INTERVAL = 0.2
pytestmark = pytest.mark.timeout(30)


async def test_one_identify_per_bucket_per_interval_across_gates(store_location: Path | str) -> None:
    gates = [IdentifyGate(ModelStore(store_location), INTERVAL) for _ in range(2)]
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
    # Each bucket's last IDENTIFY holds it for an interval after its READY, and the lock says which shard that is.
    holder = gates[0].lock(0).holder()
    assert holder is not None and holder.who in ("shard 2's IDENTIFY", "shard 6's IDENTIFY")
    for gate in gates:
        await gate.close()
        gate.store.close()
    assert ModelStore(store_location).lock("identify-0").holder() is None  # a closed gate lets go
    if isinstance(store_location, Path):  # beside the versions, and none of them
        assert sorted(path.name for path in store_location.iterdir()) == [".identify-0.lock", ".identify-1.lock"]
        assert ModelStore(store_location).versions() == []


async def test_an_identify_without_ready_keeps_its_turn_and_its_interval(store_location: Path | str) -> None:
    """discord.py identifies again after a refused IDENTIFY: the second try waits the interval, and no other process
    identifies in that bucket meanwhile (the lock says which shard holds it)."""
    gate, other = IdentifyGate(ModelStore(store_location), INTERVAL), IdentifyGate(ModelStore(store_location), INTERVAL)
    await gate.before_identify(0)
    first = time.monotonic()
    waiting = asyncio.create_task(other.before_identify(2))
    holder = gate.lock(0).holder()
    assert holder is not None and holder.who == "shard 0's IDENTIFY"
    await gate.before_identify(0)  # no READY came: a second try
    assert time.monotonic() - first >= INTERVAL and not waiting.done()
    gate.ready(0)
    await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - first >= 2 * INTERVAL
    other.ready(2)
    for each in (gate, other):
        await each.close()
        each.store.close()


async def test_a_session_start_waits_out_a_database_outage(relay: Relay, postgres_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The locks' database gone when a shard (re)starts its session: it waits, and starts once the database is back."""
    monkeypatch.setattr(identify, "DATABASE_RETRY", 0.05)
    gate = IdentifyGate(ModelStore(relay.url(postgres_url.rsplit("/", 1)[1])), INTERVAL)
    relay.cut()
    waiting = asyncio.create_task(gate.before_identify(0))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    relay.restore()
    await asyncio.wait_for(waiting, 10)
    gate.ready(0)
    await gate.close()
