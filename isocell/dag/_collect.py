"""Read a notebook into cells the export can use: the magic line parsed, IPython syntax handled.

IPython syntax has no place in an Airflow task. Magics that only set up the notebook
(``%load_ext``, ``%matplotlib``, ``%isocell``, ``%config``) are dropped with a comment; any
other magic or shell line (``!pip install``, ``%timeit``, ``x = !ls``) cannot be exported and
raises :class:`~isocell.errors.ExportError` naming the cell and line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from isocell.analysis import parse_cell
from isocell.errors import ExportError, OptionError, shown
from isocell.options import CellOptions, expansions, parse_branch_line, parse_cell_options

__all__ = ["NotebookCell", "expansion_name", "read_cells", "read_notebook"]

#: Line magics that only configure the notebook session: dropped from the export.
DROPPED_MAGICS = frozenset(
    {"load_ext", "reload_ext", "matplotlib", "isocell", "config", "autoreload"}
)


@dataclass(frozen=True)
class NotebookCell:
    """One code cell, ready for the model.

    Attributes
    ----------
    index : int
        Its position among the notebook's cells (0-based, markdown cells counted).
    source : str
        Plain Python: the cell's body, dropped magics removed.
    options : CellOptions or None
        For an ``%%isolated`` cell, its parsed options.
    magic_line : str
        The ``%%isolated ...`` line, or ``""``.
    dropped : tuple of str
        The magic lines that were dropped, for comments in the DAG.
    tags : tuple of str
        The cell's tags (``parameters`` marks the run's parameters, as papermill's).
    markdown : str
        The text of the markdown cell just before it, if there is one (its task's docstring).
    branch : tuple of str
        For a branch cell (``%%isolated --branch`` or ``%%branch``): the task ids it chooses
        among.
    requirement_templates : tuple of str
        Its ``--req`` values that IPython expands (``pandas=={version}``), as written; they
        are not in ``options``.
    recorded_lock : str or None
        The hash of the lock of the environment it last ran in, as the notebook recorded it
        (the cell's ``isocell`` metadata: ``isocell._cell_facts``).
    """

    index: int
    source: str
    options: CellOptions | None = None
    magic_line: str = ""
    dropped: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    markdown: str = ""
    branch: tuple[str, ...] = ()
    requirement_templates: tuple[str, ...] = ()
    recorded_lock: str | None = None

    @property
    def holds_parameters(self) -> bool:
        """Whether this is the cell tagged ``parameters``."""
        return "parameters" in self.tags

    @property
    def isolated(self) -> bool:
        return self.options is not None

    @property
    def requirement_names(self) -> tuple[str, ...]:
        """The names its per-run requirements take (``version`` of ``pandas=={version}``).

        Raises
        ------
        ExportError
            For an expansion that is not a name (``{version + "1"}``): only a parameter or a
            value an earlier cell makes can become a templated requirement.
        """
        names = []
        for text in self.requirement_templates:
            for found in expansions(text):
                name = expansion_name(found)
                if not name.isidentifier():
                    raise ExportError(
                        self.index,
                        1,
                        f"--req {text!r} expands {shown(found)!r}: a requirement of an exported "
                        "task may take a parameter or a value an earlier cell makes, by its "
                        "name ({name}); compute the text in an earlier cell",
                    )
                names.append(name)
        return tuple(dict.fromkeys(names))

    @property
    def offset(self) -> int:
        """Lines before the body in the notebook cell: 1 under a cell magic's line."""
        return 1 if self.magic_line else 0


def expansion_name(found: str) -> str:
    """What an expansion of :func:`~isocell.options.expansions` names: ``v`` of ``{ v }`` or
    ``$v`` (an expression's text where it is one)."""
    return found.strip("{}$").strip()


def _parse_isolated(line: str, index: int) -> tuple[CellOptions, tuple[str, ...]]:
    """The options of an ``%%isolated`` line, without its per-run requirements, and those
    (``--req pandas=={version}``, which IPython fills in from the notebook when the cell runs)
    as they are written."""
    try:
        options = parse_cell_options(line)
    except OptionError as error:
        raise ExportError(index, 1, f"the %%isolated options are invalid: {error}") from None
    requirements = options.environment.requirements
    templates = tuple(text for text in requirements if expansions(text))
    inside = [found for text in templates for found in expansions(text)]
    for found in expansions(line):
        if found in inside:
            inside.remove(found)
            continue
        raise ExportError(
            index,
            1,
            f"the %%isolated options use {shown(found)!r}, which IPython fills in from the "
            "notebook's variables when the cell runs; an export reads the saved line, so write "
            "the value itself (only a --req may take a parameter or an earlier cell's value, "
            "which becomes a templated requirement of the task)",
        )
    if templates and options.environment.environment_name is not None:
        raise ExportError(
            index, 1, "a named environment is used as registered; do not combine --env with --req"
        )
    if templates:
        kept = tuple(text for text in requirements if text not in templates)
        options = replace(options, environment=replace(options.environment, requirements=kept))
    return options, templates


def _parse_branch(line: str, index: int) -> tuple[str, ...]:
    try:
        return parse_branch_line(line)
    except OptionError as error:
        raise ExportError(index, 1, f"the %%branch line is invalid: {error}") from None


def read_notebook(path: Path, doing: str = "export") -> Any:
    """The notebook at ``path`` as nbformat 4 (older formats upgraded, as Jupyter does).

    Raises
    ------
    ExportError
        If there is no file, it is a folder, or it is not a Jupyter notebook; the message
        keeps nbformat's own reason.
    """
    import nbformat

    accepted = "give a Jupyter notebook: an .ipynb file as Jupyter saves it (nbformat 4 JSON)"
    if not path.exists():
        raise ExportError(None, None, f"there is no file {path}; {accepted}")
    if path.is_dir():
        raise ExportError(None, None, f"{path} is a folder, not a notebook file; {accepted}")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises several kinds for a bad file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ExportError(
            None, None, f"{path} is not a readable notebook ({reason}); {accepted}"
        ) from None


def _ipython_calls(python: str) -> list[tuple[int, str, str]]:
    """``(line, kind, name)`` of each ``get_ipython()...`` call IPython's transformer made."""
    found = []
    for node in ast.walk(parse_cell(python)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Call)
            and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython"
        ):
            name = ""
            if node.args and isinstance(node.args[0], ast.Constant):
                name = str(node.args[0].value)
            found.append((node.lineno, node.func.attr, name))
    return found


def _clean(body: str, index: int, first_line: int) -> tuple[str, tuple[str, ...]]:
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(body)
    try:
        calls = _ipython_calls(python)
    except SyntaxError as error:
        line = first_line + (error.lineno or 1) - 1
        raise ExportError(index, line, f"syntax error: {error.msg}") from None
    lines = python.splitlines()
    original = body.splitlines()
    dropped = []
    for lineno, kind, name in calls:
        text = original[lineno - 1].strip() if lineno - 1 < len(original) else ""
        if (
            kind == "run_line_magic"
            and name in DROPPED_MAGICS
            and lines[lineno - 1].startswith("get_ipython()")
        ):
            dropped.append(text)
            lines[lineno - 1] = ""
            continue
        raise ExportError(
            index,
            first_line + lineno - 1,
            f"{text!r} is IPython syntax ({kind} {name}) that an Airflow task cannot run; "
            "do it in the environment's requirements or in plain Python",
        )
    return "\n".join(lines).strip("\n") + "\n", tuple(dropped)


def read_cells(path: Path) -> list[NotebookCell]:
    """The code cells of the notebook at ``path``, in order, as plain Python.

    Raises
    ------
    ExportError
        If the file is not a notebook, a magic line cannot be exported, or a cell does not
        parse.
    """
    notebook = read_notebook(path)
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        before = notebook.cells[index - 1] if index else None
        markdown = before.source.strip() if before and before.cell_type == "markdown" else ""
        text = cell.source
        stripped = text.lstrip()
        if stripped.startswith(("%%isolated", "%%branch")):
            magic_line, _, body = stripped.partition("\n")
            options: CellOptions | None = None
            templates: tuple[str, ...] = ()
            if stripped.startswith("%%isolated"):
                line = magic_line[len("%%isolated") :].strip()
                options, templates = _parse_isolated(line, index)
                targets = options.branch or ()
            else:
                targets = _parse_branch(magic_line[len("%%branch") :].strip(), index)
            source, dropped = _clean(body, index, 2)
            tags = tuple(cell.get("metadata", {}).get("tags", []))
            cells.append(
                NotebookCell(
                    index,
                    source,
                    options,
                    magic_line.strip(),
                    dropped,
                    tags,
                    markdown,
                    targets,
                    templates,
                    (cell.get("metadata", {}).get("isocell") or {}).get("lock"),
                )
            )
        elif stripped.startswith("%%"):
            raise ExportError(
                index, 1, f"the cell magic {stripped.split()[0]!r} cannot be exported"
            )
        else:
            source, dropped = _clean(text, index, 1)
            if source.strip() or dropped:
                tags = tuple(cell.get("metadata", {}).get("tags", []))
                cells.append(NotebookCell(index, source, None, "", dropped, tags, markdown))
    return cells
