"""Airflow's Variables and Connections in the notebook and in isolated cells, from Airflow's
local sources: environment variables and LocalFilesystemBackend files."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from isocell import Connection, Variable
from isocell.transfer._wire.variables import ConnectionNotFound, VariableNotFound
from tests import airflow_harness


@pytest.fixture(autouse=True)
def _no_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ISOCELL_VARIABLES_FILE", "ISOCELL_CONNECTIONS_FILE", "AIRFLOW__SECRETS__BACKEND"):
        monkeypatch.delenv(name, raising=False)


def test_a_variable_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_API_TOKEN", "s3cr3t")
    monkeypatch.setenv("AIRFLOW_VAR_SETTINGS", '{"n": 5}')
    assert Variable.get("api_token") == "s3cr3t"
    assert Variable.get("settings", deserialize_json=True) == {"n": 5}
    assert Variable.get("missing", default="x") == "x"
    assert Variable.get("missing", default=None) is None
    with pytest.raises(KeyError, match="VARIABLE_NOT_FOUND: Variable missing does not exist"):
        Variable.get("missing")


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".env"])
def test_variables_from_a_local_filesystem_backend_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"variables{suffix}"
    text = {
        ".json": '{"region": "north", "limits": {"n": 5}}',
        ".yaml": "region: north\nlimits:\n  n: 5\n",
        ".env": '# comment\nregion=north\nlimits={"n": 5}\n',
    }[suffix]
    path.write_text(text)
    monkeypatch.setenv("ISOCELL_VARIABLES_FILE", str(path))
    assert Variable.get("region") == "north"
    assert Variable.get("limits", deserialize_json=True) == {"n": 5}
    # The environment comes first, as in Airflow.
    monkeypatch.setenv("AIRFLOW_VAR_REGION", "south")
    assert Variable.get("region") == "south"


def test_airflows_own_backend_setting_names_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "v.json").write_text('{"k": "from airflow settings"}')
    monkeypatch.setenv(
        "AIRFLOW__SECRETS__BACKEND",
        "airflow.secrets.local_filesystem.LocalFilesystemBackend",
    )
    monkeypatch.setenv(
        "AIRFLOW__SECRETS__BACKEND_KWARGS",
        json.dumps({"variables_file_path": str(tmp_path / "v.json")}),
    )
    assert Variable.get("k") == "from airflow settings"


URIS = [
    "postgres://user:pa%2Fss@db.example:5432/warehouse",
    "postgresql://u:p@h/s",
    "my-conn-type://login:password@host:1234/schema?param1=val1&param2=val2",
    "aws://?__extra__=%7B%22region_name%22%3A+%22eu-west-1%22%2C+%22n%22%3A+1%7D",
    "http://https%3A%2F%2Fapi.example/",
    "sqlite://",
]


def _fields(connection: Any) -> dict[str, Any]:
    names = ("conn_type", "host", "login", "password", "schema", "port", "extra_dejson")
    return {name: getattr(connection, name) for name in names}


def test_connections_from_the_environment_as_uri_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", URIS[0])
    conn = Connection.get("warehouse")
    assert _fields(conn) == {
        "conn_type": "postgres",
        "host": "db.example",
        "login": "user",
        "password": "pa/ss",
        "schema": "warehouse",
        "port": 5432,
        "extra_dejson": {},
    }
    assert conn.get_uri() == URIS[0]
    monkeypatch.setenv(
        "AIRFLOW_CONN_API",
        json.dumps({"conn_type": "http", "host": "api.example", "extra": {"timeout": 3}}),
    )
    assert Connection.get("api").extra_dejson == {"timeout": 3}
    with pytest.raises(ConnectionNotFound, match="CONNECTION_NOT_FOUND"):
        Connection.get("nowhere")
    assert issubclass(VariableNotFound, KeyError)


@pytest.mark.slow
@pytest.mark.airflow
def test_connections_parse_as_airflow_parses_them(tmp_path: Path) -> None:
    folder = airflow_harness.airflow_venv(3)
    if folder is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")
    script = textwrap.dedent(
        f"""
        import json
        from airflow.models.connection import Connection
        out = []
        for uri in {URIS!r}:
            c = Connection(conn_id="x", uri=uri)
            out.append([c.conn_type, c.host, c.login, c.password, c.schema, c.port,
                        c.extra_dejson, c.get_uri()])
        print(json.dumps(out))
        """
    )
    done = subprocess.run(
        [str(folder / "python"), "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    airflow = json.loads(done.stdout.strip().splitlines()[-1])
    ours = []
    for uri in URIS:
        c = Connection.from_uri("x", uri)
        ours.append([*_fields(c).values(), c.get_uri()])
    assert ours == airflow


@pytest.mark.slow
def test_an_isolated_cell_reads_them_too(
    ip: Any, ns: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_API_TOKEN", "tok-123")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", URIS[0])
    ip.run_cell_magic(
        "isolated",
        "--restart",
        "from isocell import Variable, Connection\n"
        "token = Variable.get('api_token')\n"
        "host = Connection.get('warehouse').host",
    )
    assert (ns["token"], ns["host"]) == ("tok-123", "db.example")
    ip.run_line_magic("isocell", "stop")


def _notebook(path: Path, *sources: str) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook()
    notebook.cells = [new_code_cell(source) for source in sources]
    nbformat.write(notebook, str(path))
    return path


def test_an_isolated_task_receives_its_lookups_as_templates(tmp_path: Path) -> None:
    from isocell.dag import export_notebook

    path = _notebook(
        tmp_path / "nb.ipynb",
        "%%isolated --name reader\nfrom isocell import Variable, Connection as C\n"
        "token = Variable.get('api_token', default=None)\nhost = C.get(conn_id='db').host\n"
        "again = Variable.get(key='api_token')",
    )
    text = export_notebook(path, tmp_path / "dags").text
    assert "def reader(airflow_lookups):" in text
    assert "provide(airflow_lookups)" in text
    assert "from isocell_runtime.variables import Connection as C\n" in text
    assert "from isocell_runtime.variables import Variable, provide\n" in text
    assert """'{{ var.value.get("api_token", "isocell:no-such-variable") }}'""" in text
    assert """'{{ conn["db"].as_json() }}'""" in text
    assert text.count("var.value.get") == 1  # one template for the key read twice


@pytest.mark.parametrize("call", ["Variable.get(name)", "Variable.get(key=f'{name}')"])
def test_a_key_that_is_not_a_literal_is_an_export_error(tmp_path: Path, call: str) -> None:
    from isocell.dag import export_notebook
    from isocell.errors import ExportError

    path = _notebook(
        tmp_path / "nb.ipynb",
        "name = 'k'",
        f"%%isolated --name reader\nfrom isocell import Variable\ntoken = {call}",
    )
    with pytest.raises(ExportError, match="literal keys") as raised:
        export_notebook(path, tmp_path / "dags")
    assert "cell 2" in str(raised.value)


def test_airflow_2_tasks_receive_lookups_as_templates_too(tmp_path: Path) -> None:
    from isocell.dag import export_notebook

    path = _notebook(
        tmp_path / "nb.ipynb", "from isocell import Variable\ntoken = Variable.get('t')"
    )
    text = export_notebook(path, tmp_path / "dags", airflow=2).text
    assert "provide(airflow_lookups)" in text and "airflow.sdk" not in text


@pytest.mark.slow
@pytest.mark.airflow
def test_a_plain_task_reads_airflows_variables_and_connections(tmp_path: Path) -> None:
    from isocell.dag import export_notebook

    if airflow_harness.airflow_venv(3) is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")
    path = _notebook(
        tmp_path / "secrets_run.ipynb",
        "import json, os\nfrom isocell import Connection, Variable\n"
        "token = Variable.get('api_token')\nhost = Connection.get('warehouse').host\n"
        "with open(os.environ['OUT'], 'w') as handle:\n"
        "    json.dump([len(token), host], handle)",
    )
    result = export_notebook(path, tmp_path / "dags")
    assert "from isocell_runtime.airflow_lookups import Connection, Variable" in result.text
    assert "s3cr3t-value" not in result.text
    out = tmp_path / "out.json"
    env = {
        "OUT": str(out),
        "AIRFLOW_VAR_API_TOKEN": "s3cr3t-value",
        "AIRFLOW_CONN_WAREHOUSE": URIS[0],
    }
    outcome = airflow_harness.dags_test(result.dag_file.parent, result.dag_id, env=env)
    assert outcome.returncode == 0, outcome.output[-3000:]
    assert json.loads(out.read_text()) == [12, "db.example"]


def test_which_variables_are_secrets_follows_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    from isocell.transfer._wire.variables import is_sensitive

    assert is_sensitive("api_token") and is_sensitive("DB_PASSWORD") and is_sensitive("my_secret")
    assert not is_sensitive("region")
    monkeypatch.setenv("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", "region, other")
    assert is_sensitive("region")


@pytest.mark.slow
def test_printed_secrets_show_as_stars_in_the_saved_notebook(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import nbformat

    path = _notebook(
        tmp_path / "nb.ipynb",
        "%load_ext isocell",
        "from isocell import Connection, Variable\n"
        "token = Variable.get('api_token')\nprint('token', token)\n"
        "print('password', Connection.get('warehouse').password)\n"
        "print('region', Variable.get('region'))",
        "%%isolated\nfrom isocell import Variable\nprint('child', Variable.get('api_token'))\n"
        "import sys\nprint('child error', Variable.get('api_token'), file=sys.stderr)",
        # displayed values and errors, in the notebook and in a child
        "print('later', token)\nfrom IPython.display import display, Markdown\ndisplay(token)\n"
        "display(Markdown(f'**{token}**'))\n{'token': token}",
        "%%isolated\nfrom IPython.display import display\ndisplay(token)\ntoken",
        "%%isolated\nfrom isocell import Connection as C\n"
        "child_password = C.get('warehouse').password",
        "print('returned', child_password)\nchild_password",
        "%%isolated\nraise ValueError(f'bad token {token}')",  # the run stops here
    )
    env = {
        **os.environ,
        "AIRFLOW_VAR_API_TOKEN": "tok-12345",
        "AIRFLOW_VAR_REGION": "north",
        "AIRFLOW_CONN_WAREHOUSE": "postgres://u:hunter22@h/s",
    }
    out = tmp_path / "out.ipynb"
    done = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "run", str(path), "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 1 and "bad token ***" in done.stderr, done.stderr[-3000:]
    saved = out.read_text()
    assert "tok-12345" not in saved and "hunter22" not in saved
    for stream in (done.stdout, done.stderr):
        assert "tok-12345" not in stream and "hunter22" not in stream
    texts = [
        "".join(o.get("text", ""))
        for c in nbformat.reads(saved, 4).cells
        for o in c.get("outputs", [])
    ]
    joined = "".join(texts)
    for line in ("token ***", "password ***", "region north", "child ***", "child error ***"):
        assert line in joined, joined
    assert "later ***" in joined  # printed in a later cell (IPython rewraps streams per cell)
    assert "returned ***" in joined  # a secret read in a child, printed in the notebook
    shown = [o for c in nbformat.reads(saved, 4).cells for o in c.get("outputs", [])]
    data = [o["data"] for o in shown if "data" in o]
    assert {"text/plain": "'***'"} in data  # display(token), and a child's last value
    assert {"text/markdown": "*******"} in [
        {k: v for k, v in d.items() if k != "text/plain"} for d in data
    ]
    assert any(d.get("text/plain") == "{'token': '***'}" for d in data)
    errors = [o for o in shown if o.get("output_type") == "error"]
    assert errors and errors[-1]["evalue"].endswith("bad token ***")
