"""A notebook's parameters, as papermill defines them: the cell tagged ``parameters``.

The cell holds the defaults (``n = 3``); a run with other values gets a new cell tagged
``injected-parameters`` right after it (at the top when no cell is tagged), which assigns the
given values, so the notebook's own code is never edited (papermill's ``parameterize``).
Values given as text are read as papermill reads ``-p NAME VALUE``
(``papermill.cli._resolve_type``): ``True``, ``False``, ``None``, an int, a float, else the
text itself.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any

from isocell.errors import IsocellError, shown

__all__ = [
    "COMPUTED",
    "CONTEXT_TAG",
    "INJECTED_TAG",
    "PARAMETERS_TAG",
    "add_context_cell",
    "declared_parameters",
    "inject_parameters",
    "parameter_assignments",
    "parameter_value",
]

#: The tag of the cell that holds the defaults (papermill's).
PARAMETERS_TAG = "parameters"
#: The tag of the cell a run with other values adds (papermill's).
INJECTED_TAG = "injected-parameters"
#: The tag of the cell ``isocell run --logical-date`` adds.
CONTEXT_TAG = "injected-context"


def parameter_value(text: str) -> Any:
    """A value given as text on a command line, read as papermill reads ``-p NAME VALUE``.

    ``"True"``/``"False"`` → bool, ``"None"`` → None, ``"5"`` → 5, ``"0.5"`` → 0.5, anything
    else the text itself (``"north"``).
    """
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _parameters_cell(notebook: Any) -> int | None:
    for index, cell in enumerate(notebook.cells):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return index
    return None


#: Stands for a default that is not a literal (``start = date.today()``).
COMPUTED = ...


def parameter_assignments(source: str) -> list[tuple[int, tuple[str, ...], Any]]:
    """Each top-level statement of a ``parameters`` cell as ``(line, names, default)``:
    ``names`` the names it assigns (``()`` for a statement that is no assignment to names),
    ``default`` the literal it assigns or :data:`COMPUTED`.

    Raises
    ------
    SyntaxError
        When ``source`` does not parse.
    """
    import ast

    found: list[tuple[int, tuple[str, ...], Any]] = []
    for node in ast.parse(source).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        if not targets or not all(isinstance(t, ast.Name) for t in targets):
            found.append((node.lineno, (), COMPUTED))
            continue
        try:
            default = ast.literal_eval(node.value)  # type: ignore[attr-defined]
        except ValueError:
            default = COMPUTED
        found.append((node.lineno, tuple(t.id for t in targets), default))  # type: ignore[attr-defined]
    return found


def declared_parameters(notebook: Any) -> dict[str, Any]:
    """The names the ``parameters`` cell assigns, with their defaults (:data:`COMPUTED` where
    the default is not a literal).

    Returns
    -------
    dict
        Empty when no cell is tagged ``parameters`` or it does not parse.
    """
    index = _parameters_cell(notebook)
    if index is None:
        return {}
    try:
        statements = parameter_assignments(notebook.cells[index].source)
    except SyntaxError:
        return {}
    return {name: default for _, names, default in statements for name in names}


def inject_parameters(notebook: Any, values: Mapping[str, Any]) -> list[str]:
    """Add the cell that sets ``values``, after the ``parameters`` cell (or at the top).

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        Changed in place.
    values : mapping
        Parameter names and values; each value must have a ``repr`` that Python reads back
        (numbers, strings, booleans, None, lists and dicts of them).

    Returns
    -------
    list of str
        The names given that the ``parameters`` cell does not assign (papermill warns of
        them too); the cell is added all the same. Nothing is added when ``values`` is empty.

    Raises
    ------
    IsocellError
        For a name that is not a Python identifier, or a value that does not read back.
    """
    import ast

    from nbformat.v4 import new_code_cell

    if not values:
        return []
    lines = ["# Parameters given to this run"]
    for name, value in values.items():
        if not name.isidentifier() or keyword.iskeyword(name):
            raise IsocellError(
                f"parameter {shown(name)!r} is not a Python variable name: give names such as "
                "n or start_date"
            )
        text = repr(value)
        try:
            ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise IsocellError(
                f"parameter {name}: {shown(text)} is not a plain value (a number, a string, a "
                "boolean, None, or a list or dict of them)"
            ) from None
        lines.append(f"{name} = {text}")
    index = _parameters_cell(notebook)
    declared = set(declared_parameters(notebook))
    at = index + 1 if index is not None else 0
    cell = new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    notebook.cells.insert(at, cell)
    return [name for name in values if name not in declared]


def add_context_cell(notebook: Any, logical_date: str, params: Mapping[str, Any]) -> int:
    """Add, after the parameters (given or declared), a cell that binds the context of a
    manual Airflow run at ``logical_date`` with ``params`` (:func:`isocell.context.bind`);
    returns its index.

    Raises
    ------
    IsocellError
        For a param whose value does not read back (see :func:`inject_parameters`).
    """
    import ast

    from nbformat.v4 import new_code_cell

    text = repr(dict(params))
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise IsocellError(f"params {shown(text)} are not plain values") from None
    at = 0
    for index, cell in enumerate(notebook.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if PARAMETERS_TAG in tags or INJECTED_TAG in tags:
            at = index + 1
    source = (
        "# The context of a manual Airflow run (isocell run --logical-date / --conf)\n"
        f"__import__('isocell.context').context.bind(globals(), {logical_date!r}, {text})"
    )
    notebook.cells.insert(at, new_code_cell(source, metadata={"tags": [CONTEXT_TAG]}))
    return at
