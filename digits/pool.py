"""Worker processes for CPU-bound work on pictures, on every core, one picture at a time each, under a CPU budget.

Reading a picture is pure Python and NumPy under the GIL: threads of one process share one core. A `WorkerPool`
runs a job in `workers` processes (pebble's ProcessPool, started by a fork server, so a worker is a cheap fork of a
process that has imported the job's module once) and awaits it without blocking the event loop. Each job gets a
CPU budget: past it the kernel ends the worker (RLIMIT_CPU), pebble starts a new one, and only that job fails
(`OverBudget`); the other pictures are read as usual.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import resource
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, TypeVar

from pebble import ProcessExpired, ProcessPool

T = TypeVar("T")

# A job that runs this many times its CPU budget on the wall clock is stuck (not computing): its worker is ended too.
WALL_CLOCK_FACTOR = 20.0
# Workers yield to the process that owns the event loop (and answers commands) when the cores are busy.
WORKER_NICENESS = 5


class OverBudget(Exception):
    """A job used up its CPU budget (or hung), and its worker was ended."""


def _start_worker() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a worker ended for its budget leaves no core file
    os.nice(WORKER_NICENESS)


def _within_budget(cpu_seconds: float, job: Callable[..., Any], *args: Any) -> Any:
    """Run `job(*args)` in a worker; the kernel ends the worker (SIGXCPU) once the job has used `cpu_seconds` of CPU.

    RLIMIT_CPU counts the process's CPU in whole seconds: the budget runs from now to the next whole second past it.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    try:
        return job(*args)
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


class WorkerPool(Generic[T]):
    """`await pool.run(*args)` runs `job(*args)` in one of `workers` processes; `job` must be a module-level function
    (the workers import its module, which the fork server imports once at start)."""

    def __init__(self, job: Callable[..., T], workers: int, cpu_seconds: float) -> None:
        if workers < 1 or cpu_seconds <= 0:
            raise ValueError(f"a pool needs at least one worker and a positive budget, got {workers} and {cpu_seconds}")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([job.__module__])
        self.job = job
        self.workers = workers
        self.cpu_seconds = cpu_seconds
        self._pool = ProcessPool(max_workers=workers, initializer=_start_worker, context=context)
        self.queued = 0  # jobs given to the pool and not yet finished

    async def run(self, *args: Any) -> T:
        """The job's result; OverBudget if it used up its CPU budget (its worker ended, a new one started)."""
        future = self._pool.schedule(_within_budget, args=(self.cpu_seconds, self.job, *args),
                                     timeout=self.cpu_seconds * WALL_CLOCK_FACTOR)
        self.queued += 1
        try:
            result: T = await asyncio.wrap_future(future)
            return result
        except (ProcessExpired, FutureTimeout) as error:
            raise OverBudget(str(error)) from None
        finally:
            self.queued -= 1

    def close(self) -> None:
        """Stop the workers (after the jobs already given to them)."""
        self._pool.close()
        self._pool.join()
