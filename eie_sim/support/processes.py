"""Worker processes that end with the process that started them, even when it is killed outright.

A parent killed by SIGKILL (`kill -9`, the OOM killer) has no chance to stop its workers, and they would run on,
unowned, for as long as their work lasts or forever. On Linux the kernel is asked to send a worker SIGTERM when its
parent dies (prctl PR_SET_PDEATHSIG); elsewhere a thread in the worker notices that its parent changed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_SECONDS = 0.2  # how often the portable watch looks at the parent


def end_with_parent(parent: int) -> None:
    """In a worker started by process `parent`: receive SIGTERM when the parent dies.

    The kernel's notice follows the thread that started the worker, so start workers from a thread that lives as long
    as they are needed (a pool's submit() in the thread that waits for the results does).
    """
    if not _kernel_notice(signal.SIGTERM):
        watch_parent(parent)
    if not alive(parent):  # it died before the notice was arranged
        os.kill(os.getpid(), signal.SIGTERM)


def watch_parent(parent: int) -> None:
    """Start a thread that sends this process SIGTERM once its parent, process `parent`, is gone (the portable way,
    by polling). The parent's pid comes from the parent itself: read here, it could already be the reaper's."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _kernel_notice(signum: int) -> bool:
    """Ask Linux to send `signum` when the parent dies; False where that cannot be asked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum) == 0
    except (OSError, AttributeError):
        return False


def alive(pid: int) -> bool:
    """Whether process `pid` still runs. A zombie (dead, not yet reaped by its own parent) counts as dead: a
    parent killed just before its worker arranged the notice is one until whoever started it waits for it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: the signal test is all there is
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # the state follows the parenthesized command name
