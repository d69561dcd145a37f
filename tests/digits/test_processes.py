"""Children the project starts (trainers, bots) end when asked: SIGINT reaches them even where this process ignores it."""

from __future__ import annotations

import signal
import subprocess
import sys

from digits.processes import ending_with_this_process

WAITS_FOR_SIGINT = "import sys, time; print('ready', flush=True); time.sleep(60)"


def test_a_child_stops_on_sigint_even_when_its_parent_ignores_it() -> None:
    """A shell runs a background job (`make test &`, `nohup make run &`) with SIGINT ignored, and a child inherits that
    across exec: a trainer would then outlive the bot's cancel (SIGINT) until SIGKILL, its staging folder left behind."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child = subprocess.Popen([sys.executable, "-c", WAITS_FOR_SIGINT], stdout=subprocess.PIPE, text=True,
                                 preexec_fn=ending_with_this_process())
    finally:
        signal.signal(signal.SIGINT, before)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=10) == -signal.SIGINT  # Python's KeyboardInterrupt, as in a terminal
    finally:
        child.kill()
        child.wait()
