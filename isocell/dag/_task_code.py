"""A task's code, taken from its cell: what runs in the task, and what it returns.

The cell's code without bare display expressions (a name alone on its line shows a value in a
notebook and does nothing in a task), its leading imports apart, the definitions and
recomputed lookups it takes from other cells first; the ``return`` of the values it stores.
"""

from __future__ import annotations

import ast

from isocell.dag._branches import CHOICE_NAME, choice_code
from isocell.dag._model import Task, shows_only
from isocell.dag._requirements import TEXT_SUFFIX

__all__ = ["DATA_DIR_ARGUMENT", "docstring", "task_code", "task_parts", "task_returns"]

#: The parameter of a task that stores values: where they go (the DAG file's ``DATA_DIR``,
#: passed to every such task, as a ``@task.virtualenv`` body cannot read the file's globals).
DATA_DIR_ARGUMENT = "isocell_data_dir"


def task_parts(task: Task) -> tuple[list[str], str]:
    """The task's code as (imports, rest): the imports it takes from other cells and the ones
    its cell starts with, then the definitions it takes, the code that fetches again the
    Variables and Connections it reads, and the cell's own code without bare display
    expressions (``orders`` on a line of its own shows a value in a notebook, and does
    nothing in a task); a branch cell's last expression kept, as its choice."""
    imports = [part for part in task.preamble if part.startswith(("import ", "from "))]
    definitions = [part for part in task.preamble if part not in imports]
    code = choice_code(task) if task.cell.branch else task.code
    leading, own = _leading_imports(_without_displays(code.strip("\n")))
    rest = "\n\n".join(part for part in [*definitions, *task.recomputed, own] if part)
    return [*imports, *leading], rest.strip("\n")


def task_code(task: Task) -> str:
    """The task's whole code (see :func:`task_parts`), imports first."""
    imports, rest = task_parts(task)
    return "\n\n".join(part for part in ["\n".join(imports), rest] if part)


def _statement_lines(code: str) -> tuple[list[str], list[ast.stmt]] | None:
    try:
        return code.splitlines(), ast.parse(code).body
    except SyntaxError:
        return None


def _without_displays(code: str) -> str:
    """``code`` without its top-level statements that are only a name (or ``a.b``, or a tuple
    of such), each alone on its lines."""
    parsed = _statement_lines(code)
    if parsed is None:
        return code
    lines, body = parsed
    shared = {n.lineno for n in body} & {n.end_lineno for n in body}
    drop: set[int] = set()
    for node in body:
        if isinstance(node, ast.Expr) and shows_only(node.value) and node.end_lineno:
            span = set(range(node.lineno, node.end_lineno + 1))
            if not span & (shared - {node.lineno} if node.lineno == node.end_lineno else shared):
                drop |= span
    kept = [line for number, line in enumerate(lines, 1) if number not in drop]
    return "\n".join(kept).strip("\n") if any(line.strip() for line in kept) else code


def _leading_imports(code: str) -> tuple[list[str], str]:
    """The import statements ``code`` starts with (each as its text), and the rest of it."""
    parsed = _statement_lines(code)
    if parsed is None:
        return [], code
    lines, body = parsed
    leading: list[str] = []
    end = 0
    for node in body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.end_lineno is None:
            break
        if node.lineno <= end:  # shares a line with the previous one (a ";")
            return [], code
        leading.append("\n".join(lines[node.lineno - 1 : node.end_lineno]))
        end = node.end_lineno
    return leading, "\n".join(lines[end:]).strip("\n")


def task_returns(task: Task, literal: bool) -> list[str]:
    """The task's ``return``: a branch's choice, or references to the values it stores (with
    the text of those that later tasks' requirements take, :mod:`isocell.dag._requirements`);
    ``literal``: the code ran from a string, its names in the dict ``cell``."""

    def value(name: str) -> str:
        return f"cell[{name!r}]" if literal else name

    if task.cell.branch:
        return [f"return {value(CHOICE_NAME)}"]
    if not task.outputs:
        return []
    values = ", ".join(f"{name!r}: {value(name)}" for name in task.outputs)
    stored = f"store({{{values}}}, {task.task_id!r}, {DATA_DIR_ARGUMENT})"
    texts = ", ".join(f"{name + TEXT_SUFFIX!r}: str({value(name)})" for name in task.texts)
    return [f"return {{**{stored}, {texts}}}" if texts else f"return {stored}"]


def docstring(text: str) -> str:
    """``text`` (a markdown cell) as a docstring: no quote or backslash may end it early."""
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if escaped.endswith('"'):
        escaped = escaped[:-1] + '\\"'
    return f'"""{escaped}"""' if "\n" not in escaped else f'"""{escaped}\n"""'
