"""Whether a process runs: for the files other processes leave under ``ISOCELL_HOME``."""

from __future__ import annotations

import os

__all__ = ["process_alive", "process_exists"]


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user's counts: it may not be signalled,
    but it runs; so does a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_exists(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie, ended but not yet reaped by its parent, does not
    (read from ``/proc``; where there is none, :func:`process_alive`)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            state = stream.read().rsplit(b")", 1)[1].split()[0]
    except FileNotFoundError:
        return not os.path.isdir("/proc") and process_alive(pid)
    except (OSError, IndexError):
        return False
    return state != b"Z"
