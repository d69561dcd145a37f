"""Reading workers: pictures prepared in other processes read as in the service's own threads, and a picture past its
CPU budget ends its worker and is refused alone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from digits.inference import InferenceService, Prediction
from digits.pool import OverBudget, WorkerPool
from digits.reading import ImageError
from model_store import ModelStore
from samples import pictures as styles

pytestmark = pytest.mark.timeout(60)


def echo_or_spin(value: int) -> int:
    """A job for the workers: `value` back at once, or (for -1) computing until the budget ends it."""
    while value < 0:
        pass
    return value


async def test_a_job_past_its_budget_is_ended_alone() -> None:
    pool = WorkerPool(echo_or_spin, workers=2, cpu_seconds=0.5)
    try:
        started = time.monotonic()
        results = await asyncio.gather(*(pool.run(value) for value in (1, -1, 2, 3)), return_exceptions=True)
        assert results[0] == 1 and isinstance(results[1], OverBudget) and results[2:] == [2, 3]
        assert time.monotonic() - started < 30  # RLIMIT_CPU: the budget's next whole second, not the wall clock's
        assert await pool.run(4) == 4 and pool.queued == 0  # a new worker took the ended one's place
    finally:
        pool.close()


async def test_pictures_read_in_workers_read_as_in_threads(trained_store: Path, test_digits) -> None:
    images, labels = test_digits
    pictures = [styles.tiny_mnist(images[i], None) for i in range(3)]
    pictures.insert(1, b"not a picture")
    in_threads = InferenceService(ModelStore(trained_store))
    in_workers = InferenceService(ModelStore(trained_store), processes=1)
    try:
        for service in (in_threads, in_workers):
            service.load()
        expected = in_threads.predict_batch(pictures)
        got = await in_workers.predict_batch_async(pictures)
        assert [type(r) for r in got] == [Prediction, ImageError, Prediction, Prediction]
        assert str(got[1]) == str(expected[1])
        for mine, theirs in zip(got, expected):
            if isinstance(mine, Prediction) and isinstance(theirs, Prediction):
                assert mine.number == theirs.number and mine.digits[0].probabilities == theirs.digits[0].probabilities
        assert in_workers.queue_depth == 0
    finally:
        in_threads.close()
        in_workers.close()
