"""The body of a task whose cell runs on a Python Airflow's virtualenv tasks cannot run.

Airflow's ``@task.virtualenv`` and ``@task.external_python`` run Python 3.7 and newer; a cell
on 3.6 or 2.7 becomes a plain ``@task`` whose body gives the cell's text, as written, one
string per line, to ``isocell_runtime.legacy.run_cell`` with its environment's interpreter
(:mod:`isocell.dag.runtime.legacy`).
"""

from __future__ import annotations

from isocell.dag._branches import CHOICE_NAME
from isocell.dag._model import Task
from isocell.dag._task_code import docstring, task_code, task_returns

__all__ = ["legacy_body"]


def legacy_body(
    task: Task, imports: list[str], run_values: list[str], python: tuple[str, str, str]
) -> str:
    """The body of ``task``: its ``imports`` from ``isocell_runtime``, the ``run_values``
    lines that decode the run's values it reads, its inputs loaded, the cell run by
    ``python`` (its ``major.minor``, its path here, the environment variable that overrides
    it on a worker), the values it stores returned."""
    minor, path, variable = python
    code = task_code(task)  # a branch cell's choice included
    given = [*run_values, *(f"{name} = load({task.parameter(name)})" for name in task.inputs)]
    names = [*task.inputs, *task.run_values]
    sent = "{" + ", ".join(f"{name!r}: {name}" for name in names) + "}"
    returned = [*task.outputs, *([CHOICE_NAME] if task.cell.branch else [])]
    where = f"<cell {task.cell.index + 1}>"
    lines = ["import os", "", *imports, "from isocell_runtime.legacy import run_cell"]
    if task.cell.markdown:
        lines[:0] = [docstring(task.cell.markdown), ""]
    lines += ["", *given] if given else []
    lines += [
        "",
        f"# Python {minor}, which Airflow's virtualenv tasks cannot run: "
        "the cell runs, as written, in",
        f"# its environment's interpreter (${variable} says where it is).",
        "cell = run_cell(",
        f"    os.environ.get({variable!r}, {path!r}),",
        '    "\\n".join(',
        "        [",
        *(f"            {line!r}," for line in code.split("\n")),
        "        ]",
        "    ),",
        f"    {sent},",
        f"    {returned!r},",
        f"    {where!r},",
        ")",
    ]
    return "\n".join([*lines, *task_returns(task, literal=True)])
