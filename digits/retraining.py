"""Retraining while serving: train.py in a subprocess, then the promotion decision and the hot swap.

TensorFlow only ever runs in the `train.py --json --no-promote` subprocess; this side reads its
records (`digits.records`). Whether the new version is served is decided here (`promotion_verdict`),
not by train.py. Nothing here knows Discord: a test drives a `RetrainJob` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from digits.community import CommunityError, accepted_examples
from digits.inference import InferenceService
from digits.options import TrainingOptions
from digits.records import Done, Failure, Notice, Progress, RecordError, read_record
from model_store import StoreError
from network.architecture import NumpyNetwork, normalize

log = logging.getLogger(__name__)

TRAIN_SCRIPT = Path(__file__).resolve().parent.parent / "train.py"
# Training yields the CPU to the bot: replies stay fast while a retrain runs on 2 cores.
TRAINER_NICENESS = 10
# After SIGINT, train.py unwinds (removing any half-staged version) before it is killed.
GRACE_SECONDS = 5.0
# What the trainer inherits from the bot's environment: enough to run Python and find MNIST, never the bot's token.
TRAINER_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "XDG_CACHE_HOME",
                       "MNIST_DIR", "TF_CPP_MIN_LOG_LEVEL")


class RetrainError(RuntimeError):
    """The trainer failed, crashed or was cancelled; the message says which, in one line."""


class RetrainCancelled(RetrainError):
    """The run was cancelled (by an admin or by shutdown) before it finished."""


@dataclass(frozen=True)
class Verdict:
    """Whether a new version should be served, and why, in words for the chat."""

    promote: bool
    reason: str


@dataclass(frozen=True)
class CommunityComparison:
    """The new and the served version read the same community test set (`images` corrections)."""

    new_accuracy: float
    served_accuracy: float
    images: int


def promotion_verdict(new_accuracy: float, served_accuracy: float | None, floor_points: float,
                      community: CommunityComparison | None = None) -> Verdict:
    """Promote when the new MNIST accuracy is at most `floor_points` percentage points below the served one
    and, when there is a community test set, the new version reads it at least as well as the served one."""
    if served_accuracy is None:
        return Verdict(True, "no model was being served")
    floor = served_accuracy - floor_points / 100
    comparison = f"{new_accuracy:.2%} vs {served_accuracy:.2%} served; the floor is {floor:.2%}"
    if new_accuracy < floor:
        return Verdict(False, f"its accuracy is below the floor ({comparison})")
    if community is None:
        return Verdict(True, f"its accuracy clears the floor ({comparison})")
    on_community = (f"{community.new_accuracy:.2%} vs {community.served_accuracy:.2%} served "
                    f"on the community test set of {community.images}")
    if community.new_accuracy < community.served_accuracy:
        return Verdict(False, f"it reads the community test set worse ({on_community})")
    return Verdict(True, f"its accuracy clears the floor ({comparison}) and it reads the community test set "
                         f"at least as well ({on_community})")


def compare_on_community(database: Path, new: NumpyNetwork, served: NumpyNetwork) -> CommunityComparison | None:
    """Both versions on the database's community test set as it is now; None without one (or without a database)."""
    try:
        data = accepted_examples(database)
    except CommunityError as error:
        log.info("no community comparison: %s", error)
        return None
    if not len(data.test_labels):
        return None
    inputs = normalize(data.test_images)

    def accuracy(network: NumpyNetwork) -> float:
        return float(np.mean(np.argmax(network.logits(inputs), axis=1) == data.test_labels))

    return CommunityComparison(accuracy(new), accuracy(served), len(data.test_labels))


class Status(enum.Enum):
    """How a retrain ended."""

    SERVING = "serving"  # trained, promoted and hot-swapped
    NOT_SERVED = "not served"  # trained and saved, but the served version stays (below the floor, or it failed to load)
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """The end of a retrain, in words for people: a title and a few lines."""

    status: Status
    title: str
    description: str


def trainer_environment(environ: Mapping[str, str], mnist_dir: Path | None) -> dict[str, str]:
    """The trainer's environment: what it needs from `environ`, and nothing else (no tokens)."""
    env = {name: environ[name] for name in TRAINER_ENVIRONMENT if name in environ}
    env["PYTHONUNBUFFERED"] = "1"
    if mnist_dir is not None:
        env["MNIST_DIR"] = str(mnist_dir)
    return env


class RetrainJob:
    """One retrain: `run()` trains, decides and hot-swaps; `cancel()` stops it from anywhere."""

    def __init__(self, options: TrainingOptions, inference: InferenceService, requested_by: str, *,
                 floor_points: float, train_limit: int | None = None, mnist_dir: Path | None = None,
                 database: Path | None = None) -> None:
        # The bot's corrections are trained on by default, once its database exists; `community=` picks another.
        if options.community is None and database is not None and database.is_file():
            options = replace(options, community=database)
        self.options = options
        self.inference = inference
        self.requested_by = requested_by
        self.floor_points = floor_points
        self.progress: Progress | None = None
        self.progressed = asyncio.Event()  # set on each progress record; the watcher clears it
        self._argv = [sys.executable, str(TRAIN_SCRIPT), "--json", "--no-promote",
                      "--store", str(inference.store.root), *options.to_argv()]
        if train_limit is not None:
            self._argv += ["--train-limit", str(train_limit)]
        self._env = trainer_environment(os.environ, mnist_dir)
        self._process: asyncio.subprocess.Process | None = None
        self._cancelled = False
        self._stderr_tail: deque[str] = deque(maxlen=20)

    async def run(self) -> Outcome:
        """Train, then serve the new version if it clears the floor; the outcome says what happened."""
        served = self.inference.served_version
        try:
            done = await self.train()
        except RetrainCancelled:
            return Outcome(Status.CANCELLED, "Retrain cancelled", f"Nothing was saved; version {served} keeps serving.")
        except RetrainError as error:
            log.error("retrain by %s failed: %s", self.requested_by, error)
            return Outcome(Status.FAILED, "Retrain failed", f"{error}\nVersion {served} keeps serving.")
        return await self.conclude(done)

    async def conclude(self, done: Done) -> Outcome:
        """Promote and hot-swap the trained version if it clears the floor."""
        served = self.inference.served_version
        served_accuracy = self.inference.card.test_accuracy if served is not None else None
        community = None
        if served is not None and self.options.community is not None:
            community = await asyncio.to_thread(self._compare_on_community, done.version)
        verdict = promotion_verdict(done.test_accuracy, served_accuracy, self.floor_points, community)
        summary = (f"Version {done.version}: test accuracy **{done.test_accuracy:.2%}**, loss {done.test_loss:.4f}, "
                   f"trained in {done.fit_seconds:.0f} s.")
        not_served = f"Retrained: version {done.version} saved, not served"
        if not verdict.promote:
            return Outcome(Status.NOT_SERVED, not_served,
                           f"{summary}\nNot promoted because {verdict.reason}. Version {served} keeps serving.")
        try:
            result = await self.inference.promote_async(done.version)
        except StoreError as error:
            log.error("could not promote version %d: %s", done.version, error)
            return Outcome(Status.NOT_SERVED, not_served,
                           f"{summary}\nPromoting it failed: {error}. Version {served} keeps serving.")
        return Outcome(Status.SERVING, f"Retrained: version {result.version} is now serving",
                       f"{summary}\nPromoted because {verdict.reason}.")

    def _compare_on_community(self, version: int) -> CommunityComparison | None:
        assert self.options.community is not None
        try:
            new = self.inference.store.load(version).network()
        except StoreError as error:
            log.error("could not load version %d to read the community test set: %s", version, error)
            return None
        return compare_on_community(self.options.community, new, self.inference.network)

    async def train(self) -> Done:
        """Run train.py to the end and return its summary; RetrainError (or RetrainCancelled) otherwise."""
        log.info("retrain by %s: %s", self.requested_by, " ".join(self._argv[1:]))
        self._process = await asyncio.create_subprocess_exec(
            *self._argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=self._env,
            start_new_session=True,  # a Ctrl-C in the bot's terminal is the bot's to handle, not the trainer's
        )
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self._process.pid, TRAINER_NICENESS)
        if self._cancelled:  # cancelled while the process was being started
            await self.cancel()
        try:
            stderr_reader = asyncio.create_task(self._drain_stderr())
            done, failure = await self._read_records()
            await stderr_reader
            code = await self._process.wait()
        except BaseException:
            await self.cancel()
            raise
        if done is not None and code == 0:
            log.info("retrain by %s: saved version %d, test accuracy %.4f", self.requested_by, done.version, done.test_accuracy)
            return done
        if self._cancelled:
            raise RetrainCancelled("the retrain was cancelled; the served model is unchanged")
        if failure is not None:
            raise RetrainError(f"train.py failed: {failure.message}")
        detail = self._stderr_tail[-1] if self._stderr_tail else "no output"
        raise RetrainError(f"train.py exited with code {code} ({detail})")

    async def cancel(self) -> bool:
        """Stop the trainer (SIGINT, then SIGKILL after a grace period) and wait for it; False if it had finished."""
        process = self._process
        if process is not None and process.returncode is not None:
            return False
        self._cancelled = True
        if process is None:
            return True  # train() stops it as soon as it has started
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), GRACE_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        log.info("retrain by %s: trainer stopped", self.requested_by)
        return True

    async def _read_records(self) -> tuple[Done | None, Failure | None]:
        assert self._process is not None and self._process.stdout is not None
        done: Done | None = None
        failure: Failure | None = None
        async for raw in self._process.stdout:
            try:
                record = read_record(raw)
            except RecordError as error:
                log.debug("train.py printed a line that is not one of its records (%s)", error)
                continue
            match record:
                case Progress():
                    self.progress = record
                    self.progressed.set()
                case Notice():
                    log.warning("train.py: %s", record.message)
                case Failure():
                    failure = record
                case Done():
                    done = record
        return done, failure

    async def _drain_stderr(self) -> None:
        # TensorFlow writes plenty to stderr; an unread pipe would stall the trainer once full.
        assert self._process is not None and self._process.stderr is not None
        async for raw in self._process.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self._stderr_tail.append(line)
