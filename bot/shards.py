"""Shard ranges: `BOT_SHARD_IDS` as written (`0-7`, `0,2,4`), as shown in logs (`0-3`), and split over processes.

Discord sends a guild's events to shard `(guild_id >> 22) % shard_count` (discord-api-docs, events/gateway ›
Sharding); which process runs which shards is ours to choose. Contiguous ranges keep a process's shards together
in the logs and, with `max_concurrency` buckets (`shard_id % max_concurrency`), give each process shards of every
bucket, so that all processes start sessions at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """`"0-3,8"` → (0, 1, 2, 3, 8): comma-separated shard ids or inclusive ranges, sorted, each once.

    ValueError for anything else (a negative id, a range that runs backwards, an empty list).
    """
    ids: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"{part!r} is not a shard id or a range such as 0-7")
        start, stop = int(first), int(last) if dash else int(first)
        if stop < start:
            raise ValueError(f"the range {part!r} runs backwards")
        ids.update(range(start, stop + 1))
    if not ids:
        raise ValueError("no shard ids")
    return tuple(sorted(ids))


def describe(ids: Iterable[int]) -> str:
    """(0, 1, 2, 3, 8) → `"0-3,8"`: what `parse_shard_ids` reads back."""
    parts: list[str] = []
    run: list[int] = []
    for shard in sorted(ids):
        if run and shard != run[-1] + 1:
            parts.append(_run(run))
            run = []
        run.append(shard)
    if run:
        parts.append(_run(run))
    return ",".join(parts)


def _run(run: Sequence[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def split(shard_ids: Sequence[int], processes: int) -> list[tuple[int, ...]]:
    """`shard_ids` in `processes` contiguous ranges, as even as can be (earlier ones get the extra)."""
    if not 1 <= processes <= len(shard_ids):
        raise ValueError(f"{processes} processes cannot share {len(shard_ids)} shard(s): each needs at least one")
    size, extra = divmod(len(shard_ids), processes)
    ranges, start = [], 0
    for index in range(processes):
        stop = start + size + (index < extra)
        ranges.append(tuple(shard_ids[start:stop]))
        start = stop
    return ranges
