"""Retraining while serving: train.py in a subprocess, then the promotion decision and the hot swap.

TensorFlow only ever runs in the `train.py --json --no-promote` subprocess; this side hands it the options as one
record (`TrainingOptions.to_record`) and reads its records (`digits.records`), whose summary carries the test and
community figures the decision needs. Whether the new version is served is decided here (`decide_promotion`), not
by train.py. The outcome is data: the bot words it (`bot.embeds`). Nothing here knows Discord: a test drives a
`RetrainJob` directly.
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

from digits.inference import InferenceService
from digits.options import TrainingOptions
from digits.processes import end_process, ending_with_this_process
from digits.records import Done, Failure, Notice, Progress, RecordError, read_record
from model_store import StoreError, is_database_url, password_of, redact

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
class CommunityComparison:
    """The new and the served version read the same community test set (`images` corrections)."""

    new_accuracy: float
    served_accuracy: float
    images: int


class Reason(enum.Enum):
    """Why a new version is served, or not."""

    NOTHING_SERVED = "no model was being served"
    CLEARS_FLOOR = "its accuracy clears the floor"
    BELOW_FLOOR = "its accuracy is below the floor"
    READS_COMMUNITY_WORSE = "it reads the community test set worse"


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a new version should be served, why, and the figures it was decided on."""

    promote: bool
    reason: Reason
    new_accuracy: float
    served_accuracy: float | None
    floor: float | None  # the lowest MNIST accuracy that is served (None when nothing was served)
    community: CommunityComparison | None = None


def decide_promotion(new_accuracy: float, served_accuracy: float | None, floor_points: float,
                     community: CommunityComparison | None = None) -> PromotionDecision:
    """Promote when the new MNIST accuracy is at most `floor_points` percentage points below the served one
    and, when there is a community test set, the new version reads it at least as well as the served one."""
    if served_accuracy is None:
        return PromotionDecision(True, Reason.NOTHING_SERVED, new_accuracy, None, None)
    floor = served_accuracy - floor_points / 100
    if new_accuracy < floor:
        return PromotionDecision(False, Reason.BELOW_FLOOR, new_accuracy, served_accuracy, floor)
    if community is not None and community.new_accuracy < community.served_accuracy:
        return PromotionDecision(False, Reason.READS_COMMUNITY_WORSE, new_accuracy, served_accuracy, floor, community)
    return PromotionDecision(True, Reason.CLEARS_FLOOR, new_accuracy, served_accuracy, floor, community)


class Status(enum.Enum):
    """How a retrain ended."""

    SERVING = "serving"  # trained, promoted and hot-swapped
    NOT_SERVED = "not served"  # trained and saved, but the served version stays (below the floor, or it failed to load)
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class RetrainOutcome:
    """How a retrain ended, as data for whoever words it: the version serving at the end, the trained version's
    summary (None when nothing was saved), the promotion decision (None when there was none) and what failed."""

    status: Status
    serving: int | None
    done: Done | None = None
    decision: PromotionDecision | None = None
    error: str | None = None


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
                 database: Path | str | None = None) -> None:
        # The bot's corrections are trained on by default, once its database exists; `community=` picks another.
        if options.community is None and database is not None and (is_database_url(database) or Path(database).is_file()):
            options = replace(options, community=database)
        # A database URL's password goes to the trainer's environment, never into its command line or the status.
        password = password_of(options.community) if isinstance(options.community, str) else None
        if isinstance(options.community, str):
            options = replace(options, community=redact(options.community))
        self.options = options
        self.inference = inference
        self.requested_by = requested_by
        self.floor_points = floor_points
        self.progress: Progress | None = None
        self.progressed = asyncio.Event()  # set on each progress record; the watcher clears it
        store_flags, store_env = inference.store.handover()
        self._argv = [sys.executable, str(TRAIN_SCRIPT), "--json", "--no-promote", *store_flags,
                      "--requested-by", requested_by, "--options", options.to_record()]
        if train_limit is not None:
            self._argv += ["--train-limit", str(train_limit)]
        self._env = {**trainer_environment(os.environ, mnist_dir), **store_env}
        if password is not None:
            self._env["PGPASSWORD"] = password
        self._process: asyncio.subprocess.Process | None = None
        self._cancelled = False
        self._stderr_tail: deque[str] = deque(maxlen=20)

    async def run(self) -> RetrainOutcome:
        """Train, then serve the new version if it clears the floor; the outcome says what happened."""
        try:
            done = await self.train()
        except RetrainCancelled:
            return RetrainOutcome(Status.CANCELLED, self.inference.served_version)
        except RetrainError as error:
            log.error("retrain by %s failed: %s", self.requested_by, error)
            return RetrainOutcome(Status.FAILED, self.inference.served_version, error=str(error))
        return await self.conclude(done)

    async def conclude(self, done: Done) -> RetrainOutcome:
        """Promote and hot-swap the trained version if it clears the floor (and reads the community test set at
        least as well as the served version, by the trainer's figures for both)."""
        served = self.inference.served_version
        served_accuracy = self.inference.card.test_accuracy if served is not None else None
        community = None
        if done.community_test_accuracy is not None and done.compared_community_test_accuracy is not None:
            if done.compared_version == served:
                community = CommunityComparison(done.community_test_accuracy, done.compared_community_test_accuracy,
                                                done.community_test_images)
            else:  # a promotion elsewhere while training: the trainer compared with another version
                log.warning("retrain by %s: the trainer compared with version %s, version %s is served now; "
                            "deciding on MNIST alone", self.requested_by, done.compared_version, served)
        decision = decide_promotion(done.test_accuracy, served_accuracy, self.floor_points, community)
        if not decision.promote:
            return RetrainOutcome(Status.NOT_SERVED, served, done, decision)
        try:
            await self.inference.promote_async(done.version)
            # What is announced is what the store serves now, read back (another process may have switched it).
            serving = await asyncio.to_thread(self.inference.store.current)
        except StoreError as error:
            log.error("could not promote version %d: %s", done.version, error)
            return RetrainOutcome(Status.NOT_SERVED, self.inference.served_version, done, decision, error=str(error))
        if serving != done.version:
            log.warning("retrain by %s: version %d was promoted, but the store serves version %s now",
                        self.requested_by, done.version, serving)
            await self.inference.reload_async()  # this process too serves what the store does, at once
            return RetrainOutcome(Status.NOT_SERVED, serving, done, decision,
                                  error=f"another process switched the store to version {serving} meanwhile")
        return RetrainOutcome(Status.SERVING, serving, done, decision)

    async def train(self) -> Done:
        """Run train.py to the end and return its summary; RetrainError (or RetrainCancelled) otherwise."""
        log.info("retrain by %s: %s", self.requested_by, " ".join(self._argv[1:]))
        self._process = await asyncio.create_subprocess_exec(
            *self._argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=self._env,
            start_new_session=True,  # a Ctrl-C in the bot's terminal is the bot's to handle, not the trainer's
            preexec_fn=ending_with_this_process(),  # and a killed bot leaves no trainer saving versions nobody decides on
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
        await end_process(process, signal.SIGINT, GRACE_SECONDS)
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
