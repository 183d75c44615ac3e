"""Parameters as papermill defines them: the cell tagged parameters, values given to a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from isocell.errors import IsocellError
from isocell.params import INJECTED_TAG, inject_parameters, parameter_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", 5),
        ("-2", -2),
        ("0.5", 0.5),
        ("1e3", 1000.0),
        ("True", True),
        ("False", False),
        ("None", None),
        ("true", "true"),  # papermill's rule: only Python's spelling is a boolean
        ("north", "north"),
        ("", ""),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_a_value_is_read_as_papermill_reads_it(text: str, value: object) -> None:
    assert parameter_value(text) == value and type(parameter_value(text)) is type(value)


def _notebook(*cells: object) -> nbformat.NotebookNode:
    notebook = new_notebook()
    notebook.cells = list(cells)
    return notebook


def test_the_values_go_in_a_cell_after_the_parameters_cell() -> None:
    defaults = new_code_cell(
        "n = 3  # how many\nregion = 'north'", metadata={"tags": ["parameters"]}
    )
    notebook = _notebook(new_markdown_cell("# Title"), defaults, new_code_cell("m = n * 2"))
    unknown = inject_parameters(notebook, {"n": 5, "other": "x"})
    assert unknown == ["other"]
    injected = notebook.cells[2]
    assert injected.metadata["tags"] == [INJECTED_TAG]
    assert injected.source == "# Parameters given to this run\nn = 5\nother = 'x'"
    assert notebook.cells[1] is defaults and notebook.cells[3].source == "m = n * 2"


def test_without_a_parameters_cell_the_values_go_first() -> None:
    notebook = _notebook(new_code_cell("m = 1"))
    assert inject_parameters(notebook, {"n": 5}) == ["n"]
    assert notebook.cells[0].source.endswith("n = 5")


def test_no_values_add_nothing() -> None:
    notebook = _notebook(new_code_cell("m = 1"))
    assert inject_parameters(notebook, {}) == [] and len(notebook.cells) == 1


@pytest.mark.parametrize(
    ("values", "told"),
    [
        ({"1x": 1}, "not a Python variable name"),
        ({"class": 1}, "not a Python variable name"),
        ({"n": object()}, "not a plain value"),
    ],
)
def test_bad_parameters_are_refused(values: dict, told: str) -> None:
    notebook = _notebook(new_code_cell("m = 1"))
    with pytest.raises(IsocellError, match=told):
        inject_parameters(notebook, values)
    assert len(notebook.cells) == 1


@pytest.mark.slow
def test_isocell_run_sets_the_parameters(tmp_path: Path) -> None:
    defaults = new_code_cell(
        "n = 3\nregion = 'north'\nratio = 0.5", metadata={"tags": ["parameters"]}
    )
    work = new_code_cell(
        "import json, pathlib\n"
        "pathlib.Path('out.json').write_text(json.dumps([n * 2, region, ratio, type(n).__name__]))"
    )
    path = tmp_path / "nb.ipynb"
    nbformat.write(_notebook(defaults, work), str(path))
    command = [sys.executable, "-m", "isocell.cli", "run", str(path), "-p", "n", "5"]
    done = subprocess.run(
        [*command, "-p", "region", "south", "-o", str(tmp_path / "out.ipynb")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == [10, "south", 0.5, "int"]
    executed = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    assert executed.cells[1].metadata["tags"] == [INJECTED_TAG]
    # The notebook itself is not changed.
    assert len(nbformat.read(str(path), as_version=4).cells) == 2
