"""What a task takes from the run rather than from another task: the DAG's params (from the
notebook's cell tagged ``parameters``) and the values of the run's context.

Both reach every kind of task the same way, as templated arguments that Airflow renders to
text for each run (``"{{ params['n'] | tojson }}"``, ``"{{ ds }}"``), which the task body turns
back into the value (:func:`isocell_runtime.run_value`): so a ``@task.virtualenv`` or
``@task.external_python`` task needs neither Airflow nor pendulum in its environment, and
gets a ``datetime`` for a date, as the notebook does (:mod:`isocell.context`).
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from typing import Any

from isocell.dag._collect import NotebookCell
from isocell.errors import ExportError

__all__ = ["RUN_VALUES", "Parameter", "read_parameters"]

#: The context values a task may read: the template Airflow renders, and how the task reads
#: the text back (``text``: as it is; ``json``; ``datetime``: ISO 8601, empty for None).
RUN_VALUES: dict[str, tuple[str, str]] = {
    "ds": ("{{ ds }}", "text"),
    "ds_nodash": ("{{ ds_nodash }}", "text"),
    "ts": ("{{ ts }}", "text"),
    "ts_nodash": ("{{ ts_nodash }}", "text"),
    "ts_nodash_with_tz": ("{{ ts_nodash_with_tz }}", "text"),
    "run_id": ("{{ run_id }}", "text"),
    "logical_date": ("{{ logical_date.isoformat() if logical_date else '' }}", "datetime"),
    "data_interval_start": (
        "{{ data_interval_start.isoformat() if data_interval_start else '' }}",
        "datetime",
    ),
    "data_interval_end": (
        "{{ data_interval_end.isoformat() if data_interval_end else '' }}",
        "datetime",
    ),
    "params": ("{{ dict(params) | tojson }}", "json"),
}

# JSON Schema types of Airflow's Param (its "type"), by the default's Python type.
_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
_TYPES.update({dict: "object", tuple: "array"})


@dataclass(frozen=True)
class Parameter:
    """One of the DAG's params.

    Attributes
    ----------
    name : str
    default : Any
        A literal: a number, a string, a boolean, None, or a list or dict of them.
    description : str
        The comment on its line in the notebook, if any.
    """

    name: str
    default: Any
    description: str = ""

    @property
    def json_type(self) -> str:
        """The JSON Schema type Airflow's ``Param`` checks the run's value against; ``""`` for
        a default of None (any value then)."""
        return "" if self.default is None else _TYPES.get(type(self.default), "string")

    @property
    def template(self) -> str:
        """The templated argument that renders the run's value as JSON."""
        return "{{ params[" + repr(self.name) + "] | tojson }}"


def read_parameters(cells: list[NotebookCell]) -> tuple[Parameter, ...]:
    """The params the notebook's cell tagged ``parameters`` declares, in order.

    Raises
    ------
    ExportError
        For a second cell tagged ``parameters``, a statement there other than an assignment
        to names, or a default that is not a literal (it would be computed anew by each task).
    """
    tagged = [cell for cell in cells if cell.holds_parameters]
    if not tagged:
        return ()
    if len(tagged) > 1:
        raise ExportError(
            tagged[1].index,
            None,
            f"a second cell tagged parameters (the first is cell {tagged[0].index + 1}); keep "
            "the run's parameters in one cell, as papermill does",
        )
    cell = tagged[0]
    comments = _comments(cell.source)
    found: dict[str, Parameter] = {}
    for node in ast.parse(cell.source).body:
        targets = node.targets if isinstance(node, ast.Assign) else None
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        if not targets or not all(isinstance(t, ast.Name) for t in targets):
            raise ExportError(
                cell.index,
                node.lineno,
                "a cell tagged parameters holds assignments of values to names only "
                "(n = 3); compute anything else in the cells below it",
            )
        try:
            default = ast.literal_eval(node.value)  # type: ignore[attr-defined]
        except ValueError:
            raise ExportError(
                cell.index,
                node.lineno,
                "a parameter's default must be a plain value (a number, a string, a boolean, "
                "None, or a list or dict of them): the run gives the value, the DAG its default",
            ) from None
        for target in targets:
            name = target.id  # type: ignore[attr-defined]
            found[name] = Parameter(name, default, comments.get(node.lineno, ""))
    return tuple(found.values())


def _comments(source: str) -> dict[int, str]:
    """The text of the comment on each line that has one."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string.lstrip("#").strip()
    return found
