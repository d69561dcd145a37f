"""Reading workers: pictures prepared in other processes read as in the service's own threads, a picture past its
CPU budget ends its worker and is refused alone, and small pictures skip the hop to a worker."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digits.inference import PICTURE_CPU_SECONDS, SMALL_FILE_BYTES, InferenceService, Prediction, is_small, prepare
from digits.pool import OverBudget, WorkerPool
from digits.reading import ImageError, ImageLimits
from digits.reading.splitting import Candidates
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
    small = [styles.tiny_mnist(images[i], None) for i in range(2)]  # read in the service's threads
    large = [styles.jpeg_q40(images[i], None) for i in range(2, 4)]  # 200×200 JPEGs, read in the workers
    pictures = [large[0], b"not a picture", small[0], large[1], small[1]]
    in_threads = InferenceService(ModelStore(trained_store))
    in_workers = InferenceService(ModelStore(trained_store), processes=1)
    children = set(multiprocessing.active_children())
    try:
        for service in (in_threads, in_workers):
            service.load()
        assert [r.number for r in await in_workers.predict_batch_async(small) if isinstance(r, Prediction)] == \
            [r.number for r in in_threads.predict_batch(small) if isinstance(r, Prediction)]
        assert set(multiprocessing.active_children()) == children  # small pictures alone start no worker
        expected = in_threads.predict_batch(pictures)
        got = await in_workers.predict_batch_async(pictures)
        assert set(multiprocessing.active_children()) > children
        assert [type(r) for r in got] == [Prediction, ImageError, Prediction, Prediction, Prediction]
        assert str(got[1]) == str(expected[1])
        for mine, theirs in zip(got, expected):
            if isinstance(mine, Prediction) and isinstance(theirs, Prediction):
                assert mine.number == theirs.number and mine.digits[0].probabilities == theirs.digits[0].probabilities
        assert in_workers.queue_depth == 0
    finally:
        in_threads.close()
        in_workers.close()


def encoded(pixels: np.ndarray, format: str, mode: str | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels, mode).save(out, format)
    return out.getvalue()


def small_pictures(digit: np.ndarray) -> dict[str, bytes]:
    """One MNIST digit as the small pictures people post: as is, inverted, strokes on a transparent canvas, in colour."""
    alpha = np.zeros((*digit.shape, 4), np.uint8)
    alpha[..., 3] = digit
    return {
        "PNG": encoded(digit, "PNG"),
        "inverted PNG": encoded(255 - digit, "PNG"),
        "transparent canvas": encoded(alpha, "PNG"),
        "RGB": encoded(np.stack([255 - digit, 255 - digit // 2, np.full_like(digit, 250)], axis=-1), "PNG"),
        "grey and alpha": encoded(np.stack([255 - digit, np.full_like(digit, 255)], axis=-1), "PNG", "LA"),
        "GIF": encoded(digit, "GIF"),
        "BMP": encoded(255 - digit, "BMP"),
        "JPEG": encoded(255 - digit, "JPEG"),
    }


async def test_a_small_picture_is_read_in_a_thread_as_a_worker_reads_it(test_digits) -> None:
    """The service reads small pictures without the hop to a worker (`is_small`); each comes out the same 28×28s."""
    images, _ = test_digits
    pool = WorkerPool(prepare, workers=1, cpu_seconds=PICTURE_CPU_SECONDS)
    try:
        for index in (0, 1, 7):
            for name, data in small_pictures(images[index]).items():
                assert is_small(data), name
                here, there = prepare(data, ImageLimits()), await pool.run(data, ImageLimits())
                assert isinstance(here, Candidates) and isinstance(there, Candidates), name
                assert here.runs == there.runs, name
                assert all(np.array_equal(a, b) for a, b in zip(here.inputs, there.inputs, strict=True)), name
    finally:
        pool.close()


@pytest.mark.parametrize("data, small", [
    (encoded(np.zeros((64, 64), np.uint8), "PNG"), True),
    (encoded(np.zeros((65, 20), np.uint8), "PNG"), False),  # over SMALL_SIDE
    (encoded(np.zeros((28, 28), np.uint8), "WEBP"), False),  # its header is not read without a decoder
    (encoded(np.zeros((28, 28), np.uint8), "TIFF"), False),
    (encoded(np.zeros((28, 28), np.uint8), "PNG") + bytes(SMALL_FILE_BYTES), False),  # over SMALL_FILE_BYTES
    (encoded(np.zeros((1, 20_000), np.uint8), "PNG"), False),  # a few hundred bytes of a wide picture
    (b"not a picture", False),
    (b"", False),
])
def test_only_small_pictures_are_small(data: bytes, small: bool) -> None:
    assert is_small(data) is small
