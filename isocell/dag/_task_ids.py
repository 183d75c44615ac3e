"""Task ids that stay put: from a cell's ``--name`` or what it binds, never its position.

Airflow keys a task's run history by its id: an id made from the cell's position
(``cell_4``) would move to another task when a cell is inserted above, and the history with
it. So a cell's ``--name`` is its id, else the first name it binds that no other task has
(``orders``), else a hash of its code.
"""

from __future__ import annotations

import hashlib
import re

from isocell.analysis import bound_in_order
from isocell.dag._collect import NotebookCell
from isocell.errors import ExportError

__all__ = ["named_cells", "task_id_of"]

_TASK_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
# Names the DAG file itself uses where the task functions are defined: a task named after one
# would hide it (its function takes the task id's name).
_RESERVED = frozenset({"dag", "task", "os", "pendulum", "Param", "VENV_CACHE", "DAG_FOLDER"})


def named_cells(cells: list[NotebookCell]) -> dict[str, NotebookCell]:
    """The cells with a ``--name``, by name; two with one name are an export error."""
    named: dict[str, NotebookCell] = {}
    for cell in cells:
        name = cell.options.name if cell.options else None
        if not name:
            continue
        if not _TASK_ID.match(name):
            raise ExportError(
                cell.index, 1, f"task id {name!r} is invalid: use letters, digits, '_', '.', '-'"
            )
        if name in named:
            raise ExportError(
                cell.index,
                1,
                f"task id {name!r} is the --name of cell {named[name].index + 1} too: give "
                "one of them another --name",
            )
        named[name] = cell
    return named


def task_id_of(
    cell: NotebookCell,
    binds: tuple[str, ...],
    named: dict[str, NotebookCell],
    taken: dict[str, NotebookCell],
) -> str:
    """The id of ``cell``'s task: its ``--name``, else the first name it binds (source order)
    that no earlier task (``taken``), no ``--name`` (``named``) and no name of the DAG file
    has, else that name with 6 hex digits of the hash of its code, or ``cell_<hash>`` for a
    cell that binds nothing.

    Raises
    ------
    ExportError
        If the id is an earlier cell's too (two cells of the same code), naming both.
    """
    if cell.options and cell.options.name:
        return cell.options.name
    digest = hashlib.sha256(cell.source.strip().encode("utf-8")).hexdigest()[:6]
    order = bound_in_order(cell.source, binds)
    free = [n for n in order if n not in taken and n not in named and n not in _RESERVED]
    task_id = free[0] if free else f"{order[0]}_{digest}" if order else f"cell_{digest}"
    clash = taken.get(task_id) or named.get(task_id)
    if clash is not None:  # two cells of the same source, binding the same names
        other = clash.index
        raise ExportError(
            cell.index,
            None,
            f"its task would be {task_id!r}, as cell {other + 1}'s is (the same code): give "
            "one of them a --name",
        )
    return task_id
