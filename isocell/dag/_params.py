"""What a task takes from the run rather than from another task: the DAG's params (from the
notebook's cell tagged ``parameters``) and the values of the run's context.

Both reach every kind of task the same way, as templated arguments that Airflow renders to
text for each run (``"{{ params['n'] | tojson }}"``, ``"{{ ds }}"``), which the task body turns
back into the value (:func:`isocell_runtime.run_value`): so a ``@task.virtualenv`` or
``@task.external_python`` task needs neither Airflow nor pendulum in its environment, and
gets a ``datetime`` for a date, as the notebook does (:mod:`isocell.context`).
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass
from typing import Any

from isocell.context import CONTEXT_NAMES
from isocell.dag._collect import NotebookCell
from isocell.errors import ExportError
from isocell.params import COMPUTED, parameter_assignments

__all__ = ["RUN_VALUES", "Parameter", "read_parameters"]

# Context values Airflow gives as dates (pendulum's DateTime): rendered as ISO 8601 text,
# empty for a run without a logical date.
_DATES = ("logical_date", "data_interval_start", "data_interval_end")


def _run_value(name: str) -> tuple[str, str]:
    if name == "params":
        return "{{ dict(params) | tojson }}", "json"
    if name in _DATES:
        return "{{ " + name + ".isoformat() if " + name + " else '' }}", "datetime"
    return "{{ " + name + " }}", "text"


#: The context values a task may read, those the notebook binds (``isocell.context``): the
#: template Airflow renders, and how the task reads the text back (``text``: as it is;
#: ``json``; ``datetime``: ISO 8601, empty for None).
RUN_VALUES: dict[str, tuple[str, str]] = {name: _run_value(name) for name in CONTEXT_NAMES}

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
    for line, names, default in parameter_assignments(cell.source):
        if not names:
            raise ExportError(
                cell.index,
                line,
                "a cell tagged parameters holds assignments of values to names only "
                "(n = 3); compute anything else in the cells below it",
            )
        if default is COMPUTED:
            raise ExportError(
                cell.index,
                line,
                "a parameter's default must be a plain value (a number, a string, a boolean, "
                "None, or a list or dict of them): the run gives the value, the DAG its default",
            )
        for name in names:
            found[name] = Parameter(name, default, comments.get(line, ""))
    return tuple(found.values())


def _comments(source: str) -> dict[int, str]:
    """The text of the comment on each line that has one."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string.lstrip("#").strip()
    return found
