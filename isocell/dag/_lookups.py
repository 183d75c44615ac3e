"""The Airflow Variables and Connections a cell reads, for tasks that receive them as
templated arguments.

A task in Airflow 3's own environment calls Airflow's ``Variable.get`` and
``Connection.get`` itself (``from isocell import`` becomes ``from airflow.sdk import``). An
isolated task (``@task.virtualenv``, ``@task.external_python``) has no Airflow to ask, and
Airflow 2 has no ``Connection.get``: there the task gets one more argument, a dict of Jinja
templates that Airflow renders at run time (``{{ var.value.get(KEY, ...) }}``,
``{{ conn[ID].as_json() }}``), and the cell's ``Variable`` and ``Connection`` are isocell's own
(``isocell_runtime.variables``), reading from that dict. So a value never enters the DAG file,
and Airflow's secrets masker knows it (Airflow registers what templates read).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from isocell.analysis import parse_cell
from isocell.errors import ExportError
from isocell.transfer import lookups

#: What a template renders for an absent Variable: the notebook side's marker.
MISSING = lookups.MISSING

__all__ = ["LOOKUPS_ARGUMENT", "MISSING", "Lookups", "find_lookups", "lookup_templates"]

#: The task parameter that receives the rendered templates.
LOOKUPS_ARGUMENT = "airflow_lookups"


@dataclass(frozen=True)
class Lookups:
    """The keys a cell reads, in the order it first reads them.

    Attributes
    ----------
    variables : tuple of str
        Keys of ``Variable.get``.
    connections : tuple of str
        Connection ids of ``Connection.get``.
    """

    variables: tuple[str, ...] = ()
    connections: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.variables or self.connections)


def find_lookups(code: str, cell: int) -> Lookups:
    """The Variables and Connections ``code`` reads through ``from isocell import Variable,
    Connection`` (under any alias).

    Parameters
    ----------
    code : str
        The task's code (valid Python).
    cell : int
        The cell's number as the notebook shows it, for errors.

    Raises
    ------
    ExportError
        When a key is not a string literal (``Variable.get(name)``): the task's templates are
        written at export time.
    """
    tree = parse_cell(code)
    classes: dict[str, str] = {}  # local name -> "Variable" | "Connection"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "isocell" and not node.level:
            for alias in node.names:
                if alias.name in ("Variable", "Connection"):
                    classes[alias.asname or alias.name] = alias.name
    found: dict[str, list[str]] = {"Variable": [], "Connection": []}
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in classes
        ):
            continue
        kind = classes[node.func.value.id]
        keyword = "key" if kind == "Variable" else "conn_id"
        argument = node.args[0] if node.args else None
        for named in node.keywords:
            if named.arg == keyword:
                argument = named.value
        if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
            raise ExportError(
                cell,
                node.lineno,
                f"{ast.unparse(node)}: an exported task reads Variables and Connections by "
                "literal keys (its templates are written at export time); write the key "
                "itself, e.g. Variable.get('api_token')",
            )
        if argument.value not in found[kind]:
            found[kind].append(argument.value)
    return Lookups(tuple(found["Variable"]), tuple(found["Connection"]))


def lookup_templates(lookups: Lookups) -> dict[str, dict[str, str]]:
    """The templated argument that brings ``lookups`` to a task:
    ``{"variables": {key: template}, "connections": {conn_id: template}}``.

    A Variable renders as its text (``deserialize_json`` is applied in the task); a missing
    one as ``MISSING`` (then the cell's default, or its ``KeyError``, applies, as with
    Airflow's ``Variable.get``). A Connection renders as Airflow's JSON form
    (``Connection.as_json()``); a missing one fails the render, as ``Connection.get`` fails
    in Airflow.
    """
    return {
        "variables": {
            key: f"{{{{ var.value.get({json.dumps(key)}, {json.dumps(MISSING)}) }}}}"
            for key in lookups.variables
        },
        "connections": {
            conn_id: f"{{{{ conn[{json.dumps(conn_id)}].as_json() }}}}"
            for conn_id in lookups.connections
        },
    }
