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

import nbformat
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


def etl_demo_results(tmp_path: Path) -> Path:
    """Run the ETL demo notebook with isocell; the file its last cell writes its results to."""
    results = tmp_path / "notebook.json"
    run = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "run", str(NOTEBOOKS / "etl_to_airflow.ipynb")],
        env={**os.environ, "ISOCELL_RESULTS": str(results)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr
    return results


@needs_py39
def test_fidelity_notebook_and_airflow_compute_the_same(isocell_home, tmp_path):
    _airflow(3)
    notebook_results = etl_demo_results(tmp_path)
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
    _run_with_results(result, tmp_path)
    assert json.loads((tmp_path / "r.json").read_text())["legacy_version"] == "1.4.4"
    assert list((tmp_path / "store").glob("scoring-*.isocell"))


def _run_with_results(result, tmp_path: Path) -> None:
    """``airflow dags test`` of an export whose last task writes ``tmp_path / "r.json"``."""
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={
            "ISOCELL_RESULTS": str(tmp_path / "r.json"),
            "ISOCELL_VENV_CACHE": str(tmp_path / "v"),
        },
    )
    assert outcome.returncode == 0, outcome.output[-5000:]


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


def _params_notebook(path: Path) -> Path:
    """Parameters, the run's context, a plain cell, a same-Python isolated cell and a
    Python 3.9 virtualenv cell; the last cell writes what each saw to $ISOCELL_RESULTS."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext isocell"),
        nbformat.v4.new_code_cell(
            "n = 3  # units per region\nregion = 'north'\nratio = 0.5",
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(
            "import json, os\ntotal = n * 2\nstamp = f'{ds} {logical_date.year}'"
        ),
        nbformat.v4.new_code_cell(
            f"%%isolated --python {sys.executable} --name same_python\n"
            "label = f'{region}:{total}:{ts}'"
        ),
        nbformat.v4.new_code_cell(
            "%%isolated --python 3.9 --req six==1.16.0 --name py39\n"
            "import sys\n"
            "old = [sys.version_info[:2], n * ratio, logical_date.isoformat(), "
            "logical_date.tzinfo is not None, ds_nodash]"
        ),
        nbformat.v4.new_code_cell(
            "with open(os.environ['ISOCELL_RESULTS'], 'w') as handle:\n"
            "    json.dump({'total': total, 'stamp': stamp, 'label': label, 'old': old,\n"
            "               'params': params, 'end': str(data_interval_end)}, handle)"
        ),
    ]
    nbformat.write(notebook, str(path))
    return path


@needs_py39
def test_params_and_context_reach_every_kind_of_task(isocell_home, tmp_path):
    _airflow(3)
    path = _params_notebook(tmp_path / "params_run.ipynb")
    notebook_results = tmp_path / "notebook.json"
    command = [sys.executable, "-m", "isocell.cli", "run", str(path)]
    run = subprocess.run(
        [*command, "--logical-date", "2024-06-15", "-p", "n", "5"],
        env={**os.environ, "ISOCELL_RESULTS": str(notebook_results)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = export_notebook(path, tmp_path / "dags", data_dir=str(tmp_path / "data"))
    assert "Param(3, type='integer', description='units per region')" in result.text.replace(
        '"', "'"
    )
    dag_results = tmp_path / "airflow.json"
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={"ISOCELL_RESULTS": str(dag_results), "ISOCELL_VENV_CACHE": str(tmp_path / "venvs")},
        logical_date="2024-06-15",
        conf={"n": 5},
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    expected = json.loads(notebook_results.read_text())
    assert expected["total"] == 10 and expected["old"][0] == [3, 9]
    assert expected["params"] == {"n": 5, "region": "north", "ratio": 0.5}
    assert expected["old"][2:] == ["2024-06-15T00:00:00+00:00", True, "20240615"]
    assert json.loads(dag_results.read_text()) == expected


def test_params_and_context_render_for_airflow_2(isocell_home, tmp_path):
    _airflow(2)
    path = _params_notebook(tmp_path / "params_run.ipynb")
    result = export_notebook(path, tmp_path / "dags", airflow=2)
    assert "from airflow.models.param import Param" in result.text
    assert airflow_harness.import_errors(result.dag_file.parent, 2) == {}
    path = _lookups_notebook(tmp_path / "lookups_run.ipynb")
    result = export_notebook(path, tmp_path / "dags2", airflow=2)
    assert result.text.count("provide(airflow_lookups)") == 4  # the last cell fetches again
    assert airflow_harness.import_errors(result.dag_file.parent, 2) == {}


@needs_py39
def test_the_params_and_secrets_demo_runs_alike_in_airflow(isocell_home, tmp_path):
    _airflow(3)
    demo = NOTEBOOKS / "params_and_secrets.ipynb"
    notebook_results = tmp_path / "notebook.json"
    secrets = NOTEBOOKS / "demo_secrets"
    backend = {
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            {
                "variables_file_path": str(secrets / "variables.json"),
                "connections_file_path": str(secrets / "connections.json"),
            }
        ),
    }
    command = [sys.executable, "-m", "isocell.cli", "run", str(demo), "--logical-date"]
    run = subprocess.run(
        [*command, "2024-06-15", "-p", "n", "5", "-o", str(tmp_path / "executed.ipynb")],
        env={**os.environ, **backend, "ISOCELL_RESULTS": str(notebook_results)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    expected = json.loads(notebook_results.read_text())
    assert expected == {
        "authorized": True,
        "params": {"n": 5, "region": "north"},
        "report_day": "2024-06-15 (Saturday)",
        "total": 5,
    }
    saved = (tmp_path / "executed.ipynb").read_text()
    assert "demo-pass-42" not in saved and "demo-token-123" not in saved
    assert "with ***" in saved and "token ***" in saved
    assert "from warehouse.example token ***" in saved  # printed in the Python 3.9 cell
    result = export_notebook(demo, tmp_path / "dags", data_dir=str(tmp_path / "data"))
    dag_folder_text = "".join(p.read_text() for p in result.files if p.suffix in (".py", ".txt"))
    assert "demo-pass-42" not in dag_folder_text and "demo-token-123" not in dag_folder_text
    dag_results = tmp_path / "airflow.json"
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={
            **backend,
            "ISOCELL_RESULTS": str(dag_results),
            "ISOCELL_VENV_CACHE": str(tmp_path / "venvs"),
        },
        logical_date="2024-06-15",
        conf={"n": 5},
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert json.loads(dag_results.read_text()) == expected
    assert "from warehouse.example token ***" in outcome.output  # masked in the venv task
    assert "with ***" in outcome.output  # and in the plain task
    assert "demo-pass-42" not in outcome.output and "demo-token-123" not in outcome.output


ISOCELL_RUN = [sys.executable, "-m", "isocell.cli", "run"]
_TOKEN = "tok-s3cr3t-123"
_PASSWORD = "s3cr3t-pass"
_WAREHOUSE = f"postgres://analyst:{_PASSWORD}@db.example:5432/sales?sslmode=require"


def _lookups_cell(header: str, name: str) -> str:
    return (
        f"{header}from isocell import Connection as C, Variable\n"
        f"secret = Variable.get('api_token')\n"
        f"conn = C.get('warehouse')\n"
        f"print('{name} token', secret, 'password', conn.password)\n"
        f"{name} = [Variable.get('region'), len(secret), conn.host, conn.port, conn.login,\n"
        f"        conn.schema, conn.extra_dejson, Variable.get('config', deserialize_json=True),\n"
        f"        Variable.get('absent', default='fallback'), n, ds]"
    )


def _lookups_notebook(path: Path) -> Path:
    """A Variable, a JSON Variable, a sensitive Variable and a Connection read in a plain cell,
    a same-Python isolated cell and a Python 3.9 one; the last cell writes what each read."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext isocell"),
        nbformat.v4.new_code_cell("n = 3", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(_lookups_cell("import json, os\n", "plain")),
        nbformat.v4.new_code_cell(
            _lookups_cell(f"%%isolated --python {sys.executable} --name same_python\n", "same")
        ),
        nbformat.v4.new_code_cell(
            _lookups_cell("%%isolated --python 3.9 --req six==1.16.0 --name py39\n", "old")
        ),
        nbformat.v4.new_code_cell(
            "with open(os.environ['ISOCELL_RESULTS'], 'w') as handle:\n"
            "    json.dump({'plain': plain, 'same': same, 'old': old}, handle)"
        ),
    ]
    nbformat.write(notebook, str(path))
    return path


@needs_py39
def test_variables_and_connections_reach_every_kind_of_task(isocell_home, tmp_path):
    _airflow(3)
    path = _lookups_notebook(tmp_path / "lookups_run.ipynb")
    # The notebook reads Airflow's local sources: an environment variable and two files.
    (tmp_path / "variables.json").write_text(
        json.dumps({"region": "north", "config": json.dumps({"limit": 7})})
    )
    (tmp_path / "connections.json").write_text(json.dumps({"warehouse": _WAREHOUSE}))
    notebook_results = tmp_path / "notebook.json"
    executed = tmp_path / "executed.ipynb"
    run = subprocess.run(
        [
            *ISOCELL_RUN,
            str(path),
            "--logical-date",
            "2024-06-15",
            "-p",
            "n",
            "5",
            "-o",
            str(executed),
        ],
        env={
            **os.environ,
            "AIRFLOW_VAR_API_TOKEN": _TOKEN,
            "ISOCELL_VARIABLES_FILE": str(tmp_path / "variables.json"),
            "ISOCELL_CONNECTIONS_FILE": str(tmp_path / "connections.json"),
            "ISOCELL_RESULTS": str(notebook_results),
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    expected = json.loads(notebook_results.read_text())
    read = ["north", len(_TOKEN), "db.example", 5432, "analyst", "sales"]
    read += [{"sslmode": "require"}, {"limit": 7}, "fallback", 5, "2024-06-15"]
    assert expected == {"plain": read, "same": read, "old": read}
    saved = executed.read_text()
    assert _TOKEN not in saved and _PASSWORD not in saved
    assert saved.count("token *** password ***") == 3

    data = tmp_path / "data"
    result = export_notebook(path, tmp_path / "dags", data_dir=str(data))
    assert "airflow_lookups" in result.text
    assert "from isocell_runtime.airflow_lookups import Connection as C\n" in result.text
    assert "from isocell_runtime.airflow_lookups import Variable\n" in result.text
    # The lists hold Variables' values: the last task fetches them again, none is stored.
    assert result.text.count("# Fetched again, as cell") == 3
    dag_results = tmp_path / "airflow.json"
    # Airflow reads a Variable set by `airflow variables set`, one from AIRFLOW_VAR_ and a
    # Connection from `airflow connections add`.
    outcome = airflow_harness.dags_test(
        result.dag_file.parent,
        result.dag_id,
        env={
            "AIRFLOW_VAR_API_TOKEN": _TOKEN,
            "ISOCELL_RESULTS": str(dag_results),
            "ISOCELL_VENV_CACHE": str(tmp_path / "venvs"),
        },
        logical_date="2024-06-15",
        conf={"n": 5},
        setup=[
            ["variables", "set", "region", "north"],
            ["variables", "set", "config", json.dumps({"limit": 7})],
            ["connections", "add", "warehouse", "--conn-uri", _WAREHOUSE],
        ],
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert json.loads(dag_results.read_text()) == expected
    written = [p for p in [*result.dag_file.parent.rglob("*"), *data.rglob("*")] if p.is_file()]
    for secret in (_TOKEN, _PASSWORD):
        assert not [p for p in written if secret.encode() in p.read_bytes()], secret
    # Every task masks what it prints (`airflow dags test` itself prints task output as it is)
    for name in ("plain", "same", "old"):
        assert f"{name} token *** password ***" in outcome.output, name
    assert _TOKEN not in outcome.output and _PASSWORD not in outcome.output


def test_a_data_folder_another_user_planted_fails_the_task_in_airflow(isocell_home, tmp_path):
    from tests import hostile

    _airflow(3)
    path = tmp_path / "planted.ipynb"
    cells = [nbformat.v4.new_code_cell("x = 41"), nbformat.v4.new_code_cell("print(x + 1)")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    with hostile.shared_folder() as shared:
        planted = shared / "isocell-data"
        hostile.as_intruder("mkdir", "-m", "0777", str(planted))
        result = export_notebook(path, tmp_path / "dags", data_dir=str(planted))
        outcome = airflow_harness.dags_test(result.dag_file.parent, result.dag_id)
        assert outcome.returncode != 0
        assert "belongs to another user" in outcome.output, outcome.output[-3000:]
        assert not list(planted.iterdir())  # nothing written where the intruder can read


def test_lines_starting_with_a_hash_inside_strings_reach_the_task(isocell_home, tmp_path):
    """A string that spans lines reaches the task as it is: each line a piece of an implicit
    concatenation (the task's indentation cannot change it, and no line starts with ``#``,
    which Airflow drops from shipped bodies); an f-string, which cannot be rewritten so, sends
    its cell's code as one string literal."""
    _airflow(3)
    cells = [
        '%%isolated --req six==1.16.0 --name escaped\ntext = """first\n# not a comment\n'
        '    # indented\nlast"""',
        '%%isolated --req six==1.16.0 --name raw\nkept = r"""a\\b\n# kept"""',
        '%%isolated --req six==1.16.0 --name formatted\nshown = f"""{len(kept)}\n# kept"""',
        "import json, os\n"
        "with open(os.environ['ISOCELL_RESULTS'], 'w') as handle:\n"
        "    json.dump({'text': text, 'kept': kept, 'shown': shown}, handle)",
    ]
    path = tmp_path / "hashes.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path
    )
    result = export_notebook(path, tmp_path / "dags")
    lines = [line.lstrip() for line in result.text.splitlines()]
    assert not any(line.startswith("# not a comment") for line in lines)
    assert "exec(" in result.text  # the f-string's cell
    _run_with_results(result, tmp_path)
    assert json.loads((tmp_path / "r.json").read_text()) == {
        "text": "first\n# not a comment\n    # indented\nlast",
        "kept": "a\\b\n# kept",
        "shown": "10\n# kept",
    }
