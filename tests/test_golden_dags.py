"""Golden files: the DAG each demo notebook exports, committed, so that every change to the
exporter shows as a diff of what users get.

To regenerate them after an intended change, run::

    ISOCELL_WRITE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_dags.py

then read ``git diff tests/golden`` before committing. The one value that depends on the
machine, the notebook's own Python (``python_version`` of a cell isolated on it), is written
as ``<notebook python>``.
"""

from __future__ import annotations

import ast
import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from isocell.dag import export_notebook

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
NOTEBOOKS = ["quickstart", "etl_to_airflow", "params_and_secrets"]
HOST = f'python_version="{sys.version_info.major}.{sys.version_info.minor}"'
PLACEHOLDER = 'python_version="<notebook python>"'


def _normalized(text: str) -> str:
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    text = text.replace(f"--python {minor} ", "--python <notebook python> ")  # the Dockerfile
    return text.replace(HOST, PLACEHOLDER)


def _compare(golden: Path, exported: str, what: str) -> None:
    if os.environ.get("ISOCELL_WRITE_GOLDEN"):
        golden.write_text(exported, encoding="utf-8")
        return
    expected = golden.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            exported.splitlines(keepends=True),
            str(golden.relative_to(ROOT)),
            "exported now",
        )
    )
    assert not diff, (
        f"the export of {what} differs from its golden file (if the change is intended, "
        f"regenerate: see this module's docstring):\n{diff}"
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_demo_notebook_exports_its_golden_dag(name: str, tmp_path: Path, isocell_home) -> None:
    result = export_notebook(ROOT / "notebooks" / f"{name}.ipynb", tmp_path / "dags")
    _compare(GOLDEN / f"{name}.py", _normalized(result.text), f"notebooks/{name}.ipynb")
    dockerfile = result.dag_file.parent / "Dockerfile.isocell"
    if dockerfile.exists():  # the image recipe of its @task.virtualenv environments
        text = _normalized(dockerfile.read_text(encoding="utf-8"))
        _compare(GOLDEN / f"{name}.Dockerfile.isocell", text, f"{name}'s Dockerfile")
    if os.environ.get("ISOCELL_WRITE_GOLDEN"):
        pytest.skip(f"wrote the golden files of {name}")


def _ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    from ruff.__main__ import find_ruff_bin

    return subprocess.run(
        [find_ruff_bin(), *args, "--isolated"], capture_output=True, text=True, cwd=cwd
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_an_exported_dag_reads_as_written_by_hand(name: str, tmp_path: Path, isocell_home) -> None:
    result = export_notebook(ROOT / "notebooks" / f"{name}.ipynb", tmp_path / "dags")
    dag = str(result.dag_file)
    lint = _ruff("check", "--extend-select", "I", dag, cwd=tmp_path)  # imports sorted too
    assert lint.returncode == 0, lint.stdout
    assert _ruff("format", "--check", dag, cwd=tmp_path).returncode == 0
    for node in ast.walk(ast.parse(result.text)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            given = [k for k in getattr(decorator, "keywords", []) if k.arg == "task_id"]
            # task_id= only where it is not the function's name
            assert not any(ast.literal_eval(k.value) == node.name for k in given), node.name
        body = [n for n in node.body if not isinstance(n, ast.FunctionDef)]
        if ast.get_docstring(node) is not None:
            body = body[1:]  # the markdown cell before the task's cell
        firsts = [isinstance(n, (ast.Import, ast.ImportFrom)) for n in body]
        # imports first: no import after the first other statement
        assert firsts == sorted(firsts, reverse=True), f"{node.name}: an import after code"
