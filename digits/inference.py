"""The inference service: the served model version, answering pictures of digits with NumPy (no TensorFlow).

    service = InferenceService(ModelStore("models"))
    service.load()
    prediction = service.predict(image_bytes)          # or: await service.predict_async(image_bytes)
    result = service.reload()                           # after a promotion or a rollback

The served network is one immutable object behind one attribute: `reload()` builds the new one
completely, then swaps the reference, so a prediction that already started finishes on the
weights it started with, and a version that fails to load never replaces a working one.

Where the work runs: `prepare` (decoding, clean-up, segmentation, framing the candidate runs: the CPU-heavy part)
runs in the caller's thread, or with `processes` set in a pool of worker processes (`digits.pool`), each picture
under a CPU budget (a small picture, which costs less to read than to send to a worker, is still read here): only
the candidate runs' 28×28 inputs and shapes come back (`digits.reading.splitting.Candidates`). The forward pass and
the choice of runs (cheap) always run here, on the served network.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

from digits.reading import MAX_DIGITS, ImageError, ImageLimits, segment, too_many_digits
from digits.reading.splitting import ONE_GROUP_WHOLE, Candidates, candidates, choose_runs
from model_store import ModelStore, StoreError
from network.architecture import NumpyNetwork, normalize, softmax
from network.calibration import ReliabilityBin, expected_calibration_error, is_unsure, reliability
from network.card import ModelCard
from network.evaluation import per_digit_accuracy

if TYPE_CHECKING:
    from digits.pool import WorkerPool

log = logging.getLogger(__name__)

# How often a serving process looks at the store's pointer, to follow promotions and rollbacks made elsewhere
# (a PostgreSQL store also tells it at once).
FOLLOW_INTERVAL = 1.0
# Keras clips probabilities to [1e-7, 1 - 1e-7] in categorical cross-entropy.
_EPSILON = 1e-7
# CPU one picture may take in a reading worker (a phone photo takes about 0.01 s) before it is refused.
PICTURE_CPU_SECONDS = 2.0
# A file of at most SMALL_FILE_BYTES in one of SMALL_FORMATS (whose headers Pillow reads without decoding anything)
# that declares at most SMALL_SIDE pixels a side is read in a few milliseconds at worst, whatever it holds: less than
# the hop to a reading worker costs (`is_small`).
SMALL_FILE_BYTES = 64 * 1024
SMALL_FORMATS = ("PNG", "GIF", "BMP", "JPEG")
SMALL_SIDE = 64
# A network trained on digits moved about (`train.py --augment`, the robust recipe's) reads each chosen digit as
# framed and moved one pixel down, up, right and left (rows, columns), the mean of the five readings' logits its
# answer: a digit near the boundary between two classes no longer hangs on a pixel of framing, and the mean of logits
# is as sharp as one reading (the card's temperature still fits). The tutorial's network, trained on centred digits
# only, reads moved digits worse: it reads each digit once (`STILL`).
NUDGES = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
STILL = ((0, 0),)


@dataclass(frozen=True)
class DigitReading:
    """One digit read: the digit, its ten probabilities, and the 28×28 input it was read from (white on black).

    The probabilities are calibrated (the model card's temperature); `unsure` says whether the answer
    should be given as "probably `digit`, maybe `runner_up`" (`network.calibration.is_unsure`).
    """

    digit: int
    confidence: float
    probabilities: tuple[float, ...]
    input_image: np.ndarray
    runner_up: int = -1
    unsure: bool = False


@dataclass(frozen=True)
class Prediction:
    """What the network read in one image: the digits of a number, left to right (most pictures hold one)."""

    digits: tuple[DigitReading, ...]
    version: int

    @property
    def number(self) -> str:
        """The digits as a string, e.g. `"2026"`; a single digit's is one character."""
        return "".join(str(reading.digit) for reading in self.digits)

    @property
    def confidence(self) -> float:
        """How sure the whole reading is: the product of the digits' confidences."""
        return math.prod(reading.confidence for reading in self.digits)

    @property
    def digit(self) -> int | None:
        """The digit, when the picture holds exactly one."""
        return self.digits[0].digit if len(self.digits) == 1 else None


@dataclass(frozen=True)
class AccuracyReport:
    """The served weights measured on labelled images: accuracy, loss, per-digit accuracy, confusion matrix.

    `confusion[true][predicted]` counts the images of digit `true` read as `predicted`. The loss is the
    network's own (as in training); `reliability` and `ece` use the calibrated probabilities the bot reports.
    """

    version: int
    images: int
    accuracy: float
    loss: float
    per_digit_accuracy: tuple[float, ...]
    confusion: tuple[tuple[int, ...], ...]
    reliability: tuple[ReliabilityBin, ...] = ()
    ece: float = 0.0


@dataclass(frozen=True)
class ReloadResult:
    """What `reload()` did: the version serving now, the one before, and why a newer one was refused."""

    version: int
    previous: int | None
    switched: bool
    error: str | None = None


def prepare(image: bytes, limits: ImageLimits, cut_one_group: bool = False) -> Candidates | ImageError:
    """The CPU-heavy part of reading a picture: its candidate runs, framed and measured. An unexpected error is that
    image's ImageError: it must not cost other images their answers. A module-level function, so that reading workers
    can run it. `cut_one_group`: cut a picture's only stroke group no wider than tall too (`segment`)."""
    try:
        segmentation = segment(image, limits, cut_one_group)
    except ImageError as error:
        return error
    except Exception:
        log.exception("inference: unexpected error reading an image of %d bytes", len(image))
        return ImageError("that image could not be read: an unexpected error (logged for the operator)")
    return candidates(segmentation)


def is_small(data: bytes) -> bool:
    """Whether `data` is a small picture (a PNG, GIF, BMP or JPEG of at most SMALL_FILE_BYTES and SMALL_SIDE pixels a
    side), read in a few milliseconds at worst whatever it holds; only its header is read. A 28×28 PNG is small."""
    if len(data) > SMALL_FILE_BYTES:
        return False
    try:
        with Image.open(io.BytesIO(data), formats=SMALL_FORMATS) as image:
            return max(image.size) <= SMALL_SIDE
    except Exception:
        return False  # another format, or no picture: reading it says what it is


@dataclass(frozen=True)
class _Served:
    version: int
    card: ModelCard
    network: NumpyNetwork

    @property
    def nudges(self) -> tuple[tuple[int, int], ...]:
        """How the chosen digits are read (NUDGES or STILL)."""
        return NUDGES if self.card.hyperparameters.augment else STILL


class InferenceService:
    """Reads digits in images with the model store's served version; safe to share between threads.

    Creating one limits the process's BLAS to one thread: the service's forward passes are small and already
    run on `workers` threads, and BLAS threads on top of them wait for busy cores (measured under load: a
    40-digit pass's p99 52 ms with OpenBLAS's own threads, 4 ms with one).
    """

    def __init__(self, store: ModelStore, limits: ImageLimits = ImageLimits(), workers: int = 2, processes: int = 0,
                 cpu_seconds: float = PICTURE_CPU_SECONDS) -> None:
        threadpool_limits(limits=1, user_api="blas")
        self.store = store
        self.limits = limits
        self._served: _Served | None = None
        self._reload_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inference")
        # With `processes`, predict_batch_async prepares pictures in that many worker processes. Their machinery
        # (pebble, multiprocessing) loads only then: the CLI and a service without workers start smaller and sooner.
        self._pool: WorkerPool[Candidates | ImageError] | None = None
        if processes:
            from digits.pool import WorkerPool

            self._pool = WorkerPool(prepare, processes, cpu_seconds)
        self._reports: dict[tuple[int, str], AccuracyReport] = {}

    # -- the served version ---------------------------------------------------------------

    def load(self) -> int:
        """Load the served version (or the newest intact one if it is damaged); return its number.

        Raises StoreError when the store holds no usable version.
        """
        with self._reload_lock:
            model = self.store.load_served()
            self._served = self._build(model.version, model.card, model.network())
            log.info("inference: serving model version %d from %s", model.version, self.store.location)
            return model.version

    def reload(self) -> ReloadResult:
        """Switch to the store's served version if it changed; on failure keep serving the current one.

        Before anything is served this is `load()` (StoreError when the store has no usable version).
        """
        if self._served is None:
            version = self.load()
            return ReloadResult(version, None, switched=True)
        with self._reload_lock:
            current = self._served
            assert current is not None
            try:
                target = self.store.current()
                if target is None:
                    raise StoreError(f"no version is promoted in {self.store.location}")
                if target == current.version:
                    return ReloadResult(current.version, current.version, switched=False)
                model = self.store.load(target)
                served = self._build(model.version, model.card, model.network())
            except (StoreError, ValueError) as error:
                log.error("inference: still serving version %d; could not load the promoted version: %s", current.version, error)
                return ReloadResult(current.version, current.version, switched=False, error=str(error))
            self._served = served
            log.info("inference: switched from model version %d to %d", current.version, served.version)
            return ReloadResult(served.version, current.version, switched=True)

    def promote(self, version: int) -> ReloadResult:
        """Serve `version` here and in the store: it is loaded and checked once, then the store points at it.

        StoreError (the store and this service unchanged) when it cannot be loaded or promoted.
        """
        with self._reload_lock:
            model = self.store.load(version)
            try:
                served = self._build(model.version, model.card, model.network())
            except ValueError as error:
                raise StoreError(str(error)) from None
            self.store.promote(version, loaded=model)
            previous, self._served = self._served, served
        previous_version = None if previous is None else previous.version
        log.info("inference: now serving model version %d (was %s)", version, previous_version)
        return ReloadResult(version, previous_version, switched=previous_version != version)

    @staticmethod
    def _build(version: int, card: ModelCard, network: NumpyNetwork) -> _Served:
        # One forward pass before serving, as it will serve (calibrated): a network that cannot run must not
        # replace one that can.
        probabilities = network.predict(np.zeros((1, network.spec.input_dim), np.float32), card.temperature)
        if probabilities.shape != (1, network.spec.num_classes) or not np.all(np.isfinite(probabilities)):
            raise ValueError(f"version {version}: the network does not produce {network.spec.num_classes} probabilities")
        return _Served(version, card, network)

    def _current(self) -> _Served:
        served = self._served
        if served is None:
            raise RuntimeError("InferenceService used before load()")
        return served

    @property
    def version(self) -> int:
        """The version serving now."""
        return self._current().version

    @property
    def served_version(self) -> int | None:
        """The version serving now, or None before anything was loaded."""
        served = self._served
        return None if served is None else served.version

    @property
    def card(self) -> ModelCard:
        """The served version's model card (architecture, training, test figures)."""
        return self._current().card

    @property
    def network(self) -> NumpyNetwork:
        """The served version's network."""
        return self._current().network

    # -- predicting ----------------------------------------------------------------------

    def predict(self, image: bytes) -> Prediction:
        """Read the digits in one encoded image; ImageError (with a message for the user) if there are none."""
        [result] = self.predict_batch([image])
        if isinstance(result, ImageError):
            raise result
        return result

    def predict_batch(self, images: Sequence[bytes]) -> list[Prediction | ImageError]:
        """Read many images together (a forward pass to choose their digits, one to read them); each entry is a
        Prediction or the ImageError of that image.

        Each picture's ink comes cut into pieces; every run of pieces that could be a digit is read, and the
        digits are the runs that read best together (`digits.reading.splitting`).
        """
        prepared = [prepare(image, self.limits) for image in images]
        results = self._read(prepared)
        if again := worth_cutting(prepared, results):
            cut = self._read([prepare(images[i], self.limits, cut_one_group=True) for i in again])
            for i, result in zip(again, cut):
                results[i] = result
        return results

    def _read(self, prepared: Sequence[Candidates | ImageError]) -> list[Prediction | ImageError]:
        """Each prepared picture's digits: its runs chosen with one forward pass over the candidate runs of all the
        pictures that have a choice, then the chosen runs read steadily (`read_steadily`) in one more."""
        served = self._current()
        # The splitting's weights were chosen on one reading of each run, so the runs are chosen on that. A picture of
        # one piece (most pictures: one digit) has one way to be read: nothing to choose.
        choosing = [digit for p in prepared if not isinstance(p, ImageError) and len(p.runs) > 1 for digit in p.inputs]
        if choosing:
            probabilities = served.network.predict(normalize(np.stack(choosing)), served.card.temperature)
        chosen: list[list[np.ndarray] | ImageError] = []
        first = 0
        for picture in prepared:
            if isinstance(picture, ImageError) or len(picture.runs) == 1:
                chosen.append(picture if isinstance(picture, ImageError) else [picture.inputs[0]])
                continue
            runs = choose_runs(picture, probabilities[first:first + len(picture.runs)])
            first += len(picture.runs)
            chosen.append(too_many_digits(len(runs)) if len(runs) > MAX_DIGITS else [picture.inputs[i] for i in runs])
        digits = [digit for inputs in chosen if not isinstance(inputs, ImageError) for digit in inputs]
        steady = (read_steadily(served.network, np.stack(digits), served.card.temperature, served.nudges) if digits
                  else np.empty((0, 0)))
        results: list[Prediction | ImageError] = []
        first = 0
        for inputs in chosen:
            if isinstance(inputs, ImageError):
                results.append(inputs)
                continue
            read = steady[first:first + len(inputs)]
            first += len(inputs)
            results.append(Prediction(tuple(_reading(digit, p) for digit, p in zip(inputs, read)), served.version))
        return results

    async def predict_async(self, image: bytes) -> Prediction:
        """`predict` on the service's worker threads, leaving the event loop free."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.predict, image)

    async def predict_batch_async(self, images: Sequence[bytes]) -> list[Prediction | ImageError]:
        """`predict_batch`, leaving the event loop free: the pictures are prepared in the reading workers (or, without
        them, on the service's threads), and read on the service's threads (`_read`).

        Small pictures (`is_small`: a 28×28 PNG) are prepared on the service's threads all the same: the
        hop to a worker and back costs more than reading them, and they cannot come near a worker's CPU budget.
        """
        loop = asyncio.get_running_loop()
        in_pool = [self._pool is not None and not is_small(image) for image in images]
        if not any(in_pool):
            return await loop.run_in_executor(self._executor, self.predict_batch, images)
        prepared = await asyncio.gather(*(self._prepare_in_pool(image) if pooled
                                          else loop.run_in_executor(self._executor, prepare, image, self.limits)
                                          for image, pooled in zip(images, in_pool)))
        results = await loop.run_in_executor(self._executor, self._read, prepared)
        if again := worth_cutting(prepared, results):  # prepared again where they were, within the same budget
            cut = await asyncio.gather(*(self._prepare_in_pool(images[i], cut_one_group=True) if in_pool[i]
                                         else loop.run_in_executor(self._executor, prepare, images[i], self.limits, True)
                                         for i in again))
            for i, result in zip(again, await loop.run_in_executor(self._executor, self._read, cut)):
                results[i] = result
        return results

    async def _prepare_in_pool(self, image: bytes, cut_one_group: bool = False) -> Candidates | ImageError:
        from digits.pool import OverBudget

        assert self._pool is not None
        try:
            return await self._pool.run(image, self.limits, cut_one_group)
        except OverBudget:
            log.warning("inference: refused an image of %d bytes: it took more than %g s of CPU to read",
                        len(image), self._pool.cpu_seconds)
            return ImageError("that picture takes too much work to read; please send a simpler or smaller one")

    @property
    def queue_depth(self) -> int:
        """Pictures waiting for or being prepared by the reading workers."""
        return 0 if self._pool is None else self._pool.queued

    async def reload_async(self) -> ReloadResult:
        """`reload` (which reads the weights file) on the service's worker threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.reload)

    async def follow(self, interval: float = FOLLOW_INTERVAL) -> None:
        """Serve whatever the store's pointer names, forever: a promotion or rollback made by another process
        (the CLI, another bot on the same store) is served within `interval` seconds, at once from a PostgreSQL
        store (which NOTIFYs). Nothing the store does stops it: the version in memory answers meanwhile."""
        async for _ in self.store.changes(interval):
            try:
                result = await self.reload_async()
            except StoreError as error:
                log.warning("inference: the store's pointer changed, but nothing can be served yet: %s", error)
                continue
            if result.switched:
                log.info("inference: followed the store to version %d", result.version)

    async def promote_async(self, version: int) -> ReloadResult:
        """`promote` on the service's worker threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.promote, version)

    # -- measuring -----------------------------------------------------------------------

    def accuracy_report(self, images: np.ndarray, labels: np.ndarray) -> AccuracyReport:
        """Accuracy, loss, per-digit accuracy and confusion matrix of the served weights.

        `images` are raw uint8 28×28 digits (e.g. MNIST's test set), normalized as in training;
        the report is cached for each version and data set.
        """
        served = self._current()
        labels = np.asarray(labels, dtype=np.int64)
        key = (served.version, _fingerprint(images, labels))
        if key not in self._reports:
            self._reports[key] = _measure(served, images, labels)
        return self._reports[key]

    async def accuracy_report_async(self, images: np.ndarray, labels: np.ndarray) -> AccuracyReport:
        """`accuracy_report` on the service's worker threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.accuracy_report, images, labels)

    def close(self) -> None:
        """Stop the worker threads and processes (after the work already given to them)."""
        self._executor.shutdown(wait=True)
        if self._pool is not None:
            self._pool.close()


def worth_cutting(prepared: Sequence[Candidates | ImageError], results: Sequence[Prediction | ImageError]) -> list[int]:
    """The pictures to prepare again with their only stroke group cut (`prepare(..., cut_one_group=True)`): those
    whose group may be two touching digits (`Candidates.one_group`) and read less than ONE_GROUP_WHOLE sure whole.
    A sure single digit is neither cut up nor slower."""
    return [i for i, (picture, result) in enumerate(zip(prepared, results))
            if isinstance(picture, Candidates) and picture.one_group and isinstance(result, Prediction)
            and result.digits[0].confidence < ONE_GROUP_WHOLE]


def read_steadily(network: NumpyNetwork, digits: np.ndarray, temperature: float = 1.0,
                  nudges: Sequence[tuple[int, int]] = NUDGES) -> np.ndarray:
    """The probabilities (calibrated by `temperature`) of 28×28 uint8 `digits`, each read as framed and moved by each
    of `nudges` (rows down, columns right): the softmax of the mean of the readings' logits."""
    rows, columns = digits.shape[1:]
    nudged = np.zeros((len(nudges), *digits.shape), digits.dtype)
    for copy, (to, source) in zip(nudged, _nudge_slices(rows, columns, tuple(nudges))):
        copy[to] = digits[source]
    logits = network.logits(normalize(nudged.reshape(-1, rows, columns)))
    return softmax(logits.reshape(len(nudges), len(digits), -1).mean(axis=0), temperature)


@functools.lru_cache(maxsize=16)
def _nudge_slices(rows: int, columns: int, nudges: tuple[tuple[int, int], ...]
                  ) -> tuple[tuple[tuple[slice, slice, slice], tuple[slice, slice, slice]], ...]:
    """For each nudge (rows down, columns right) of a batch of rows × columns digits, where the nudged copy's pixels
    go and where they come from. (Worked out once: for one digit, working them out anew cost a fifth of
    `read_steadily`.)"""
    return tuple(((slice(None), slice(max(0, down), rows + min(0, down)), slice(max(0, right), columns + min(0, right))),
                  (slice(None), slice(max(0, -down), rows - max(0, down)), slice(max(0, -right), columns - max(0, right))))
                 for down, right in nudges)


def _reading(digit_image: np.ndarray, probabilities: np.ndarray) -> DigitReading:
    ranked = np.argsort(-probabilities, kind="stable")
    digit = int(ranked[0])
    return DigitReading(digit, float(probabilities[digit]), tuple(probabilities.tolist()), digit_image,
                        runner_up=int(ranked[1]), unsure=is_unsure(probabilities))


def _fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(images).data)
    digest.update(np.ascontiguousarray(labels).data)
    return digest.hexdigest()


def _measure(served: _Served, images: np.ndarray, labels: np.ndarray) -> AccuracyReport:
    classes = served.network.spec.num_classes
    probabilities = served.network.predict(normalize(images))
    predicted = np.argmax(probabilities, axis=1)
    chosen = np.clip(probabilities[np.arange(len(labels)), labels], _EPSILON, 1.0 - _EPSILON)
    confusion = np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)
    calibrated = served.network.predict(normalize(images), served.card.temperature)
    return AccuracyReport(
        version=served.version,
        images=len(labels),
        accuracy=float(np.mean(predicted == labels)),
        loss=float(-np.mean(np.log(chosen))),
        per_digit_accuracy=tuple(per_digit_accuracy(predicted, labels, classes)),
        confusion=tuple(tuple(int(count) for count in row) for row in confusion),
        reliability=tuple(reliability(calibrated, labels)),
        ece=expected_calibration_error(calibrated, labels),
    )
