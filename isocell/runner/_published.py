"""The pools' records, published for other processes: the Jupyter server's REST API and the
JupyterLab sidebar list every notebook's child kernels from here.

Layout::

    $ISOCELL_HOME/kernels/<pid>.json    the records of the pool in notebook kernel <pid>

A pool writes its file whenever its kernels change or one runs a cell (a new file, then an
atomic rename, so a reader never sees half of one), and removes it when its last child stops.
A notebook kernel killed outright leaves its file behind: readers skip (and remove) the file
of a process that no longer exists, first ending what its children's cells started and left
running (:func:`end_orphans`), and list only children whose process still runs the
interpreter the record names (a pid reused by another program is not taken for the child).

The files are JSON, never unpickled or executed; a file over :data:`MAX_BYTES` or of another
shape is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from isocell.envs import private_home, process_alive, process_exists
from isocell.runner._record import KernelRecord, resident_bytes

__all__ = [
    "MAX_BYTES",
    "PublishedKernel",
    "end_orphans",
    "kernels_folder",
    "publish",
    "published_kernels",
    "stop_published",
]

#: Larger files are not read: a pool of a hundred kernels writes about 50 kB.
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class PublishedKernel:
    """A child kernel of some notebook kernel on this machine, as the sidebar lists it.

    Attributes
    ----------
    record : KernelRecord
        The child's record; its ``memory_bytes`` and ``alive`` are read anew when listed.
    owner_pid : int
        The process id of the notebook kernel whose pool holds the child.
    notebook : str or None
        That notebook's path, as its kernel was told (``JPY_SESSION_NAME``), if known.
    """

    record: KernelRecord
    owner_pid: int
    notebook: str | None

    def to_json(self) -> dict[str, Any]:
        """The record's fields, plus ``owner_pid`` and ``notebook``."""
        return {**asdict(self.record), "owner_pid": self.owner_pid, "notebook": self.notebook}


def kernels_folder(home: Path) -> Path:
    """Where the pools of ``home`` (an ``ISOCELL_HOME``) publish their records."""
    return home / "kernels"


def publish(home: Path, records: Iterable[KernelRecord]) -> None:
    """Write this process's records under ``home``, or remove its file when there are none.

    Never raises for a folder it cannot write: listings are a convenience, the cell's run is
    not.
    """
    folder = kernels_folder(home)
    target = folder / f"{os.getpid()}.json"
    payload = [asdict(record) for record in records]
    try:
        if not payload:
            target.unlink(missing_ok=True)
            return
        private_home(home)
        folder.mkdir(mode=0o700, exist_ok=True)
        document = {"notebook": os.environ.get("JPY_SESSION_NAME") or None, "kernels": payload}
        handle, temporary = tempfile.mkstemp(prefix=".publish-", suffix=".json", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(document, stream)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError:
        return


def published_kernels(home: Path) -> list[PublishedKernel]:
    """Every live child kernel that a pool of ``home`` published, oldest first.

    Returns
    -------
    list of PublishedKernel
        Those whose process runs now, with memory read now from ``/proc``.
    """
    found: list[PublishedKernel] = []
    for owner, path in end_orphans(home):
        document = _read(path)
        if document is None:
            continue
        notebook = document.get("notebook")
        for record in _records(document.get("kernels")):
            if record.pid is not None and _runs(record.pid, record.interpreter):
                current = replace(record, memory_bytes=resident_bytes(record.pid), alive=True)
                found.append(
                    PublishedKernel(current, owner, notebook if isinstance(notebook, str) else None)
                )
    found.sort(key=lambda kernel: kernel.record.started)
    return found


def stop_published(kernel: PublishedKernel, grace: float = 5.0) -> None:
    """End a child kernel another process's pool holds (the sidebar's Stop): ``SIGTERM``,
    ``SIGKILL`` after ``grace`` seconds, then what its cells left running in its session.
    Its pool finds it ended and starts a fresh one for the next cell that needs it; a cell
    running in it now fails as when the child dies (:class:`~isocell.errors.ChildDiedError`).
    What the child kept (figures) is lost, as with a child that dies.

    ``kernel`` must come from :func:`published_kernels` just now: its process was checked to
    run the record's interpreter, so no other program is signalled.
    """
    pid = kernel.record.pid
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if process_exists(pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for member in _session_members(pid):
        with contextlib.suppress(OSError):
            os.kill(member, signal.SIGKILL)


def end_orphans(home: Path) -> list[tuple[int, Path]]:
    """End what the children of dead notebook kernels left running, and forget those kernels;
    returns the files of the notebook kernels that still run, with their pids.

    A child kernel leads its own session; the processes its cells start are in it. When the
    notebook kernel is killed, the child exits (ipykernel watches its parent) but those
    processes would run on. A new notebook kernel, and each listing, ends them.
    """
    live: list[tuple[int, Path]] = []
    try:
        entries = list(os.scandir(kernels_folder(home)))
    except OSError:
        return live
    for entry in entries:
        owner = entry.name.removesuffix(".json")
        if not owner.isdigit() or entry.name == owner:
            continue
        if process_exists(int(owner)):
            live.append((int(owner), Path(entry.path)))
        else:
            _end_leftovers(Path(entry.path))
    return live


def _end_leftovers(path: Path) -> None:
    """Kill the processes left in the sessions of the dead children ``path`` lists, then
    remove ``path``. A session's id is not reused while it has members, and its leader (the
    child) is gone: whatever is left in it was started by the child's cells."""
    document = _read(path) or {}
    for record in _records(document.get("kernels")):
        if record.pid is not None and not process_exists(record.pid):
            for member in _session_members(record.pid):
                with contextlib.suppress(OSError):
                    os.kill(member, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.unlink(path)


def _session_members(session: int) -> list[int]:
    """This user's live processes in ``session`` (from ``/proc``; none where it is absent)."""
    members: list[int] = []
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return members
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stream:
                fields = stream.read().rsplit(b")", 1)[1].split()
            owner = os.stat(f"/proc/{pid}").st_uid
        except (OSError, IndexError):
            continue
        if fields[0] != b"Z" and int(fields[3]) == session and owner == os.getuid():
            members.append(int(pid))
    return members


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_BYTES:
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


_TYPES: dict[str, tuple[type, ...]] = {
    "environment": (str,),
    "name": (str, type(None)),
    "key": (str,),
    "interpreter": (str,),
    "python_version": (str,),
    "pid": (int, type(None)),
    "started": (int, float),
    "cells_run": (int,),
    "memory_bytes": (int, type(None)),
    "alive": (bool,),
}


def _records(rows: Any) -> list[KernelRecord]:
    if not isinstance(rows, list):
        return []
    names = [field.name for field in fields(KernelRecord)]
    records = []
    for row in rows:
        if not isinstance(row, dict) or set(row) != set(names):
            continue
        if all(isinstance(row[name], _TYPES[name]) for name in names):
            records.append(KernelRecord(**row))
    return records


def _runs(pid: int, interpreter: str) -> bool:
    """Whether process ``pid`` runs ``interpreter`` (its ``argv[0]``, as the child was
    launched); where there is no ``/proc``, whether it exists."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            argv = stream.read().split(b"\0")
    except FileNotFoundError:
        return not os.path.isdir("/proc") and process_alive(pid)
    except OSError:
        return False
    return process_exists(pid) and os.path.normpath(os.fsdecode(argv[0])) == os.path.normpath(
        interpreter
    )
