"""The context of an Airflow run in the notebook: its values, %isocell context, isocell run
--logical-date, and the same values read from a real Airflow 3 run."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.error import UsageError
from nbformat.v4 import new_code_cell, new_notebook

from isocell.context import CONTEXT_NAMES, parse_conf, parse_logical_date, run_context
from isocell.errors import IsocellError
from tests import airflow_harness

JUNE_15 = dt.datetime(2024, 6, 15, tzinfo=dt.timezone.utc)


def test_a_manual_run_at_a_date() -> None:
    asked = dt.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=dt.timezone.utc)
    context = run_context(JUNE_15, {"n": 5}, run_after=asked)
    assert context == {
        "logical_date": JUNE_15,
        "ds": "2024-06-15",
        "ds_nodash": "20240615",
        "ts": "2024-06-15T00:00:00+00:00",
        "ts_nodash": "20240615T000000",
        "ts_nodash_with_tz": "20240615T000000+0000",
        "data_interval_start": JUNE_15,
        "data_interval_end": JUNE_15,
        "run_id": "manual__2026-01-02T03:04:05.000678+00:00",
        "params": {"n": 5},
    }
    assert tuple(context) == CONTEXT_NAMES


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-06-15", JUNE_15),
        ("2024-06-15T06:30:00", JUNE_15.replace(hour=6, minute=30)),
        ("2024-06-15T08:30:00+02:00", JUNE_15.replace(hour=6, minute=30)),
        ("2024-06-15T06:30:00Z", JUNE_15.replace(hour=6, minute=30)),
    ],
)
def test_logical_dates(text: str, moment: dt.datetime) -> None:
    parsed = parse_logical_date(text)
    assert parsed == moment and parsed.tzinfo is not None
    assert run_context(parsed)["logical_date"].tzinfo == dt.timezone.utc


def test_no_logical_date_is_now() -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    assert before <= parse_logical_date(None) <= dt.datetime.now(dt.timezone.utc)


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (lambda: parse_logical_date("tomorrow"), "'tomorrow' is not a date"),
        (lambda: parse_logical_date("2024-13-01"), "YYYY-MM-DD"),
        (lambda: parse_conf("{n: 5}"), "is not JSON"),
        (lambda: parse_conf("[1, 2]"), "not a JSON object"),
    ],
)
def test_bad_dates_and_confs(call: Any, told: str) -> None:
    with pytest.raises(IsocellError, match=told):
        call()


# -- in the notebook -------------------------------------------------------------------------


def test_the_line_magic_binds_the_context(
    ip: Any, ns: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nb.ipynb"
    notebook = new_notebook()
    notebook.cells = [new_code_cell("n = 3\nregion = 'north'", metadata={"tags": ["parameters"]})]
    nbformat.write(notebook, str(path))
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    ns.update(n=3, region="north")
    ip.run_line_magic("isocell", """context --logical-date 2024-06-15 --conf '{"n": 5, "x": 1}'""")
    assert ns["ds"] == "2024-06-15" and ns["logical_date"] == JUNE_15
    assert ns["params"] == {"n": 5, "region": "north", "x": 1}
    assert ns["n"] == 5 and "x" not in ns  # a conf value sets a parameter, nothing else
    for name in CONTEXT_NAMES:
        del ns[name]


@pytest.mark.parametrize(
    ("line", "told"),
    [
        ("context --logical-date tomorrow", "'tomorrow' is not a date"),
        ("context --conf '[1]'", "not a JSON object"),
        ("context --nope", "unrecognized arguments: --nope"),
    ],
)
def test_the_line_magic_refuses(ip: Any, ns: dict[str, Any], line: str, told: str) -> None:
    before = dict(ns)
    with pytest.raises((IsocellError, UsageError), match=told):
        ip.run_line_magic("isocell", line)
    assert ns == before


@pytest.mark.slow
def test_isocell_run_binds_the_context_after_the_parameters(tmp_path: Path) -> None:
    notebook = new_notebook()
    notebook.cells = [
        new_code_cell("n = 3\nregion = 'north'", metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import json, pathlib\n"
            "pathlib.Path('out.json').write_text(json.dumps("
            "[ds, ts, run_id, params, n, region, logical_date.tzinfo is not None]))"
        ),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, str(path))
    command = [sys.executable, "-m", "isocell.cli", "run", str(path)]
    done = subprocess.run(
        [*command, "--logical-date", "2024-06-15", "--conf", '{"n": 5}', "-p", "region", "south"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    ds, ts, run_id, params, n, region, aware = json.loads((tmp_path / "out.json").read_text())
    assert (ds, ts) == ("2024-06-15", JUNE_15.isoformat())
    assert _asked_at(run_id) <= dt.datetime.now(dt.timezone.utc)
    assert params == {"n": 5, "region": "south"} and (n, region, aware) == (5, "south", True)


def _asked_at(run_id: str) -> dt.datetime:
    assert run_id.startswith("manual__"), run_id
    return dt.datetime.fromisoformat(run_id[len("manual__") :])


# -- against Airflow -------------------------------------------------------------------------

_CONTEXT_DAG = textwrap.dedent(
    """
    import datetime, json, os
    from airflow.sdk import dag, get_current_context, task

    @dag(schedule=None, start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
         catchup=False, params={"n": 3, "region": "north"})
    def context_probe():
        @task
        def write():
            context = get_current_context()
            out = {}
            for key in KEYS:
                value = context[key]
                out[key] = value.isoformat() if hasattr(value, "isoformat") else value
            out["params"] = dict(context["params"])
            with open(os.environ["CONTEXT_OUT"], "w") as handle:
                json.dump(out, handle)
        write()

    context_probe()
    """
)


@pytest.mark.slow
@pytest.mark.airflow
def test_the_values_are_airflows(tmp_path: Path) -> None:
    if airflow_harness.airflow_venv(3) is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")
    folder = tmp_path / "dags"
    folder.mkdir()
    keys = [name for name in CONTEXT_NAMES if name != "params"]
    (folder / "probe.py").write_text(f"KEYS = {keys!r}\n" + _CONTEXT_DAG)
    out = tmp_path / "context.json"
    asked = dt.datetime.now(dt.timezone.utc)
    outcome = airflow_harness.dags_test(
        folder,
        "context_probe",
        env={"CONTEXT_OUT": str(out)},
        logical_date="2024-06-15",
        conf={"n": 5},
    )
    assert outcome.returncode == 0, outcome.output[-3000:]
    airflow = json.loads(out.read_text())
    ours = run_context(parse_logical_date("2024-06-15"), {"n": 5, "region": "north"})
    expected = {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in ours.items()}
    # The run is named after the moment it was asked for, in both.
    assert asked <= _asked_at(airflow.pop("run_id")) <= dt.datetime.now(dt.timezone.utc)
    assert _asked_at(expected.pop("run_id")) >= asked
    assert airflow == expected
