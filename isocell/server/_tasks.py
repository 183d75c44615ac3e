"""Builds that outlive the request that started them: tasks, polled by the client.

``POST /isocell/envs`` answers at once with a task; the build runs in a thread of its own (a
build can take minutes, and must not hold a worker of the event loop's executor) and the
client polls ``GET /isocell/tasks/{id}?since=N`` for the log lines it has not seen yet.
Tasks live in memory only; the last :data:`KEEP` are kept.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from isocell.envs import BuildProgress, isocell_home, published_build, published_builds
from isocell.errors import IsocellError
from isocell.server._base import ApiError, IsocellHandler

__all__ = ["KEEP", "Task", "TaskBoard", "TaskHandler", "TasksHandler"]

#: How many tasks are kept, finished ones dropped oldest first.
KEEP = 50
# A runaway builder must not fill the server's memory; the full log is in the store anyway.
_MAX_LINES = 20_000

Work = Callable[[Callable[[BuildProgress], None]], dict[str, Any]]


class Task:
    """One build or rebuild of a named environment, as the client sees it.

    Parameters
    ----------
    kind : str
        ``"build"`` or ``"rebuild"``.
    name : str
        The environment's name.
    """

    def __init__(self, kind: str, name: str) -> None:
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.name = name
        self.state = "running"
        self.phase = "queued"
        self.packages: int | None = None
        self.error: str | None = None
        self.cause: str | None = None
        self.environment: dict[str, Any] | None = None
        self._log: list[str] = []
        self._started = time.monotonic()
        self._ended: float | None = None
        self._lock = threading.Lock()

    def progress(self, event: BuildProgress) -> None:
        """Record one :class:`~isocell.envs.BuildProgress` event (called from the build)."""
        with self._lock:
            self.phase = event.phase
            if event.packages is not None:
                self.packages = event.packages
            line = event.message.rstrip()
            if line and (not self._log or self._log[-1] != line) and len(self._log) < _MAX_LINES:
                self._log.append(line)

    def finish(self, environment: dict[str, Any]) -> None:
        """Mark the task done with the environment's row."""
        with self._lock:
            self.state, self.phase, self.environment = "done", "done", environment
            self.packages = environment.get("packages", self.packages)
            self._ended = time.monotonic()

    def fail(self, message: str, cause: str | None = None) -> None:
        """Mark the task failed with a message a person can act on, which starts with
        ``cause`` when known (a build error's own words, :attr:`BuildError.cause`)."""
        with self._lock:
            self.state, self.error, self.cause = "failed", message, cause or None
            self._ended = time.monotonic()

    def to_json(self, since: int | None = 0) -> dict[str, Any]:
        """The task as JSON: log lines from index ``since`` on (None: no lines, only counts)."""
        with self._lock:
            offset = len(self._log) if since is None else min(since, len(self._log))
            elapsed = (self._ended or time.monotonic()) - self._started
            return {
                "id": self.id,
                "kind": self.kind,
                "name": self.name,
                "state": self.state,
                "phase": self.phase,
                "packages": self.packages,
                "elapsed": round(elapsed, 3),
                "log": self._log[offset:],
                "log_offset": offset,
                "error": self.error,
                "cause": self.cause,
                "environment": self.environment,
                "notebook": None,
            }


class TaskBoard:
    """The tasks of one server, newest last, bounded to ``keep`` (running ones are never dropped).

    Parameters
    ----------
    log : logging.Logger
        The server's log, for failures that are not isocell's own errors.
    keep : int
        How many tasks to remember.
    """

    def __init__(self, log: logging.Logger, keep: int = KEEP) -> None:
        self.log = log
        self.keep = keep
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, kind: str, name: str, work: Work) -> Task:
        """Run ``work(task.progress)`` in a new thread and return its task at once.

        ``work`` returns the environment's row, or raises; an :class:`IsocellError` becomes
        the task's error as it is, anything else a message pointing at the server's log.
        """
        task = Task(kind, name)
        with self._lock:
            self._tasks[task.id] = task
            finished = [t for t in self._tasks.values() if t.state != "running"]
            for old in finished[: max(0, len(self._tasks) - self.keep)]:
                del self._tasks[old.id]
        # A daemon thread: stopping the server must not wait for a build; the builder's
        # leftovers (a .build-* folder) are swept by the next build of the same spec.
        thread = threading.Thread(
            target=self._run, args=(task, work), name=f"isocell-{kind}-{name}", daemon=True
        )
        thread.start()
        return task

    def _run(self, task: Task, work: Work) -> None:
        try:
            task.finish(work(task.progress))
        except IsocellError as error:
            task.fail(str(error), getattr(error, "cause", None))
        except Exception as error:
            self.log.exception("isocell: %s of %s failed", task.kind, task.name)
            task.fail(
                f"{task.kind} of {task.name} failed unexpectedly ({type(error).__name__}: "
                f"{error}); the Jupyter server's log has the traceback"
            )

    def get(self, task_id: str) -> Task | None:
        """The task with that id, if it is still kept."""
        with self._lock:
            return self._tasks.get(task_id)

    def running(self, name: str) -> Task | None:
        """The running task of environment ``name``, if any."""
        with self._lock:
            return next(
                (t for t in self._tasks.values() if t.name == name and t.state == "running"), None
            )

    def all(self) -> list[Task]:
        """Every task kept, oldest first."""
        with self._lock:
            return list(self._tasks.values())


class TasksHandler(IsocellHandler):
    """``GET /isocell/tasks``: every task kept, then the builds notebook kernels run for their
    cells (:func:`isocell.envs.published_builds`, ``kind`` ``"cell"``), without their logs
    (``log_offset`` = lines)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        board: TaskBoard = self.settings["isocell_tasks"]
        # Read per request: ISOCELL_HOME is the server process's, and tests change it.
        cells = await self.call(published_builds, isocell_home())
        self.reply({"tasks": [task.to_json(None) for task in board.all()] + cells})


class TaskHandler(IsocellHandler):
    """``GET /isocell/tasks/{id}?since=N``: one task, with its log lines from index N on."""

    @tornado.web.authenticated
    @authorized
    async def get(self, task_id: str) -> None:
        board: TaskBoard = self.settings["isocell_tasks"]
        since = self.get_query_argument("since", "0")
        if not since.isdigit():
            raise ApiError(400, f"'since' must be a log line index (0 or more), not {since!r}")
        task = board.get(task_id)
        if task is not None:
            self.reply({"task": task.to_json(int(since))})
            return
        cell = await self.call(published_build, isocell_home(), task_id, int(since))
        if cell is None:
            raise ApiError(
                404,
                f"no task {task_id!r}: it never existed, or is older than the last {board.keep} "
                "tasks, or the server restarted; list the environments to see the outcome",
            )
        self.reply({"task": cell})
