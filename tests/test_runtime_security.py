"""The exported runtime trusts no payload it did not write (isocell_runtime, run as the
package an export puts beside the DAG, in its own interpreter). Issue #11, finding 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from isocell.dag import export_notebook
from tests import hostile


@pytest.fixture
def dag_folder(tmp_path: Path) -> Path:
    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    return export_notebook(path, tmp_path / "dags").dag_file.parent


def runtime(dag_folder: Path, home: Path, code: str, **env: str) -> dict:
    """Run ``code`` with ``isocell_runtime`` importable, as a task would; its last line of
    output, as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("ISOCELL_", "XDG_"))},
            "PYTHONPATH": str(dag_folder),
            "HOME": str(home),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


STORE = """
import json
from isocell_runtime import store, load, PayloadError
def attempt(action):
    try:
        return ["ok", action()]
    except PayloadError as error:
        return ["refused", str(error)]
"""


def test_the_default_data_folder_is_the_users_own_and_private(dag_folder, tmp_path):
    home = tmp_path / "home"
    answer = runtime(
        dag_folder,
        home,
        STORE + "ref = store({'x': 41}, 't', 'my_dag')['x']\nprint(json.dumps([ref, load(ref)]))",
    )
    reference, value = answer
    folder = home / ".local/share/isocell/airflow-data/my_dag"
    assert value == 41 and f":{folder}/t-" in reference
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    key = home / ".config/isocell/payload.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert key.read_text() not in "".join(p.read_text("latin-1") for p in folder.iterdir())


def test_a_changed_payload_is_never_unpickled(dag_folder, tmp_path):
    marker = tmp_path / "pwned"
    answer = runtime(
        dag_folder,
        tmp_path / "home",
        STORE
        + f"""
import os
from isocell_runtime import exchange
class Evil:
    def __reduce__(self):
        return (open, ({str(marker)!r}, "w"))
ref = store({{'x': 1}}, 't', 'd')['x']
path = ref.split(':', 2)[2].rpartition('#')[0]
os.unlink(path)
exchange.pack(path, {{'x': Evil()}}, None, {{}})   # same name, crafted content
print(json.dumps(attempt(lambda: load(ref))))
""",
    )
    assert answer[0] == "refused" and "does not match its reference" in answer[1]
    assert not marker.exists()


def test_a_payload_replaced_by_a_symlink_is_refused(dag_folder, tmp_path):
    answer = runtime(
        dag_folder,
        tmp_path / "home",
        STORE
        + """
import os
ref = store({'x': 1}, 't', 'd')['x']
path = ref.split(':', 2)[2].rpartition('#')[0]
other = store({'x': 2}, 't', 'd')['x'].split(':', 2)[2].rpartition('#')[0]
os.unlink(path)
os.symlink(other, path)
print(json.dumps(attempt(lambda: load(ref))))
""",
    )
    assert answer[0] == "refused" and "cannot open the payload" in answer[1]


def test_a_worker_with_another_key_reads_nothing(dag_folder, tmp_path):
    code = STORE + "print(json.dumps(store({'x': 1}, 't', 'd')['x']))"
    reference = runtime(dag_folder, tmp_path / "home", code, ISOCELL_PAYLOAD_KEY="one")
    again = STORE + f"print(json.dumps(attempt(lambda: load({reference!r}))))"
    answer = runtime(dag_folder, tmp_path / "home", again, ISOCELL_PAYLOAD_KEY="two")
    assert answer[0] == "refused" and "ISOCELL_PAYLOAD_KEY" in answer[1]
    assert runtime(dag_folder, tmp_path / "home", again, ISOCELL_PAYLOAD_KEY="one") == ["ok", 1]


def test_a_data_folder_others_can_write_is_refused(dag_folder, tmp_path):
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    code = (
        STORE + f"print(json.dumps(attempt(lambda: store({{'x': 1}}, 't', {str(open_folder)!r}))))"
    )
    answer = runtime(dag_folder, tmp_path / "home", code)
    assert answer[0] == "refused" and "writable by others (mode 777)" in answer[1]
    assert not list(open_folder.iterdir())


def test_a_data_folder_another_user_planted_is_refused(dag_folder, tmp_path):
    with hostile.shared_folder() as shared:
        planted = shared / "isocell-data"
        hostile.as_intruder("mkdir", "-m", "0755", str(planted))
        code = (
            STORE + f"print(json.dumps(attempt(lambda: store({{'x': 1}}, 't', {str(planted)!r}))))"
        )
        answer = runtime(dag_folder, tmp_path / "home", code)
        assert answer[0] == "refused" and "belongs to another user" in answer[1]
        assert not list(planted.iterdir())
        # nor may the intruder make the data folder itself a symlink to one of theirs
        link = shared / "linked"
        hostile.as_intruder("ln", "-s", str(planted), str(link))
        code = STORE + f"print(json.dumps(attempt(lambda: store({{'x': 1}}, 't', {str(link)!r}))))"
        answer = runtime(dag_folder, tmp_path / "home", code)
        assert answer[0] == "refused" and "symlink" in answer[1]
