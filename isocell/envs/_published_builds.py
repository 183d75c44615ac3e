"""Builds that notebook kernels run for their cells, published for the Jupyter server: the
JupyterLab sidebar follows a build a cell started, live, as it follows its own.

Layout::

    $ISOCELL_HOME/builds/cell-<pid>-<ms>-<n>.json    one build of notebook kernel <pid>

The kernel rewrites its build's file as the build goes (a new file, then an atomic rename, so
a reader never sees half of one) and leaves it when the build ends, so that a follower sees
the end. Readers remove the files of builds that ended more than :data:`KEEP_SECONDS` ago and
of builds whose kernel died before they ended.

The files are JSON, never unpickled or executed; a file over :data:`MAX_BYTES`, of another
shape or named otherwise is skipped. The answers have the shape of the server's own tasks
(:mod:`isocell.server._tasks`), with ``kind`` ``"cell"`` and the ``notebook`` that ran it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from isocell.envs._files import private_home, write_atomic
from isocell.envs._processes import process_exists

__all__ = [
    "BUILD_ID",
    "KEEP_SECONDS",
    "MAX_BYTES",
    "BuildPublisher",
    "builds_folder",
    "published_build",
    "published_builds",
]

#: Larger files are not read (a build keeps its last 400 log lines: about 40 kB).
MAX_BYTES = 1_000_000

#: Seconds a finished build stays listed.
KEEP_SECONDS = 600.0

#: The id of a published build, which is also its file's name: nothing else is read.
BUILD_ID = re.compile(r"cell-[0-9]{1,10}-[0-9]{1,16}-[0-9]{1,10}")

_serial = itertools.count(1)

_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "kind": (str,),
    "name": (str,),
    "notebook": (str, type(None)),
    "pid": (int,),
    "state": (str,),
    "phase": (str,),
    "packages": (int, type(None)),
    "total": (int, type(None)),
    "elapsed": (int, float),
    "log": (list,),
    "log_total": (int,),
    "error": (str, type(None)),
    "cause": (str, type(None)),
    "ended": (int, float, type(None)),
}


def builds_folder(home: Path) -> Path:
    """Where the notebook kernels of ``home`` (an ``ISOCELL_HOME``) publish their builds."""
    return home / "builds"


class BuildPublisher:
    """The file of one build a cell started, rewritten by :meth:`publish`.

    Parameters
    ----------
    home : Path
        The ``ISOCELL_HOME`` the build's environment goes to.
    name : str
        What the build is for, as the sidebar titles it (the cell's magic line).
    """

    def __init__(self, home: Path, name: str) -> None:
        self.home = home
        self.name = name
        self.id = f"cell-{os.getpid()}-{int(time.time() * 1000)}-{next(_serial)}"
        self._made = False

    def publish(
        self,
        *,
        state: str,
        phase: str,
        packages: int | None,
        total: int | None,
        elapsed: float,
        log: list[str],
        log_total: int,
        error: str | None,
        cause: str | None = None,
    ) -> None:
        """Write the build's state now (``state``: running, done or failed; ``log``: the
        last lines of ``log_total`` so far; ``error`` starts with ``cause`` when known).

        Never raises for a folder it cannot write: the listing is a convenience, the cell's
        run is not."""
        document = {
            "id": self.id,
            "kind": "cell",
            "name": self.name,
            "notebook": os.environ.get("JPY_SESSION_NAME") or None,
            "pid": os.getpid(),
            "state": state,
            "phase": phase,
            "packages": packages,
            "total": total,
            "elapsed": round(elapsed, 3),
            "log": log,
            "log_total": log_total,
            "error": error,
            "cause": cause or None,
            "ended": None if state == "running" else time.time(),
        }
        folder = builds_folder(self.home)
        try:
            if not self._made:  # once: the build rewrites its file every half second
                private_home(self.home)
                folder.mkdir(mode=0o700, exist_ok=True)
                self._made = True
            write_atomic(folder / f"{self.id}.json", json.dumps(document))
        except OSError:
            return


def published_builds(home: Path) -> list[dict[str, Any]]:
    """The builds the notebook kernels of ``home`` run now or ended lately, oldest first,
    as tasks without their log (``log_offset``: how many lines it has)."""
    found = []
    try:
        entries = list(os.scandir(builds_folder(home)))
    except OSError:
        return []
    for entry in entries:
        document = _current(Path(entry.path))
        if document is not None:
            found.append(document)
    found.sort(key=lambda document: int(document["id"].split("-")[2]))  # started, in ms
    return [_task(document, None) for document in found]


def published_build(home: Path, build_id: str, since: int = 0) -> dict[str, Any] | None:
    """One published build as a task, its log from line ``since`` on; None if there is
    none of that id (or it is gone: ended long ago, or its kernel died)."""
    if not BUILD_ID.fullmatch(build_id):
        return None
    document = _current(builds_folder(home) / f"{build_id}.json")
    return None if document is None else _task(document, since)


def _current(path: Path) -> dict[str, Any] | None:
    """The build in ``path`` if it is one and still listed; removes it when it is not."""
    if not BUILD_ID.fullmatch(path.name.removesuffix(".json")) or path.suffix != ".json":
        return None
    document = _read(path)
    if document is None:
        return None
    ended = document["ended"]
    stale = (ended is not None and time.time() - ended > KEEP_SECONDS) or (
        ended is None and not process_exists(document["pid"])
    )
    if stale:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return document


def _task(document: dict[str, Any], since: int | None) -> dict[str, Any]:
    log: list[str] = document["log"]
    total: int = max(document["log_total"], len(log))
    first = total - len(log)  # the index of log[0] in the whole log
    offset = total if since is None else max(first, min(since, total))
    return {
        "id": document["id"],
        "kind": "cell",
        "name": document["name"],
        "notebook": document["notebook"],
        "state": document["state"],
        "phase": document["phase"],
        "packages": document["packages"],
        "elapsed": document["elapsed"],
        "log": log[offset - first :],
        "log_offset": offset,
        "error": document["error"],
        "cause": document["cause"],
        "environment": None,
    }


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
        document = json.loads(raw) if len(raw) <= MAX_BYTES else None
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or set(document) != set(_TYPES):
        return None
    if not all(isinstance(document[key], types) for key, types in _TYPES.items()):
        return None
    if document["state"] not in ("running", "done", "failed"):
        return None
    if not all(isinstance(line, str) for line in document["log"]):
        return None
    return document
