"""Child processes that end with the process that started them, even when it is killed (`kill -9`).

Linux's PR_SET_PDEATHSIG (prctl(2)) has the kernel send the child a signal when its parent dies, so that a killed
`make run` or bot leaves no trainer, bot or playground behind (holding a port, or saving a model nobody promotes).
A child also hears SIGINT, which its parent sends to stop it, even when started from a background job.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
SIG_DFL = 0  # signal(2)'s default action
# Loaded here, in the parent: the child only calls it, between fork and exec.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def ending_with_this_process(signum: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` (subprocess, asyncio) after which the child gets `signum` when this process dies, and SIGINT
    acts on it as by default even where this process ignores it; None where the system has no such thing.

    The kernel ties the signal to the thread that starts the child: start children from a thread that lives as long
    as the process (the main thread, or the event loop's).
    """
    if _LIBC is None:
        return None
    libc, parent = _LIBC, os.getpid()

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, int(signum))
        # A shell starts a background job (`nohup make run &`) with SIGINT ignored, which exec keeps: the child
        # gets the default back, so that the SIGINT that stops it (a retrain's cancel, the launcher) is heard.
        libc.signal(int(signal.SIGINT), SIG_DFL)
        if os.getppid() != parent:  # the parent died before the child could ask: nobody would send the signal
            os._exit(1)

    return preexec


async def end_process(process: asyncio.subprocess.Process, signum: int, timeout: float) -> None:
    """Send `signum`, then SIGKILL if the process has not exited within `timeout` seconds; return once it has."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signum)
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
