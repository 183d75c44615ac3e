"""Exported DAGs in a real Airflow: import checks (Airflow 3 and 2) and the fidelity test.

The fidelity test runs the demo notebook with isocell and its exported DAG with
``airflow dags test``; the notebook's last cell writes its final values to a results file in
both runs, and the two files must be equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from isocell.dag import export_notebook
from tests import airflow_harness
from tests.conftest import needs_py39

pytestmark = [pytest.mark.slow, pytest.mark.airflow]
NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def _airflow(major: int) -> Path:
    folder = airflow_harness.airflow_venv(major)
    if folder is None:
        pytest.skip(
            f"Airflow {major} could not be installed: {airflow_harness.build_failure(major)}"
        )
    return folder


@needs_py39
@pytest.mark.parametrize("name", ["quickstart", "etl_to_airflow"])
@pytest.mark.parametrize("major", [3, 2])
def test_exported_demos_import_without_errors(isocell_home, tmp_path, name, major):
    _airflow(major)
    result = export_notebook(NOTEBOOKS / f"{name}.ipynb", tmp_path / "dags", airflow=major)
    assert airflow_harness.import_errors(result.dag_file.parent, major) == {}


def test_a_broken_export_would_be_caught(tmp_path):
    _airflow(3)
    (tmp_path / "broken.py").write_text("from airflow.sdk import dag\n@dag(\n")
    assert airflow_harness.import_errors(tmp_path, 3) != {}


@needs_py39
def test_fidelity_notebook_and_airflow_compute_the_same(isocell_home, tmp_path):
    _airflow(3)
    notebook_results = tmp_path / "notebook.json"
    run = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "run", str(NOTEBOOKS / "etl_to_airflow.ipynb")],
        env={**os.environ, "ISOCELL_RESULTS": str(notebook_results)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr
    result = export_notebook(
        NOTEBOOKS / "etl_to_airflow.ipynb", tmp_path / "dags", data_dir=str(tmp_path / "data")
    )
    dag_results = tmp_path / "airflow.json"
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={"ISOCELL_RESULTS": str(dag_results), "ISOCELL_VENV_CACHE": str(tmp_path / "venvs")},
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    print(f"airflow dags test: {outcome.seconds:.1f} s, states {outcome.task_states}")
    expected = json.loads(notebook_results.read_text())
    assert json.loads(dag_results.read_text()) == expected
    assert expected["legacy_version"] == "1.4.4"
    # the values really travelled as payload files, not inside XCom
    assert list((tmp_path / "data").glob("legacy_report-*.isocell"))


@needs_py39
def test_values_can_travel_through_an_fsspec_url(isocell_home, tmp_path):
    """``--data-dir`` as a URL: payloads go through fsspec (here its ``file://`` filesystem,
    as through ``s3://`` in a deployment on many machines)."""
    _airflow(3)
    result = export_notebook(
        NOTEBOOKS / "etl_to_airflow.ipynb",
        tmp_path / "dags",
        data_dir=f"file://{tmp_path / 'store'}",
    )
    assert "fsspec==" in (result.dag_file.parent / "requirements" / "legacy_report.txt").read_text()
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={
            "ISOCELL_RESULTS": str(tmp_path / "r.json"),
            "ISOCELL_VENV_CACHE": str(tmp_path / "v"),
        },
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert json.loads((tmp_path / "r.json").read_text())["legacy_version"] == "1.4.4"
    assert list((tmp_path / "store").glob("scoring-*.isocell"))


@needs_py39
def test_quickstart_dag_runs_in_airflow(isocell_home, tmp_path):
    _airflow(3)
    result = export_notebook(
        NOTEBOOKS / "quickstart.ipynb", tmp_path / "dags", data_dir=str(tmp_path / "data")
    )
    outcome = airflow_harness.dags_test(
        result.dag_file.parent, result.dag_id, env={"ISOCELL_VENV_CACHE": str(tmp_path / "v")}
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert set(outcome.task_states.values()) == {"success"}
    assert set(outcome.task_states) == set(result.tasks)
