"""What an ``%%isolated`` cell shows in the notebook: the child's outputs as a local cell's
(:class:`CellOutput`) and the cell's last value as the child rendered it (:class:`Displayed`).
A build's progress is :mod:`isocell._build_progress`."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from isocell._notebook_comms import relay_comm

if TYPE_CHECKING:
    from isocell.kernel import CommForward

__all__ = [
    "CellOutput",
    "Displayed",
    "cell_count",
    "notebook_stdin",
    "relay_payloads",
    "syntax_error_of_body",
]


class CellOutput:
    """Puts a child's outputs in the running cell's output area, as a local cell would.

    ``background``: written from a thread of its own while no cell runs (a child's thread's
    prints): the streams are not flushed there, which would wait on the kernel's I/O thread
    (10 s when the kernel is shutting down); ipykernel sends the text within 0.2 s anyway.
    """

    def __init__(self, shell: Any, background: bool = False) -> None:
        self.shell = shell
        self.background = background

    def _flush(self) -> None:
        if not self.background:
            sys.stdout.flush()
            sys.stderr.flush()

    def stream(self, name: str, text: str) -> None:
        stream = sys.stderr if name == "stderr" else sys.stdout
        stream.write(text)
        if not self.background:
            stream.flush()

    def display(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any],
        transient: dict[str, Any],
        update: bool,
    ) -> None:
        self._flush()
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
        self._flush()
        relay_comm(kind, content, metadata, buffers, forward)


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


def syntax_error_of_body(error: SyntaxError, shell: Any, body: str, header_lines: int) -> None:
    """Make a child's syntax error in an isolated cell's body read as IPython's cell magics
    report one in theirs (``%%time``, ``%%capture``: the body compiled as code of its own):
    the file is the notebook's name for the body (ipykernel's ``<hash>.py`` of that text), the
    line counts from the body's first line (the child's counts ``header_lines`` more). A
    syntax error in another file (``compile(text, "x.py", ...)`` in the cell) is left as it is.
    """
    filename = str(error.filename or "")
    in_cell = filename.startswith("<ipython-input-") or (
        filename.endswith(".py") and "ipykernel_" in filename
    )
    if not in_cell:
        return
    name = getattr(getattr(shell, "compile", None), "get_code_name", None)
    if name is not None:
        text = _as_typed(shell, body)
        error.filename = name(text, text, cell_count(shell) or 0)
    if header_lines and isinstance(error.lineno, int) and error.lineno > header_lines:
        error.lineno -= header_lines
        # CPython names other lines in some messages: "... after 'if' statement on line 3"
        error.msg = re.sub(
            r"\bon line (\d+)",
            lambda found: f"on line {max(int(found.group(1)) - header_lines, 1)}",
            str(error.msg),
        )
        end = getattr(error, "end_lineno", None)
        if isinstance(end, int) and end > header_lines:
            error.end_lineno = end - header_lines


def cell_count(shell: Any) -> int | None:
    """The running cell's ``In[N]``: its ``ExecutionResult``'s (IPython 9 counts the next
    cell's number from the start of a cell; 8 from its end)."""
    running = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    count = getattr(running, "execution_count", None)
    return count if isinstance(count, int) else None


def _as_typed(shell: Any, body: str) -> str:
    """A cell magic's body as the user typed it: IPython's transformer ends every cell with a
    newline before it hands the body over; the raw cell in the history has none added."""
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or [""]
    raw = str(history[-1])
    if raw.lstrip().startswith("%%") and "\n" in raw:
        typed = raw.split("\n", 1)[1]
        if typed.rstrip("\n") == body.rstrip("\n"):
            return typed
    return body[:-1] if body.endswith("\n") else body
