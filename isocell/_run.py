"""``isocell run``: execute a notebook headless (nbclient) and print its isolated cells' outputs."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from isocell._cell_facts import COMM_TARGET, lasting

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_notebook(
    path: Path,
    output: str | None,
    timeout: float,
    parameters: Mapping[str, Any] | None = None,
    context: tuple[str, Mapping[str, Any]] | None = None,
) -> int:
    """Execute every cell of ``path`` in a fresh kernel of the current Python.

    Prints, for each ``%%isolated`` cell, its magic line and its outputs as text (an image or
    HTML is named by its type). Returns 0 if every cell ran, 1 at the first failing cell.

    Parameters
    ----------
    path : Path
        The notebook.
    output : str or None
        Where to write the executed notebook (with outputs); None: nowhere.
    timeout : float
        Seconds each cell may take.
    parameters : mapping or None
        Values for the notebook's parameters, set in a cell added after the one tagged
        ``parameters`` (papermill's convention, :func:`isocell.params.inject_parameters`).
    context : (str, mapping) or None
        A logical date (ISO 8601) and a conf: the context of a manual Airflow run is bound
        after the parameters (:func:`isocell.context.bind`); ``params`` holds the declared
        parameters' values with the conf over them, and the conf sets the parameters it names.

    Raises
    ------
    IsocellError
        Before anything runs, if ``path`` is not a notebook or ``output`` is not a file path
        in a folder that exists.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from isocell.dag import read_notebook
    from isocell.errors import ExportError, IsocellError

    try:
        notebook = read_notebook(path)
    except ExportError as error:
        raise IsocellError(f"cannot run: {error.reason}") from None
    _set_parameters(notebook, parameters, context)
    if output is not None:
        # Checked before the notebook runs: a run of minutes must not end in a failed write.
        where = Path(output)
        if not str(output).strip() or where.is_dir() or not where.parent.is_dir():
            raise IsocellError(
                f"cannot run: -o {output!r} is not a file path in a folder that exists; give "
                "where to write the executed notebook, such as out/executed.ipynb"
            )
    client = NotebookClient(
        notebook,
        timeout=int(timeout),
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    _record_where_cells_ran(client)
    started = time.monotonic()
    failed = None
    # The kernel learns which notebook it runs, as under Jupyter Server (%isocell context reads
    # its parameters cell, %isocell export the file).
    environ = {**os.environ, "JPY_SESSION_NAME": str(path.resolve())}
    try:
        client.execute(env=environ)
    except CellExecutionError as error:
        failed = error
    seconds = time.monotonic() - started
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.source.lstrip().startswith("%%isolated"):
            _print_cell(index, cell)
    if output:
        nbformat.write(notebook, output)
    if failed is not None:
        print(
            f"\nisocell: {path} failed after {seconds:.1f} s:\n{_ANSI.sub('', str(failed))}",
            file=sys.stderr,
        )
        return 1
    print(f"\nisocell: {path} ran in {seconds:.1f} s")
    return 0


def _record_where_cells_ran(client: Any) -> None:
    """Save in each isolated cell's metadata (``isocell``) where it ran, as the JupyterLab
    extension does: the facts its magic tells the frontend (:mod:`isocell._cell_facts`) come
    as a comm during the cell, and are kept for the cell whose request they answer."""
    told: dict[str, dict[str, Any]] = {}

    def on_comm_open(message: dict[str, Any]) -> None:
        request = message.get("parent_header", {}).get("msg_id")
        if request:
            told[request] = lasting(message["content"].get("data") or {})

    def on_cell_executed(cell: Any, execute_reply: dict[str, Any], **_: Any) -> None:
        facts = told.pop(execute_reply.get("parent_header", {}).get("msg_id", ""), None)
        if facts is not None:
            cell.metadata["isocell"] = facts

    client.comm_open_handlers[COMM_TARGET] = on_comm_open
    client.on_cell_executed = on_cell_executed


def _set_parameters(
    notebook: Any,
    parameters: Mapping[str, Any] | None,
    context: tuple[str, Mapping[str, Any]] | None,
) -> None:
    """Add the parameters cell (and the run's context cell) of :func:`run_notebook`."""
    from isocell.context import run_params
    from isocell.params import COMPUTED, add_context_cell, declared_parameters, inject_parameters

    given = dict(parameters or {})
    if context is not None:
        declared = declared_parameters(notebook)
        defaults = {k: v for k, v in declared.items() if v is not COMPUTED}
        params, settings = run_params(declared, {**defaults, **given}, context[1])
        given.update(settings)
    unknown = inject_parameters(notebook, given)
    if context is not None:
        add_context_cell(notebook, context[0], params)
    if unknown:
        print(
            f"isocell: the notebook's cell tagged parameters does not set {', '.join(unknown)}; "
            "they are set all the same",
            file=sys.stderr,
        )


def _print_cell(index: int, cell: Any) -> None:
    print(f"--- cell {index}: {cell.source.splitlines()[0]}")
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            sys.stdout.write(out.get("text", ""))
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            rich = [mime for mime in data if mime != "text/plain"]
            if rich:
                print(f"[{', '.join(sorted(rich))}]")
            if "text/plain" in data:
                print(data["text/plain"])
        elif kind == "error":
            print(_ANSI.sub("", "\n".join(out.get("traceback", []))))
