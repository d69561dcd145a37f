"""Retraining in a `train.py --json --no-promote` subprocess: progress, result, cancellation.

TensorFlow only ever runs in that subprocess; the bot reads its JSON lines. Whether the new
version is served is the bot's decision (`promotion_verdict`), not train.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from model_store.options import TrainingOptions
from model_store.reporting import EpochProgress

log = logging.getLogger(__name__)

TRAIN_SCRIPT = Path(__file__).resolve().parent.parent / "train.py"
# Training yields the CPU to the bot: replies stay fast while a retrain runs on 2 cores.
TRAINER_NICENESS = 10
# After SIGINT, train.py unwinds (removing any half-staged version) before it is killed.
GRACE_SECONDS = 5.0


class RetrainError(RuntimeError):
    """The trainer failed, crashed or was cancelled; the message says which, in one line."""


class RetrainCancelled(RetrainError):
    """The run was cancelled (by an admin or by shutdown) before it finished."""


@dataclass(frozen=True)
class Progress(EpochProgress):
    """One `progress` event of train.py: where training is, and its timing."""

    elapsed_seconds: float
    eta_seconds: float


@dataclass(frozen=True)
class RetrainResult:
    """train.py's `done` event: the new, not yet promoted version."""

    version: int
    test_accuracy: float
    test_loss: float
    fit_seconds: float


@dataclass(frozen=True)
class Verdict:
    """Whether a new version should be served, and why, in words for the chat."""

    promote: bool
    reason: str


def promotion_verdict(new_accuracy: float, served_accuracy: float | None, floor_points: float) -> Verdict:
    """Promote when the new accuracy is at most `floor_points` percentage points below the served one."""
    if served_accuracy is None:
        return Verdict(True, "no model was being served")
    floor = served_accuracy - floor_points / 100
    comparison = f"{new_accuracy:.2%} vs {served_accuracy:.2%} served; the floor is {floor:.2%}"
    if new_accuracy >= floor:
        return Verdict(True, f"its accuracy clears the floor ({comparison})")
    return Verdict(False, f"its accuracy is below the floor ({comparison})")


class RetrainJob:
    """One run of train.py; `run()` drives it to the end, `cancel()` stops it from anywhere."""

    def __init__(self, options: TrainingOptions, store: Path, requested_by: str,
                 train_limit: int | None = None, mnist_dir: Path | None = None) -> None:
        self.options = options
        self.requested_by = requested_by
        self.progress: Progress | None = None
        self.progressed = asyncio.Event()  # set on each progress event; the watcher clears it
        self._argv = [sys.executable, str(TRAIN_SCRIPT), "--json", "--no-promote", "--store", str(store), *options.to_argv()]
        if train_limit is not None:
            self._argv += ["--train-limit", str(train_limit)]
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if mnist_dir is not None:
            self._env["MNIST_DIR"] = str(mnist_dir)
        self._process: asyncio.subprocess.Process | None = None
        self._cancelled = False
        self._stderr_tail: deque[str] = deque(maxlen=20)

    async def run(self) -> RetrainResult:
        """Train to the end and return the saved version; RetrainError (or RetrainCancelled) otherwise."""
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
            done, error = await self._read_events()
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
        if error is not None:
            raise RetrainError(f"train.py failed: {error}")
        detail = self._stderr_tail[-1] if self._stderr_tail else "no output"
        raise RetrainError(f"train.py exited with code {code} ({detail})")

    async def cancel(self) -> bool:
        """Stop the trainer (SIGINT, then SIGKILL after a grace period) and wait for it; False if it had finished."""
        process = self._process
        if process is not None and process.returncode is not None:
            return False
        self._cancelled = True
        if process is None:
            return True  # run() stops it as soon as it has started
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

    async def _read_events(self) -> tuple[RetrainResult | None, str | None]:
        assert self._process is not None and self._process.stdout is not None
        done: RetrainResult | None = None
        error: str | None = None
        async for raw in self._process.stdout:
            try:
                event = json.loads(raw)
                kind = event["event"]
                if kind == "progress":
                    self.progress = Progress(**{name: event[name] for name in Progress.__dataclass_fields__})
                    self.progressed.set()
                elif kind == "warning":
                    log.warning("train.py: %s", event["message"])
                elif kind == "error":
                    error = str(event["message"])
                elif kind == "done":
                    done = RetrainResult(int(event["version"]), float(event["test_accuracy"]),
                                         float(event["test_loss"]), float(event["fit_seconds"]))
            except (ValueError, KeyError, TypeError):
                log.debug("train.py printed a line that is not one of its events: %r", raw[:200])
        return done, error

    async def _drain_stderr(self) -> None:
        # TensorFlow writes plenty to stderr; an unread pipe would stall the trainer once full.
        assert self._process is not None and self._process.stderr is not None
        async for raw in self._process.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self._stderr_tail.append(line)
