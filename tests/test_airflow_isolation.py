"""The exported DAG does what the notebook did (#13): external interpreters as themselves,
branches skipping the same cells as tasks. Real builds, real kernels, real Airflow 3.

Each test runs a notebook with ``isocell run``, exports it, runs the DAG with ``airflow dags
test`` and compares the results files the two runs write.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from isocell.dag import export_notebook
from tests import airflow_harness
from tests.conftest import PY39, needs_py39

pytestmark = [pytest.mark.slow, pytest.mark.airflow]


def _write_results(expression: str) -> str:
    """The last cell of every notebook here: writes ``expression`` to $ISOCELL_RESULTS."""
    return (
        "import json, os\n"
        "with open(os.environ['ISOCELL_RESULTS'], 'w') as handle:\n"
        f"    json.dump({expression}, handle)"
    )


def _airflow() -> None:
    if airflow_harness.airflow_venv(3) is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")


def _notebook(path: Path, *sources: str) -> Path:
    cells = [nbformat.v4.new_code_cell(source) for source in ("%load_ext isocell", *sources)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


def _isocell_run(path: Path, results: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "isocell.cli", "run", str(path), *extra],
        env={**os.environ, "ISOCELL_RESULTS": str(results)},
        capture_output=True,
        text=True,
        timeout=900,
    )


def _run_both(tmp_path: Path, path: Path, **dags_test: object) -> tuple[dict, dict, object]:
    """(the notebook's results, the DAG's results, the ``airflow dags test`` outcome)."""
    notebook_results = tmp_path / "notebook.json"
    run = _isocell_run(path, notebook_results)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = export_notebook(path, tmp_path / "dags", data_dir=str(tmp_path / "data"))
    dag_results = tmp_path / "airflow.json"
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={"ISOCELL_RESULTS": str(dag_results), "ISOCELL_VENV_CACHE": str(tmp_path / "v")},
        **dags_test,  # type: ignore[arg-type]
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    return json.loads(notebook_results.read_text()), json.loads(dag_results.read_text()), result


@pytest.fixture(scope="module")
def bare_py39(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python 3.9 virtual environment with six and no ipykernel, as an image or a PYENV of
    Astronomer's guide would have it."""
    from uv import find_uv_bin

    if PY39 is None:
        pytest.skip("CPython 3.9 is not installed (pyenv)")
    venv = tmp_path_factory.mktemp("bare") / "py39"
    uv = find_uv_bin()
    subprocess.run([uv, "venv", "--quiet", "--python", PY39, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "six==1.16.0"], check=True
    )
    probe = subprocess.run([str(python), "-c", "import ipykernel"], capture_output=True)
    assert probe.returncode != 0  # the point of the fixture
    return python


@needs_py39
def test_an_external_interpreter_without_ipykernel_exports_as_itself(
    isocell_home, tmp_path, bare_py39
):
    """``--env NAME`` of a registered interpreter and ``--python PATH`` run in the notebook
    with the kernel from the kernel layer; the export runs that interpreter itself."""
    _airflow()
    add = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "env", "add", "bare39", "--python", str(bare_py39)],
        capture_output=True,
        text=True,
    )
    assert add.returncode == 0, add.stderr
    path = _notebook(
        tmp_path / "external.ipynb",
        "%%isolated --env bare39\nimport six, sys\nnamed = [six.__version__, sys.version_info[:2]]",
        f"%%isolated --python {bare_py39}\nimport six\nby_path = six.__version__",
        _write_results("{'named': named, 'by_path': by_path}"),
    )
    expected, got, result = _run_both(tmp_path, path)
    assert expected == {"named": ["1.16.0", [3, 9]], "by_path": "1.16.0"}
    assert got == expected
    text = result.text
    assert text.count("    @task.external_python(") == 2 and "    @task.virtualenv(" not in text
    # ruff may wrap the call when the path is long: compare without white space
    assert "".join(text.split()).count(f'"{bare_py39}")') == 2


def _branches_notebook(path: Path) -> Path:
    """A branch in a Python 3.9 virtualenv over an isolated cell and a plain cell, a cell
    downstream of each, a branch in the notebook's kernel that may choose none, and a join."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext isocell"),
        nbformat.v4.new_code_cell("mode = 'big'\nn = 5", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "%%isolated --python 3.9 --req six==1.16.0 --branch big small --name pick\n"
            "import six\n"
            "'big' if mode == 'big' else ['small']"
        ),
        nbformat.v4.new_code_cell("%%isolated --name big\nbig_value = n * 100"),
        nbformat.v4.new_code_cell("small = n - 1"),
        nbformat.v4.new_code_cell("after_big = big_value + 1"),
        nbformat.v4.new_code_cell("after_small = small * 2"),
        nbformat.v4.new_code_cell("%%branch lucky\nNone if mode == 'big' else 'lucky'"),
        nbformat.v4.new_code_cell("lucky = n + 2"),
        nbformat.v4.new_code_cell("summary = [after_big, after_small, lucky]"),
        nbformat.v4.new_code_cell(_write_results("{'summary': summary}")),
    ]
    nbformat.write(notebook, str(path))
    return path


def _skipped_in_notebook(executed: Path) -> set[str]:
    """The task ids of the cells the notebook's run skipped (their notices)."""
    notebook = nbformat.read(str(executed), as_version=4)
    found = set()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            found |= set(re.findall(r"^isocell: skipped (\S+):", output.get("text", ""), re.M))
    return found


@needs_py39
@pytest.mark.parametrize(
    ("mode", "summary", "skipped"),
    [
        ("big", [501, None, None], {"small", "after_small", "lucky"}),
        ("small", [None, 8, 7], {"big", "after_big"}),
    ],
)
def test_branches_skip_the_same_cells_as_airflow_skips_tasks(
    isocell_home, tmp_path, mode, summary, skipped
):
    _airflow()
    path = _branches_notebook(tmp_path / "branches.ipynb")
    notebook_results, executed = tmp_path / "notebook.json", tmp_path / "executed.ipynb"
    run = _isocell_run(path, notebook_results, "-p", "mode", mode, "--output", str(executed))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert json.loads(notebook_results.read_text()) == {"summary": summary}
    assert _skipped_in_notebook(executed) == skipped
    result = export_notebook(path, tmp_path / "dags", data_dir=str(tmp_path / "data"))
    text = result.text
    assert "@task.branch_virtualenv(" in text and "    @task.branch\n" in text
    assert "pick_result >> [big_result, small_result]" in text
    dag_results = tmp_path / "airflow.json"
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={"ISOCELL_RESULTS": str(dag_results), "ISOCELL_VENV_CACHE": str(tmp_path / "v")},
        conf={"mode": mode},
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert json.loads(dag_results.read_text()) == {"summary": summary}
    states = outcome.task_states
    assert {task for task, state in states.items() if state == "skipped"} == skipped
    assert set(states.values()) == {"success", "skipped"}


@needs_py39
def test_per_run_requirements_are_templated_requirements(isocell_home, tmp_path):
    """``--req six=={six_version}`` (a parameter) and ``--req six==$pin`` (an earlier cell's
    value): the notebook builds from the expanded text, the task from Airflow's rendering."""
    _airflow()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext isocell"),
        nbformat.v4.new_code_cell("six_version = '1.16.0'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("pin = '1.15.0'"),
        nbformat.v4.new_code_cell(
            "%%isolated --python 3.9 --req six=={six_version} --name by_param\n"
            "import six\nfrom_param = six.__version__"
        ),
        nbformat.v4.new_code_cell(
            "%%isolated --python 3.9 --req six==$pin --name by_value\n"
            "import six\nfrom_value = six.__version__"
        ),
        nbformat.v4.new_code_cell(_write_results("[from_param, from_value]")),
    ]
    path = tmp_path / "per_run.ipynb"
    nbformat.write(notebook, str(path))
    notebook_results = tmp_path / "notebook.json"
    run = _isocell_run(path, notebook_results, "-p", "six_version", "1.17.0")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert json.loads(notebook_results.read_text()) == ["1.17.0", "1.15.0"]
    result = export_notebook(path, tmp_path / "dags", data_dir=str(tmp_path / "data"))
    assert '"six=={{ params.six_version }}"' in result.text
    assert 'key="pin__text"' in result.text
    dag_results = tmp_path / "airflow.json"
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={"ISOCELL_RESULTS": str(dag_results), "ISOCELL_VENV_CACHE": str(tmp_path / "v")},
        conf={"six_version": "1.17.0"},
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert json.loads(dag_results.read_text()) == ["1.17.0", "1.15.0"]


def test_pins_from_different_years_import_in_the_cell_and_the_task(isocell_home, tmp_path):
    """``pandas==1.5.3 requests==2.32.4`` resolves as of 2025, where numpy 2 breaks pandas
    1.5.3: the build imports pandas, holds numpy to pandas' release and says so; the task
    installs the same lock."""
    from tests.conftest import _pyenv_python

    if _pyenv_python("3.10") is None:
        pytest.skip("CPython 3.10 is not installed (pyenv)")
    _airflow()
    path = _notebook(
        tmp_path / "eras.ipynb",
        "%%isolated --python 3.10 --req pandas==1.5.3 requests==2.32.4 --name eras\n"
        "import numpy, pandas, requests\n"
        "versions = [pandas.__version__, numpy.__version__.split('.')[0], requests.__version__]",
        _write_results("versions"),
    )
    expected, got, result = _run_both(tmp_path, path)
    assert expected == ["1.5.3", "1", "2.32.4"]
    assert got == expected
    requirements = (result.dag_file.parent / "requirements" / "eras.txt").read_text()
    assert "numpy==1." in requirements and "pandas==1.5.3" in requirements


def test_branches_and_per_run_requirements_render_for_airflow_2(isocell_home, tmp_path):
    if airflow_harness.airflow_venv(2) is None:
        pytest.skip(f"Airflow 2 could not be installed: {airflow_harness.build_failure(2)}")
    path = _branches_notebook(tmp_path / "branches.ipynb")
    result = export_notebook(path, tmp_path / "dags", airflow=2)
    assert "from airflow.decorators import dag, task" in result.text
    assert airflow_harness.import_errors(result.dag_file.parent, 2) == {}
