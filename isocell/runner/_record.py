"""The public record of one child kernel: what ``%isocell kernels``, the REST API and the
sidebar show of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["KernelRecord", "resident_bytes"]


@dataclass(frozen=True)
class KernelRecord:
    """One running (or dead, not yet noticed) child kernel, as listings show it.

    Attributes
    ----------
    environment : str
        The environment's label (its name, or its Python and requirements).
    name : str or None
        The environment's registered name, if any.
    key : str
        The environment's key (its content address, or its interpreter's for one used as is).
    interpreter : str
        The child's Python executable.
    python_version : str
        Its version (``"3.9.18"``), as the child's agent reported it.
    pid : int or None
        The child's process id.
    started : float
        When it started, seconds since the epoch.
    cells_run : int
        Cells it has run.
    memory_bytes : int or None
        Its resident memory (``VmRSS`` of ``/proc/PID/status``), None where unknown.
    alive : bool
        Whether its process is running.
    """

    environment: str
    name: str | None
    key: str
    interpreter: str
    python_version: str
    pid: int | None
    started: float
    cells_run: int
    memory_bytes: int | None
    alive: bool

    @property
    def label(self) -> str:
        """``label (pid N, Python X)``, as ``%isocell kernels`` prints it."""
        return f"{self.environment} (pid {self.pid}, Python {self.python_version})"


def resident_bytes(pid: int | None) -> int | None:
    """The resident memory of process ``pid`` in bytes (``VmRSS`` of ``/proc/PID/status``);
    None where unknown."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None
