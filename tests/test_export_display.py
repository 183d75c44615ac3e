"""IPython's display API in exported tasks: imports taken from ``isocell_runtime.display``, a
bare ``display(...)`` given one, and what is displayed printed to the task log as text."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

import isocell.dag
from isocell.dag import export_notebook


def _runtime_display():
    """``isocell_runtime.display`` as a task imports it (the package runs only when copied
    beside the DAG, with the wire modules: this module stands alone)."""
    import importlib.util

    path = Path(isocell.dag.__file__).parent / "runtime" / "display.py"
    spec = importlib.util.spec_from_file_location("isocell_runtime_display", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_display_calls_become_task_log_lines(isocell_home, tmp_path):
    path = tmp_path / "nb.ipynb"
    cells = [
        "rows = [1, 2]",
        "from IPython.display import display, HTML, Markdown\n"
        "display(rows)\ndisplay(HTML('<b>hi</b>'), Markdown('# t'))\nn = len(rows)",
        "display(n)\nm = n + 1",
    ]
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), path)
    text = export_notebook(path, tmp_path / "out").text
    assert "IPython" not in text.split('"""', 2)[2]  # nothing imports IPython in a task
    assert "from isocell_runtime.display import HTML, Markdown, display" in text
    assert text.count("from isocell_runtime.display import display\n") == 1  # for cell 3
    assert (tmp_path / "out" / "isocell_runtime" / "display.py").is_file()


def test_what_is_displayed_is_printed_as_text(capsys):
    runtime_display = _runtime_display()
    runtime_display.display([1, 2], runtime_display.HTML("<b>x</b>"))
    runtime_display.display({"text/plain": "plain", "text/html": "<i>"}, raw=True)
    runtime_display.display(runtime_display.Image(b"\x89PNG"), runtime_display.IFrame("u"))
    runtime_display.clear_output()
    assert capsys.readouterr().out.splitlines() == [
        "[1, 2]", "<b>x</b>", "plain", "<Image: 4 bytes>", "u",
    ]  # fmt: skip
