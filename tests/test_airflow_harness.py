"""The Airflow harness against a hand-written sample of an exported DAG, in a real Airflow.

The sample (``fixtures/sample_dags``) runs with ``airflow dags test`` in Airflow 3.3: a plain
task on pandas 3, a ``@task.virtualenv`` task on Python 3.9 with pandas 1.4.4, an
``@task.external_python`` task on an existing interpreter, and a plain task writing the results.
Its Airflow 2 rendering (``fixtures/sample_dags_v2``) is only checked to import in Airflow 2.10.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.airflow_harness import (
    DagBagView,
    DagsTestResult,
    airflow_venv,
    build_failure,
    dags_test,
    import_errors,
    installed_versions,
    parse_dags,
    pyenv_pythons,
)

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "sample_dags"
SAMPLE_V2 = FIXTURES / "sample_dags_v2"
PYTHONS = pyenv_pythons()


def needs_airflow(major: int) -> Path:
    bin_dir = airflow_venv(major)
    if bin_dir is None:
        pytest.skip(build_failure(major))
    return bin_dir


@pytest.fixture(scope="module")
def external_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An existing environment for ``@task.external_python``: pyenv's 3.10 (or 3.9) with six."""
    from uv import find_uv_bin

    base = PYTHONS.get("3.10") or PYTHONS.get("3.9")
    if base is None:
        pytest.skip("neither CPython 3.10 nor 3.9 is installed (pyenv)")
    venv = tmp_path_factory.mktemp("external") / "venv"
    uv = find_uv_bin()
    subprocess.run([uv, "venv", "--quiet", "--python", str(base), str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "six==1.16.0"], check=True
    )
    return python


@pytest.fixture(scope="module")
def sample_runs(
    tmp_path_factory: pytest.TempPathFactory, external_python: Path
) -> list[tuple[DagsTestResult, dict]]:
    """Two runs of the sample DAG sharing one ``venv_cache_path``, with their results files."""
    needs_airflow(3)
    if "3.9" not in PYTHONS:
        pytest.skip("CPython 3.9 is not installed (pyenv): the virtualenv task needs python3.9")
    work = tmp_path_factory.mktemp("sample-runs")
    runs = []
    for attempt in (1, 2):
        results = work / f"results-{attempt}.json"
        env = {
            "ASTRO_PYENV_sample": str(external_python),
            "ISOCELL_SAMPLE_VENV_CACHE": str(work / "venv-cache"),
            "ISOCELL_SAMPLE_DATA": str(work / f"data-{attempt}"),
            "ISOCELL_SAMPLE_RESULTS": str(results),
        }
        run = dags_test(SAMPLE, "isocell_sample", env=env)
        assert run.returncode == 0, run.output[-8000:]
        runs.append((run, json.loads(results.read_text())))
    return runs


def test_the_sample_imports_in_airflow_3():
    needs_airflow(3)
    assert installed_versions(3)["apache-airflow"].startswith("3.3.")
    assert parse_dags(SAMPLE, 3) == DagBagView(import_errors={}, dag_ids=["isocell_sample"])


def test_the_sample_runs_every_task_in_airflow_3(sample_runs):
    run, results = sample_runs[0]
    assert run.task_states == dict.fromkeys(
        ["load_sales", "summarize", "describe", "report"], "success"
    )
    assert results["totals"] == [
        {"city": "Lyon", "amount": 7},
        {"city": "Nice", "amount": 1},
        {"city": "Paris", "amount": 7},
    ]


def test_the_virtualenv_task_ran_pandas_1_4_4_on_python_3_9(sample_runs):
    run, results = sample_runs[0]
    summary = results["summary"]
    assert (summary["pandas"], summary["python"][:4]) == ("1.4.4", "3.9.")
    assert summary["rows"] == 5
    assert summary["where"]["runtime"] == str(SAMPLE / "sample_runtime")
    assert summary["comment_shipped"] is False  # Airflow drops `#` lines from the shipped source
    assert "Executing cmd: uv venv" in run.output  # uv on PATH: Airflow builds with it


def test_the_external_python_task_ran_on_its_own_interpreter(sample_runs, external_python):
    description = sample_runs[0][1]["description"]
    assert description["where"]["executable"] == str(external_python)
    assert description["where"]["runtime"] == str(SAMPLE / "sample_runtime")
    assert (description["cities"], description["six"]) == (["Lyon", "Nice", "Paris"], "1.16.0")


def test_venv_cache_path_reuses_the_virtualenv_task_environment(sample_runs):
    (first, _), (second, results) = sample_runs
    assert "New Python virtual environment created in" in first.output
    assert "Reusing cached Python virtual environment in" in second.output
    assert results["summary"]["pandas"] == "1.4.4"


def test_a_syntax_error_is_an_import_error(tmp_path):
    needs_airflow(3)
    broken = tmp_path / "broken_dag.py"
    broken.write_text("from airflow.sdk import dag\n\n\n@dag(schedule=None)\ndef broken(:\n")
    errors = import_errors(tmp_path, 3)
    assert list(errors) == [str(broken)]
    assert "SyntaxError" in errors[str(broken)]


def test_the_airflow_2_rendering_imports_in_airflow_2():
    needs_airflow(2)
    assert installed_versions(2)["apache-airflow"].startswith("2.")
    assert parse_dags(SAMPLE_V2, 2) == DagBagView(import_errors={}, dag_ids=["isocell_sample_v2"])


def test_the_airflow_3_rendering_fails_to_import_in_airflow_2():
    needs_airflow(2)
    errors = import_errors(SAMPLE, 2)
    assert len(errors) == 1
    assert "No module named 'airflow.sdk'" in next(iter(errors.values()))
