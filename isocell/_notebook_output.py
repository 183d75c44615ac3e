"""What an ``%%isolated`` cell shows in the notebook: the child's outputs as a local cell's
(:class:`CellOutput`), a live line while an environment builds (:class:`BuildLine`), and the
cell's last value as the child rendered it (:class:`Displayed`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from isocell._notebook_comms import relay_comm

if TYPE_CHECKING:
    from isocell.envs import BuildProgress
    from isocell.kernel import CommForward

__all__ = ["BuildLine", "CellOutput", "Displayed", "notebook_stdin", "relay_payloads"]


class CellOutput:
    """Puts a child's outputs in the running cell's output area, as a local cell would."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def stream(self, name: str, text: str) -> None:
        stream = sys.stderr if name == "stderr" else sys.stdout
        stream.write(text)
        stream.flush()

    def display(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any],
        transient: dict[str, Any],
        update: bool,
    ) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.shell.display_pub.publish(
            data=data, metadata=metadata, transient=transient or None, update=update
        )

    def clear(self, wait: bool) -> None:
        from IPython.display import clear_output

        clear_output(wait=wait)

    def comm(
        self,
        kind: str,
        content: dict[str, Any],
        metadata: dict[str, Any],
        buffers: list[Any],
        forward: CommForward,
    ) -> None:
        """A child's comm message (a widget's): through the notebook kernel's twin of the
        comm (:mod:`isocell._notebook_comms`)."""
        sys.stdout.flush()
        relay_comm(kind, content, metadata, buffers, forward)


class BuildLine:
    """A live line while an environment builds (phase, packages, seconds), then a summary."""

    def __init__(self, shell: Any) -> None:
        # Only a kernel can update a display in place; a terminal gets one line per phase.
        self.live = type(shell).__name__ == "ZMQInteractiveShell"
        self.handle: Any = None
        self.phase = ""
        self.shown = 0.0
        self.phases_shown: set[str] = set()
        self.cutoff = ""

    def __call__(self, event: BuildProgress) -> None:
        packages = f", {event.packages} packages" if event.packages is not None else ""
        line = f"isocell: {event.phase}{packages}, {event.elapsed:.1f} s: {event.message}"
        if event.message.startswith("resolving as of"):
            self.cutoff = "; " + event.message
        if event.phase == "done":
            line = f"isocell: environment ready ({event.message}{packages}{self.cutoff})"
        if not self.live:
            # One line per phase (pip alternates between them), the cut-off date, the summary.
            if event.phase not in self.phases_shown or "resolving as of" in line:
                print(line, file=sys.stderr, flush=True)
                self.phases_shown.add(event.phase)
            return
        from IPython.display import display

        now = time.monotonic()
        if self.handle is None:
            self.handle = display({"text/plain": line}, raw=True, display_id=True)
        elif event.phase != self.phase or now - self.shown > 0.2 or event.phase == "done":
            self.handle.update({"text/plain": line}, raw=True)
        else:
            return
        self.phase, self.shown = event.phase, now


class Displayed:
    """The cell's last value, as the child rendered it (its mime bundle)."""

    def __init__(self, data: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.data, self.metadata = data, metadata

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self.data, self.metadata

    def __repr__(self) -> str:
        return str(self.data.get("text/plain", ""))


def relay_payloads(shell: Any, payloads: list[dict[str, Any]]) -> None:
    """Give the child's ``execute_reply`` payloads to this shell as its own (Jupyter messaging
    protocol, "Payloads"): the pager's text (``len?``, ``%pdoc``, ``%prun``) through IPython's
    ``show_in_pager`` hook (ipykernel pages it in the frontend, a terminal prints it), and the
    next input a magic proposes (``%load``, ``%recall``). Others (``ask_exit``: the child is
    not the notebook's to end; ``edit_magic``) are left out."""
    from IPython.core import page

    for payload in payloads:
        source = payload.get("source")
        if source == "page":
            page.page(payload.get("data") or {"text/plain": ""}, int(payload.get("start") or 0))
        elif source == "set_next_input":
            shell.set_next_input(str(payload.get("text", "")), replace=bool(payload.get("replace")))


def notebook_stdin(shell: Any) -> Callable[[str, bool], str] | None:
    """How the notebook reads a line for a child's ``input()`` or ``getpass()``: as a local
    cell does (in a kernel, ipykernel's ``input`` and ``getpass`` ask the frontend for it); or
    None where this cell's frontend allows no input (the execute request's ``allow_stdin``
    false, as nbclient and papermill send it): the child's ``input()`` then raises
    ``StdinNotImplementedError``, as a local cell's does."""
    kernel = getattr(shell, "kernel", None)
    if kernel is not None and not getattr(kernel, "_allow_stdin", True):
        return None

    def read(prompt: str, password: bool) -> str:
        if password:
            import getpass

            return getpass.getpass(prompt)
        return input(prompt)

    return read
