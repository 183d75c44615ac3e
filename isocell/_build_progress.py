"""A build's progress in the notebook: a bar in JupyterLab, one line everywhere else.

While an environment builds for a cell, the cell shows one display, updated in place (a
display id, Jupyter messaging protocol ``update_display_data``), whose bundle holds
``application/vnd.isocell.build+json`` (:meth:`BuildState.bundle`: the steps resolve →
download → install → lock, packages, seconds, the builder's log) for isocell's JupyterLab
renderer and ``text/plain`` for every other frontend (nbconvert, papermill, VS Code): the
latest line while it runs. It ends as one summary line, the log folded behind it. In a
terminal IPython, one line per step on stderr.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from isocell.envs import BuildProgress, BuildPublisher

__all__ = ["MIME_TYPE", "STEPS", "BuildLine", "BuildState"]

#: The MIME type of the bundle isocell's JupyterLab extension renders.
MIME_TYPE = "application/vnd.isocell.build+json"

#: The steps a build shows, in order.
STEPS = ("resolve", "download", "install", "lock")

# The builder's lines that mean packages are being fetched (uv's, then pip's).
_DOWNLOADING = ("Prepared", "Downloaded", "Downloading")

# Log lines kept for the display (the whole log is in the environment's folder).
_LOG_LINES = 400

# Seconds between two updates of the display.
_EVERY = 0.2

# Seconds between two writes of the published state.
_PUBLISH_EVERY = 0.5


def step_of(event: BuildProgress) -> str | None:
    """The step an event belongs to (None: before resolving: the interpreter, the venv)."""
    if event.phase == "install" and event.message.startswith(_DOWNLOADING):
        return "download"
    if event.phase in STEPS:
        return event.phase
    if event.phase == "done":
        return "lock"
    return None


class BuildState:
    """What is known of one build so far, from its progress events."""

    def __init__(self) -> None:
        self.step: str | None = None
        self.reached = -1  # index in STEPS of the furthest step reached
        self.message = ""
        self.elapsed = 0.0
        self.packages: int | None = None
        self.total: int | None = None
        self.log: list[str] = []
        self.summary: str | None = None
        self.failed = False
        self.reason: str | None = None
        self.cause: str | None = None
        self.cutoff = ""
        self.lines = 0  # log lines seen, of which ``log`` keeps the last

    def take(self, event: BuildProgress) -> None:
        """Account for one event."""
        self.elapsed, self.message = event.elapsed, event.message
        if event.message.startswith("resolving as of"):
            self.cutoff = "; " + event.message
        if event.message and (not self.log or self.log[-1] != event.message):
            self.log = [*self.log[-(_LOG_LINES - 1) :], event.message]
            self.lines += 1
        step = step_of(event)
        if step is not None:
            self.step = step
            self.reached = max(self.reached, STEPS.index(step))
        if event.packages is not None:
            self.packages = event.packages
            if event.phase == "resolve" or event.message.startswith("Resolved"):
                self.total = event.packages
        if event.phase == "done":
            counted = f", {event.packages} packages" if event.packages is not None else ""
            self.summary = f"isocell: environment ready ({event.message}{counted}{self.cutoff})"

    def fail(self, reason: str, detail: str | None = None, cause: str | None = None) -> None:
        """The build failed: the summary says why (the cause first, one line); ``detail``:
        the whole error, starting with ``cause`` when known, for the sidebar (default:
        ``reason``)."""
        self.failed = True
        self.reason = detail or reason
        self.cause = cause or None
        self.summary = f"isocell: the environment could not be built: {reason}"

    def line(self) -> str:
        """One line of text: the summary at the end, else the step, packages and message."""
        if self.summary is not None:
            return self.summary
        packages = f", {self.packages} packages" if self.packages is not None else ""
        return (
            f"isocell: {self.step or 'preparing'}{packages}, {self.elapsed:.1f} s: {self.message}"
        )

    def publish(self, publisher: BuildPublisher, *, ended: bool = False) -> None:
        """Write this state where the Jupyter server lists builds (the sidebar follows it);
        ``ended``: the cell is done, so is the build (without a summary: it got what it
        needed before one, as a reused environment)."""
        running = self.summary is None and not ended
        publisher.publish(
            state="running" if running else "failed" if self.failed else "done",
            phase=self.step or "preparing",
            packages=self.packages,
            total=self.total,
            elapsed=self.elapsed,
            log=self.log,
            log_total=self.lines,
            error=self.reason,
            cause=self.cause,
        )

    def bundle(self) -> dict[str, Any]:
        """The display's MIME bundle."""
        steps = []
        for index, name in enumerate(STEPS):
            if self.summary is not None and not self.failed:
                status = "done"
            elif index < self.reached:
                status = "done"
            elif index == self.reached:
                status = "failed" if self.failed else "active"
            else:
                status = "waiting"
            steps.append({"name": name, "status": status})
        state = {
            "steps": steps,
            "step": self.step,
            "message": self.message,
            "elapsed": round(self.elapsed, 1),
            "packages": self.packages,
            "total": self.total,
            "log": self.log,
            "summary": self.summary,
            "failed": self.failed,
        }
        return {MIME_TYPE: state, "text/plain": self.line()}


class BuildLine:
    """The progress of a build a cell started, shown in the cell (a kernel: one display
    updated in place; a terminal: a line per step). Call it with each
    :class:`~isocell.envs.BuildProgress`; :meth:`finish` when the cell is done.

    Parameters
    ----------
    shell : InteractiveShell
    publisher : BuildPublisher or None
        Where the build is also published for the Jupyter server's listing (the sidebar).
    """

    def __init__(self, shell: Any, publisher: BuildPublisher | None = None) -> None:
        # Only a kernel can update a display in place; a terminal gets one line per phase.
        self.live = type(shell).__name__ == "ZMQInteractiveShell"
        self.handle: Any = None
        self.state = BuildState()
        self.shown = 0.0
        self.phases_shown: set[str] = set()
        self.built = False  # an environment was built (not reused) for the cell
        self.publisher = publisher
        self.published = 0.0

    def __call__(self, event: BuildProgress) -> None:
        self.state.take(event)
        if event.phase == "done":
            self.built = True
        self._publish(event.phase == "done")
        if not self.live:
            # One line per phase (pip alternates between them), the cut-off date, the summary.
            line = self.state.line()
            if event.phase not in self.phases_shown or "resolving as of" in event.message:
                print(line, file=sys.stderr, flush=True)
                self.phases_shown.add(event.phase)
            return
        now = time.monotonic()
        if self.handle is None or now - self.shown > _EVERY or event.phase == "done":
            self._show()
            self.shown = now

    def _publish(self, now: bool, *, ended: bool = False) -> None:
        clock = time.monotonic()
        if self.publisher is not None and (now or clock - self.published > _PUBLISH_EVERY):
            self.state.publish(self.publisher, ended=ended)
            self.published = clock

    def _show(self) -> None:
        from IPython.display import display

        if self.handle is None:
            self.handle = display(self.state.bundle(), raw=True, display_id=True)
        else:
            self.handle.update(self.state.bundle(), raw=True)

    def finish(self, error: BaseException | None) -> None:
        """The cell is done: a build that started and did not end says why it stopped
        (``error``, the cause, first); a display not yet current is brought up to date."""
        if self.state.step is None and not self.state.log:
            return  # nothing was built
        if self.state.summary is None and error is not None:
            text = str(error) or type(error).__name__
            cause = getattr(error, "cause", None) or None
            line = "; ".join(cause.splitlines()) if cause else text.split("\n", 1)[0]
            self.state.fail(line, text, cause)
            if not self.live:
                print(self.state.line(), file=sys.stderr, flush=True)
        self._publish(True, ended=True)
        if self.live:
            self._show()
