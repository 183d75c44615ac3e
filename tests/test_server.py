"""The jupyter_server extension's REST API, through a real Jupyter server and real builds.

Requests go through jupyter_server's own test fixtures (``jp_fetch`` sends the server's
token); every test has its own server, its own root folder and an empty ``ISOCELL_HOME``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from tornado.httpclient import HTTPClientError, HTTPResponse
from traitlets.config import Config

from isocell.errors import RegistryRepairedWarning

pytest_plugins = ["pytest_jupyter.jupyter_server"]

HOST_PYTHON = getattr(sys, "_base_executable", None) or sys.executable
# jupyter_server's fixtures give each test a new HOME; uv keeps its download cache where it was.
UV_CACHE = os.environ.get("UV_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "uv"
)


@pytest.fixture
def jp_server_config() -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"isocell.server": True}}})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ISOCELL_HOME (not ``tmp_path / "home"``: that is the fixtures' HOME)."""
    isocell_home = tmp_path / "isocell-home"
    monkeypatch.setenv("ISOCELL_HOME", str(isocell_home))
    monkeypatch.setenv("UV_CACHE_DIR", UV_CACHE)
    return isocell_home


async def call(
    jp_fetch: Any, *parts: str, method: str = "GET", body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    """(status, JSON body or None) of a request, whatever the status."""
    if body is not None:
        kwargs["body"] = json.dumps(body)
    try:
        response: HTTPResponse = await jp_fetch("isocell", *parts, method=method, **kwargs)
    except HTTPClientError as error:
        assert error.response is not None, error
        response = error.response
    assert response.headers.get("Content-Type", "").startswith("application/json") or (
        response.code == 204
    ), response.body
    return response.code, json.loads(response.body) if response.body else None


async def finished(jp_fetch: Any, task: dict[str, Any], seconds: float = 600) -> dict[str, Any]:
    """Poll a task with ``?since=`` until it ends; check that the log arrives in order."""
    deadline = time.monotonic() + seconds
    lines: list[str] = list(task["log"])
    while task["state"] == "running":
        assert time.monotonic() < deadline, f"task still running: {task}"
        await asyncio.sleep(0.2)
        code, reply = await call(jp_fetch, "tasks", task["id"], params={"since": len(lines)})
        assert code == 200
        task = reply["task"]
        assert task["log_offset"] == len(lines)
        lines += task["log"]
    task["all_lines"] = lines
    return task


def write_notebook(folder: Path, *sources: str, name: str = "nb.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


SIX = {"name": "tiny", "python": None, "requirements": ["six==1.16.0"]}


# ---- environments -----------------------------------------------------------------------


async def test_list_is_empty_on_a_fresh_home(jp_fetch, home):
    assert await call(jp_fetch, "envs") == (200, {"environments": []})


@pytest.mark.slow
async def test_create_answers_at_once_then_builds_in_the_background(jp_fetch, home):
    code, reply = await call(jp_fetch, "envs", method="POST", body=SIX)
    assert code == 202, reply
    task = reply["task"]
    assert (task["kind"], task["name"], task["state"]) == ("build", "tiny", "running")
    # the same name again, while it builds (or just after): a conflict, not a second build
    again, refused = await call(jp_fetch, "envs", method="POST", body=SIX)
    assert again == 409 and "tiny" in refused["message"]

    task = await finished(jp_fetch, task)
    assert task["state"] == "done", task["error"]
    assert task["error"] is None and task["all_lines"] and task["packages"] == 1
    assert task["environment"]["name"] == "tiny" and task["environment"]["built"]

    code, listing = await call(jp_fetch, "envs")
    [row] = listing["environments"]
    assert row["name"] == "tiny" and row["kind"] == "spec" and row["built"]
    assert row["packages"] == 1 and row["requirements"] == ["six==1.16.0"]  # six alone
    assert row["size_bytes"] > 0 and row["kernel_running"] is False
    assert row["python_version"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert Path(row["python"]).is_file() and row["created"] and row["last_used"]

    code, refused = await call(jp_fetch, "envs", method="POST", body=SIX)
    assert code == 409 and "exists already" in refused["message"]


@pytest.mark.slow
async def test_show_rebuild_and_delete(jp_fetch, home):
    _, reply = await call(jp_fetch, "envs", method="POST", body=SIX)
    assert (await finished(jp_fetch, reply["task"]))["state"] == "done"

    code, shown = await call(jp_fetch, "envs", "tiny")
    assert code == 200
    environment = shown["environment"]
    assert "six==1.16.0" in environment["lock"] and environment["builder"] == "uv"
    assert "six" in environment["build_log"]
    folder = Path(environment["path"])
    assert folder.is_dir() and folder.is_relative_to(home)

    # a kernel running in it (as a notebook's child would): neither rebuilt nor removed
    kernel = subprocess.Popen(
        [environment["python"], "-m", "ipykernel_launcher", "-f", str(home / "kernel.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _, listing = await call(jp_fetch, "envs")
        assert listing["environments"][0]["kernel_running"] is True
        for method, parts in [("DELETE", ()), ("POST", ("rebuild",))]:
            body = {} if method == "POST" else None
            code, refused = await call(jp_fetch, "envs", "tiny", *parts, method=method, body=body)
            assert code == 409 and "a kernel is running" in refused["message"]
    finally:
        kernel.kill()
        kernel.wait()
    assert folder.is_dir()

    code, reply = await call(jp_fetch, "envs", "tiny", "rebuild", method="POST", body={})
    assert code == 202 and reply["task"]["kind"] == "rebuild"
    task = await finished(jp_fetch, reply["task"])
    assert task["state"] == "done", task["error"]
    assert "six==1.16.0" in task["environment"]["lock"] and folder.is_dir()

    code, _ = await call(jp_fetch, "envs", "tiny", method="DELETE")
    assert code == 204
    assert await call(jp_fetch, "envs") == (200, {"environments": []})
    assert not folder.exists()
    code, missing = await call(jp_fetch, "envs", "tiny")
    assert code == 404 and "no environment named 'tiny'" in missing["message"]
    assert (await call(jp_fetch, "envs", "tiny", method="DELETE"))[0] == 404


@pytest.mark.slow
async def test_cells_cached_environments_are_listed_shown_and_removed(jp_fetch, home):
    from isocell.envs import EnvRequest, EnvStore, resolve_environment

    store = EnvStore(home)
    built = {
        version: resolve_environment(
            EnvRequest(python=HOST_PYTHON, requirements=(f"six=={version}",)), store
        )
        for version in ("1.16.0", "1.15.0")
    }
    keys = {version: environment.key for version, environment in built.items()}
    assert (await call(jp_fetch, "envs")) == (200, {"environments": []})  # named ones only
    code, listing = await call(jp_fetch, "envs", params={"all": "1"})
    assert code == 200
    rows = {row["key"]: row for row in listing["environments"]}
    # the two, and the kernel layer of that Python, which prune and remove leave alone
    (layer,) = [row for row in rows.values() if row["kind"] == "layer"]
    assert set(rows) == {*keys.values(), layer["key"]}
    assert all(row["name"] == "" for row in rows.values())
    assert {rows[key]["kind"] for key in keys.values()} == {"cached"}
    assert all(row["size_bytes"] > 10_000 for row in rows.values())
    # one with its lock, folder and build log
    code, shown = await call(jp_fetch, "cache", keys["1.16.0"])
    assert code == 200
    detail = shown["environment"]
    assert "six==1.16.0" in detail["lock"] and Path(detail["path"]).is_relative_to(home)
    assert "six" in detail["build_log"]
    # a child kernel runs in 1.16.0: neither removed alone nor pruned
    kernel = subprocess.Popen(
        [detail["python"], "-m", "ipykernel_launcher", "-f", str(home / "kernel.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (await call(jp_fetch, "cache", keys["1.16.0"]))[1]["environment"][
            "kernel_running"
        ]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        code, refused = await call(jp_fetch, "cache", keys["1.16.0"], method="DELETE")
        assert code == 409 and "stop it first" in refused["message"]
        # nothing is old enough; then a dry run says what would go and removes nothing
        prune = ("cache", "prune")
        code, reply = await call(jp_fetch, *prune, method="POST", body={"unused_days": 365})
        assert code == 200 and reply["removed"] == [] and reply["freed_bytes"] == 0
        code, reply = await call(jp_fetch, *prune, method="POST", body={"dry_run": True})
        assert [row["key"] for row in reply["removed"]] == [keys["1.15.0"]]
        assert reply["dry_run"] is True and reply["freed_bytes"] > 10_000
        assert built["1.15.0"].path.is_dir()
        code, reply = await call(jp_fetch, *prune, method="POST", body={})
        assert [row["key"] for row in reply["removed"]] == [keys["1.15.0"]]
        assert not built["1.15.0"].path.exists() and built["1.16.0"].path.is_dir()
    finally:
        kernel.kill()
        kernel.wait()
    code, _ = await call(jp_fetch, "cache", keys["1.16.0"], method="DELETE")
    assert code == 204 and not built["1.16.0"].path.exists()
    _, listing = await call(jp_fetch, "envs", params={"all": "1"})
    assert [row["key"] for row in listing["environments"]] == [layer["key"]]
    assert (await call(jp_fetch, "cache", keys["1.16.0"]))[0] == 404
    assert (await call(jp_fetch, "cache", layer["key"], method="DELETE"))[0] == 404
    for bad, status in [("..%2Fenvs", 400), ("XYZ", 400), ("0" * 8, 400)]:
        assert (await call(jp_fetch, "cache", bad))[0] == status
    for days in (-1, "7", True, None):
        code, _ = await call(jp_fetch, *prune, method="POST", body={"unused_days": days})
        assert code == (200 if days is None else 400)


@pytest.mark.parametrize("requirement", ["pandas; rm -rf ~", "--index-url=x"])
async def test_a_bad_requirement_is_refused_and_nothing_is_created(jp_fetch, home, requirement):
    body = {"name": "bad", "requirements": ["six", requirement]}
    code, reply = await call(jp_fetch, "envs", method="POST", body=body)
    assert code == 400 and "invalid requirement" in reply["message"]
    assert reply["requirement"] == requirement
    assert not (home / "registry.json").exists()
    assert not (home / "envs").exists() or not any((home / "envs").iterdir())
    assert (await call(jp_fetch, "tasks"))[1] == {"tasks": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "../evil", "requirements": ["six"]}, "invalid environment name"),
        ({"requirements": ["six"]}, "needs a 'name'"),
        ({"name": "ok", "requirements": "six"}, "'requirements' must be a list of strings"),
        ({"name": "ok", "system_site_packages": "yes"}, "must be true or false"),
        ({"name": "ok", "builder": "conda"}, "'builder' must be one of"),
        ({"name": "ok", "python": "3.99"}, "no Python interpreter matches '3.99'"),
        ({"name": "ok", "exclude_newer": "last week"}, "--exclude-newer takes"),
        ({"name": "ok", "external": True}, "needs 'python'"),
        ({"name": "ok", "external": True, "python": "/no/such/python"}, "no Python interpreter"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
async def test_bad_input_is_a_400_with_a_message(jp_fetch, home, body, message):
    code, reply = await call(jp_fetch, "envs", method="POST", body=body)
    assert code == 400 and message in reply["message"], reply
    assert not (home / "registry.json").exists()


async def test_a_body_that_is_not_json_is_a_400(jp_fetch, home):
    response = await call(
        jp_fetch, "envs", method="POST", body=None, allow_nonstandard_methods=True
    )
    assert response[0] == 400  # an empty body is an empty object: no name
    try:
        await jp_fetch("isocell", "envs", method="POST", body="{nope")
    except HTTPClientError as error:
        assert error.code == 400 and "not JSON" in json.loads(error.response.body)["message"]
    else:
        raise AssertionError("accepted a body that is not JSON")


@pytest.mark.parametrize("name", ["..", "..evil", "a b", "-rf"])
async def test_a_bad_name_in_the_url_is_refused(jp_fetch, home, name):
    for method, parts in [("GET", ()), ("DELETE", ()), ("POST", ("rebuild",))]:
        body = {} if method == "POST" else None
        code, reply = await call(jp_fetch, "envs", name, *parts, method=method, body=body)
        assert code == 400 and "invalid environment name" in reply["message"], (method, reply)


async def test_register_an_external_interpreter(jp_fetch, home):
    body = {"name": "host", "python": HOST_PYTHON, "external": True, "unknown": "ignored"}
    code, reply = await call(jp_fetch, "envs", method="POST", body=body)
    assert code == 201, reply
    row = reply["environment"]
    assert row["kind"] == "external" and row["python"] == HOST_PYTHON and row["built"]
    assert row["python_version"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert row["packages"] == len(row["lock"]) > 0 and row["size_bytes"] is None

    code, listing = await call(jp_fetch, "envs")
    assert [r["name"] for r in listing["environments"]] == ["host"]
    code, shown = await call(jp_fetch, "envs", "host")
    assert code == 200 and shown["environment"]["lock"] == row["lock"]

    code, refused = await call(jp_fetch, "envs", method="POST", body=body)
    assert code == 409 and "exists already" in refused["message"]
    code, refused = await call(jp_fetch, "envs", method="POST", body={**SIX, "name": "host"})
    assert code == 409
    code, refused = await call(jp_fetch, "envs", "host", "rebuild", method="POST", body={})
    assert code == 400 and "used as it is" in refused["message"]
    assert (await call(jp_fetch, "envs", "host", method="DELETE"))[0] == 204
    assert Path(HOST_PYTHON).is_file()  # unregistered, never deleted


async def test_pythons_lists_the_host_version(jp_fetch, home):
    code, reply = await call(jp_fetch, "pythons")
    assert code == 200
    versions = {row["version"].rsplit(".", 1)[0] for row in reply["pythons"]}
    assert "{}.{}".format(*sys.version_info[:2]) in versions
    assert all({"version", "path", "source"} <= set(row) for row in reply["pythons"])


async def test_unknown_task_and_route_are_json_404s(jp_fetch, home):
    code, reply = await call(jp_fetch, "tasks", "0123abcd")
    assert code == 404 and "no task" in reply["message"]
    code, reply = await call(jp_fetch, "nothing", "here")
    assert code == 404 and "no route" in reply["message"]


async def test_a_damaged_registry_is_repaired_and_the_listing_answers(jp_fetch, home):
    home.mkdir(parents=True)
    (home / "registry.json").write_text("{not json")
    with pytest.warns(RegistryRepairedWarning, match="moved to"):
        code, reply = await call(jp_fetch, "envs")
    assert code == 200 and isinstance(reply, (list, dict))
    assert len(list(home.glob("registry.json.damaged-*"))) == 1


# ---- child kernels -------------------------------------------------------------------------


@pytest.mark.slow
async def test_kernels_lists_every_notebooks_children_from_their_pools(jp_fetch, jp_root_dir, home):
    from tests.test_faults import notebook_kernel, pid_alive, wait_for

    notebook = str(write_notebook(jp_root_dir, "x = 1"))
    cell = f"%%isolated --python {sys.executable}\nimport os\nchild = os.getpid()"
    assert (await call(jp_fetch, "kernels")) == (200, {"kernels": []})
    with notebook_kernel(home, JPY_SESSION_NAME=notebook) as kernel:
        assert kernel.execute(cell)["status"] == "ok"
        assert kernel.execute(cell)["status"] == "ok"
        child = int(kernel.value("child"))
        code, reply = await call(jp_fetch, "kernels")
        assert code == 200 and len(reply["kernels"]) == 1
        row = reply["kernels"][0]
        assert row["pid"] == child and row["owner_pid"] == kernel.pid
        assert row["notebook"] == notebook and row["cells_run"] == 2 and row["alive"] is True
        assert row["interpreter"] == sys.executable and row["memory_bytes"] > 1_000_000
        assert row["python_version"].startswith("{}.{}.".format(*sys.version_info[:2]))
        # the record the notebook's own %isocell kernels reads
        pool = "get_ipython().magics_manager.registry['IsolatedMagics'].runner.pool"
        assert kernel.value(f"{pool}.records()[0].pid") == str(child)
        assert kernel.execute("%isocell stop")["status"] == "ok"
        assert (await call(jp_fetch, "kernels")) == (200, {"kernels": []})
        assert not list((home / "kernels").glob("*.json"))
        # a notebook kernel killed outright leaves its file; the listing skips and removes it
        assert kernel.execute(cell)["status"] == "ok"
        child = int(kernel.value("child"))
        owner = kernel.pid
        os.kill(owner, 9)
        wait_for(lambda: not pid_alive(owner) and not pid_alive(child), 60, "both to end")
        assert (home / "kernels" / f"{owner}.json").exists()
        assert (await call(jp_fetch, "kernels")) == (200, {"kernels": []})
        assert not (home / "kernels" / f"{owner}.json").exists()
        kernel.manager.restart_kernel(now=True)  # for the context's close()


@pytest.mark.slow
async def test_a_child_kernel_is_stopped_and_its_notebook_starts_a_fresh_one(
    jp_fetch, jp_root_dir, home
):
    from tests.test_faults import notebook_kernel, pid_alive, wait_for

    cell = f"%%isolated --python {sys.executable}\nimport os\nchild = os.getpid()"
    with notebook_kernel(home) as kernel:
        assert kernel.execute(cell)["status"] == "ok"
        child = int(kernel.value("child"))
        # only a pid the listing gives now is signalled: not the notebook kernel, not junk
        for pid, status in [(str(kernel.pid), 404), ("999999999", 404), ("12ab", 400)]:
            code, reply = await call(jp_fetch, "kernels", pid, method="DELETE")
            assert code == status, reply
        assert pid_alive(kernel.pid) and pid_alive(child)
        code, _ = await call(jp_fetch, "kernels", str(child), method="DELETE")
        assert code == 204
        wait_for(lambda: not pid_alive(child), 30, "the child to end")
        assert (await call(jp_fetch, "kernels")) == (200, {"kernels": []})
        # the notebook goes on: its next isolated cell starts a fresh child
        assert kernel.execute(cell)["status"] == "ok"
        assert int(kernel.value("child")) != child
        # a cell running in the child when it is stopped fails as when a child dies
        busy = kernel.send(f"%%isolated --python {sys.executable}\nimport time\ntime.sleep(60)")
        time.sleep(1.5)
        (row,) = (await call(jp_fetch, "kernels"))[1]["kernels"]
        assert (await call(jp_fetch, "kernels", str(row["pid"]), method="DELETE"))[0] == 204
        reply = kernel.reply(busy, timeout=60)
        assert reply["status"] == "error" and reply["ename"] == "ChildDiedError", reply


@pytest.mark.slow
async def test_a_child_kernel_is_restarted_through_the_notebook_kernel_this_server_runs(
    jp_fetch, jp_serverapp, home
):
    from tests.test_faults import notebook_kernel, pid_alive

    cell = f"%%isolated --python {sys.executable}\nimport os\nchild = os.getpid()\nkept = 41"
    manager = jp_serverapp.kernel_manager
    kernel_id = await manager.start_kernel(kernel_name="python3")
    client = manager.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
        for code in ("%load_ext isocell", cell):
            reply = await client.execute_interactive(code, timeout=120)
            assert reply["content"]["status"] == "ok", reply["content"]
        (row,) = (await call(jp_fetch, "kernels"))[1]["kernels"]
        restart = ("kernels", str(row["pid"]), "restart")
        code, reply = await call(jp_fetch, *restart, method="POST", body={})
        assert code == 200 and reply["state"] == "restarted", reply
        fresh = reply["kernel"]
        assert fresh["pid"] != row["pid"] and fresh["key"] == row["key"]
        assert fresh["cells_run"] == 0 and not pid_alive(row["pid"])
        # the notebook's values stay; the next cell runs in the fresh child
        done = await client.execute_interactive(
            f"%%isolated --python {sys.executable}\nimport os\nnow = (os.getpid(), kept)",
            timeout=120,
        )
        assert done["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(kernel_id, now=True)
    # a notebook kernel this server does not run: a 409 that says what to do instead
    with notebook_kernel(home) as kernel:
        assert kernel.execute(cell)["status"] == "ok"
        (row,) = (await call(jp_fetch, "kernels"))[1]["kernels"]
        restart = ("kernels", str(row["pid"]), "restart")
        code, reply = await call(jp_fetch, *restart, method="POST", body={})
        assert code == 409 and "%isocell restart" in reply["message"]


SLOW_PACKAGE = """\
import time

from setuptools import setup

time.sleep(6)  # the build must last long enough to be seen running
setup(name="slowbuild", version="1.0", py_modules=["slowbuild"])
"""


@pytest.mark.slow
async def test_a_build_a_cell_started_is_listed_live_with_its_log(
    jp_fetch, jp_root_dir, home, tmp_path
):
    from tests.test_faults import notebook_kernel

    package = tmp_path / "slowbuild"
    package.mkdir()
    (package / "setup.py").write_text(SLOW_PACKAGE)
    (package / "slowbuild.py").write_text("VALUE = 1\n")
    notebook = str(write_notebook(jp_root_dir, "x = 1"))
    line = f"%%isolated --python {HOST_PYTHON} --req 'slowbuild @ {package.as_uri()}'"
    with notebook_kernel(home, JPY_SESSION_NAME=notebook) as kernel:
        request = kernel.send(f"{line}\nimport slowbuild\nvalue = slowbuild.VALUE")
        deadline = time.monotonic() + 300
        running: list[dict[str, Any]] = []
        while not running:
            assert time.monotonic() < deadline, "the cell's build never showed"
            await asyncio.sleep(0.1)
            code, reply = await call(jp_fetch, "tasks")
            assert code == 200
            running = [t for t in reply["tasks"] if t["kind"] == "cell"]
        task = running[0]
        assert task["state"] == "running" and task["notebook"] == notebook
        assert task["name"] == line and task["log"] == []
        task = await finished(jp_fetch, task)
        assert kernel.reply(request)["status"] == "ok"
        assert task["state"] == "done" and task["error"] is None
        assert any("slowbuild" in entry for entry in task["all_lines"]), task["all_lines"]
        # still listed once it ended, with its whole log behind ?since=0
        code, reply = await call(jp_fetch, "tasks", task["id"])
        assert code == 200 and reply["task"]["log"] == task["all_lines"]
        # a cell that reuses the environment builds nothing and publishes nothing
        assert kernel.execute(f"{line}\nimport slowbuild")["status"] == "ok"
        assert len(list((home / "builds").glob("*.json"))) == 1


@pytest.mark.slow
async def test_a_failed_cell_build_is_listed_with_its_cause(jp_fetch, jp_root_dir, home):
    from tests.test_faults import notebook_kernel

    with notebook_kernel(home) as kernel:
        cell = f"%%isolated --python {HOST_PYTHON} --req isocell-no-such-package-xyz==1\nx = 1"
        assert kernel.execute(cell)["status"] == "error"
    code, reply = await call(jp_fetch, "tasks")
    assert code == 200
    (task,) = [t for t in reply["tasks"] if t["kind"] == "cell"]
    assert task["state"] == "failed" and task["notebook"] is None
    assert "isocell-no-such-package-xyz" in task["error"], task["error"]
    assert task["error"].startswith(task["cause"]) and "not found" in task["cause"]


def test_the_task_board_keeps_the_last_tasks_and_every_running_one():
    import logging
    import threading

    from isocell.server._tasks import TaskBoard

    board = TaskBoard(logging.getLogger("test"), keep=3)
    release = threading.Event()

    def slow(progress: Any) -> dict[str, Any]:
        release.wait(30)
        return {"name": "slow", "packages": 1}

    running = board.start("build", "slow", slow)
    done = [board.start("build", f"e{i}", lambda progress: {"packages": 0}) for i in range(5)]
    deadline = time.monotonic() + 30
    while any(t.state == "running" for t in done) and time.monotonic() < deadline:
        time.sleep(0.01)
    board.start("build", "last", lambda progress: {"packages": 0})
    kept = board.all()
    assert running in kept and len(kept) == 3 and kept[-1].name == "last"
    assert board.running("slow") is running and board.get(done[0].id) is None
    release.set()


# ---- export -------------------------------------------------------------------------------


async def test_export_writes_the_dag_beside_the_notebook(jp_fetch, jp_root_dir, home):
    write_notebook(jp_root_dir / "work", "x = 1", "y = x + 1")
    code, reply = await call(
        jp_fetch, "export", method="POST", body={"path": "work/nb.ipynb", "schedule": "@daily"}
    )
    assert code == 200, reply
    assert reply["dag_file"] == "work/dags/nb.py" and reply["dag_id"] == "nb"
    assert reply["tasks"] == ["x", "y"] and reply["files"][0] == "work/dags/nb.py"
    dag = jp_root_dir / "work" / "dags" / "nb.py"
    assert dag.read_text(encoding="utf-8") == reply["text"] and '"@daily"' in reply["text"]
    assert all((jp_root_dir / path).exists() for path in reply["files"])

    body = {"path": "work/nb.ipynb", "output": "out", "dag_id": "other", "airflow": 2}
    code, reply = await call(jp_fetch, "export", method="POST", body=body)
    assert code == 200 and reply["dag_file"] == "out/other.py"
    assert (jp_root_dir / "out" / "other.py").is_file()

    # the prebuilt target: a Dockerfile on the image asked for; a bad target is a 400
    body = {"path": "work/nb.ipynb", "output": "img", "target": "prebuilt", "base_image": "a/b:1"}
    code, reply = await call(jp_fetch, "export", method="POST", body=body)
    assert code == 200 and "img/Dockerfile" in reply["files"]
    assert "FROM a/b:1" in (jp_root_dir / "img" / "Dockerfile").read_text()
    # the kubernetes target: its options reach the DAG; one Kubernetes would refuse is a 400
    body = {"path": "work/nb.ipynb", "output": "pods", "target": "kubernetes",
            "data_dir": "s3://b/p", "namespace": "team", "resources": "cpu=1"}  # fmt: skip
    code, reply = await call(jp_fetch, "export", method="POST", body=body)
    assert code == 200, reply
    body = {**body, "namespace": "Team A"}
    code, reply = await call(jp_fetch, "export", method="POST", body=body)
    assert code == 400 and "no Kubernetes namespace" in reply["message"]
    body = {"path": "work/nb.ipynb", "output": "bad", "target": "lambda"}
    code, reply = await call(jp_fetch, "export", method="POST", body=body)
    assert code == 400 and "--target takes" in reply["message"]


async def test_an_existing_dag_file_is_replaced_only_when_asked(jp_fetch, jp_root_dir, home):
    # the JupyterLab dialog asks first (issue #15: it overwrote silently)
    write_notebook(jp_root_dir / "work", "x = 1")
    body = {"path": "work/nb.ipynb", "overwrite": False, "start_date": "2025-03-04"}
    code, reply = await call(jp_fetch, "export", method="POST", body=body)
    assert code == 200 and "pendulum.datetime(2025, 3, 4" in reply["text"]
    dag = jp_root_dir / "work" / "dags" / "nb.py"
    dag.write_text("# mine\n", encoding="utf-8")
    code, reply = await call(jp_fetch, "export", method="POST", body=body)
    assert code == 409, reply
    assert reply["error"] == "DagFileExistsError" and reply["dag_file"] == "work/dags/nb.py"
    assert reply["message"].startswith("work/dags/nb.py exists")
    assert dag.read_text(encoding="utf-8") == "# mine\n"
    code, reply = await call(
        jp_fetch, "export", method="POST", body={**body, "overwrite": True, "data_dir": "/data"}
    )
    assert code == 200 and dag.read_text(encoding="utf-8") == reply["text"]
    assert "/data" in reply["text"]


async def test_export_error_names_the_cell_and_line(jp_fetch, jp_root_dir, home):
    write_notebook(jp_root_dir, "x = 1", "y = 2\n!pip install x", name="bad.ipynb")
    code, reply = await call(jp_fetch, "export", method="POST", body={"path": "bad.ipynb"})
    assert code == 400 and (reply["cell"], reply["line"]) == (1, 2)
    assert "!pip install x" in reply["message"] and reply["error"] == "ExportError"
    assert not (jp_root_dir / "dags").exists()
    code, reply = await call(
        jp_fetch, "export", method="POST", body={"path": "bad.ipynb", "airflow": "3"}
    )
    assert code == 400 and "'airflow' must be an integer" in reply["message"]


async def test_export_paths_must_stay_inside_the_root(jp_fetch, jp_root_dir, tmp_path, home):
    outside = write_notebook(tmp_path / "elsewhere", "x = 1", name="outside.ipynb")
    write_notebook(jp_root_dir, "x = 1")
    (jp_root_dir / "link.ipynb").symlink_to(outside)
    (jp_root_dir / "escape").symlink_to(outside.parent, target_is_directory=True)
    refused = [
        ({"path": "../outside.ipynb"}, 403),
        ({"path": "sub/../../outside.ipynb"}, 403),
        ({"path": str(outside)}, 400),
        ({"path": "/etc/passwd"}, 400),
        ({"path": "link.ipynb"}, 403),
        ({"path": "escape/outside.ipynb"}, 403),
        ({"path": "nb.ipynb", "output": "../dags"}, 403),
        ({"path": "nb.ipynb", "output": "escape"}, 403),
        ({"path": "nb.ipynb", "output": str(tmp_path / "dags")}, 400),
        ({"path": "missing.ipynb"}, 404),
        ({"path": "nb.ipynb", "data_dir": '/x"""+str(1)+"""'}, 400),
        ({"path": ""}, 400),
    ]
    for body, status in refused:
        code, reply = await call(jp_fetch, "export", method="POST", body=body)
        assert code == status and reply["message"], (body, reply)
    assert not (outside.parent / "dags").exists() and not (tmp_path / "dags").exists()
    assert sorted(p.name for p in outside.parent.iterdir()) == ["outside.ipynb"]


async def test_an_export_never_writes_through_a_symlink_leaving_the_root(
    jp_fetch, jp_root_dir, tmp_path, home
):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "victim.py").write_text("precious\n")
    write_notebook(jp_root_dir / "a", "import helpers\nx = helpers.VALUE")
    (outside / "helpers.py").write_text("VALUE = 'from outside the root'\n")
    (jp_root_dir / "a" / "helpers.py").symlink_to(outside / "helpers.py")
    # the default output folder `dags` is a symlink leaving the root
    (jp_root_dir / "a" / "dags").symlink_to(outside, target_is_directory=True)
    code, reply = await call(jp_fetch, "export", method="POST", body={"path": "a/nb.ipynb"})
    assert code == 400 and "leads outside" in reply["message"], reply
    (jp_root_dir / "a" / "dags").unlink()
    # a local module symlinked from outside the root is not copied in
    code, reply = await call(jp_fetch, "export", method="POST", body={"path": "a/nb.ipynb"})
    assert code == 400 and "outside" in reply["message"] and "helpers.py" in reply["message"]
    assert not (jp_root_dir / "a" / "dags").exists()  # refused before anything was written
    (jp_root_dir / "a" / "helpers.py").unlink()
    (jp_root_dir / "a" / "helpers.py").write_text("VALUE = 'inside'\n")
    # files inside the output folder that are symlinks out are replaced, never followed
    dags = jp_root_dir / "a" / "dags"
    dags.mkdir()
    for name in ("nb.py", ".airflowignore", "helpers.py"):
        (dags / name).symlink_to(outside / "victim.py")
    code, reply = await call(jp_fetch, "export", method="POST", body={"path": "a/nb.ipynb"})
    assert code == 200, reply
    assert (outside / "victim.py").read_text() == "precious\n"
    assert not any((dags / name).is_symlink() for name in ("nb.py", ".airflowignore"))
    assert (dags / ".airflowignore").read_text() == "isocell_runtime/\n"  # nothing read out
    # a folder isocell writes into that is a symlink out is refused
    shutil.rmtree(dags / "isocell_runtime")
    (dags / "isocell_runtime").symlink_to(outside, target_is_directory=True)
    code, reply = await call(jp_fetch, "export", method="POST", body={"path": "a/nb.ipynb"})
    assert code == 400 and "is a symlink" in reply["message"], reply
    assert sorted(p.name for p in outside.iterdir()) == ["helpers.py", "victim.py"]


async def test_an_export_beside_the_notebook_works(jp_fetch, jp_root_dir, home):
    write_notebook(jp_root_dir, "import helpers\nx = helpers.VALUE")
    (jp_root_dir / "helpers.py").write_text("VALUE = 1\n")
    for output in ("./", ".", "nb_dag.py"):
        code, reply = await call(
            jp_fetch, "export", method="POST", body={"path": "nb.ipynb", "output": output}
        )
        assert code == 200, (output, reply)
    assert (jp_root_dir / "helpers.py").read_text() == "VALUE = 1\n"


async def test_a_huge_request_is_refused_before_it_is_read(jp_fetch, jp_root_dir, home):
    from isocell.server._base import MAX_BODY_BYTES, MAX_ITEMS

    many = {"name": "big", "python": None, "requirements": ["six"] * 700_000}  # 12.6 MB
    code, reply = await call(jp_fetch, "envs", method="POST", body=many)
    assert code == 413 and str(MAX_BODY_BYTES) in reply["message"], reply
    huge_path = {"path": "a/" * 5_000_000 + "nb.ipynb"}  # 10 MB
    code, reply = await call(jp_fetch, "export", method="POST", body=huge_path)
    assert code == 413, reply
    # under the body cap, a list or a path over its own cap is a 400 naming the field
    too_many = {**many, "requirements": ["six"] * (MAX_ITEMS + 1)}
    code, reply = await call(jp_fetch, "envs", method="POST", body=too_many)
    assert code == 400 and "'requirements' has 1001 items" in reply["message"], reply
    fields = {f"field{i:06d}": 1 for i in range(40_000)}  # 0.7 MB, each compared with known
    code, reply = await call(jp_fetch, "envs", method="POST", body={"name": "x", **fields})
    assert code == 400 and "has 40001 fields; isocell reads at most 64" in reply["message"]
    long_path = {"path": "a/" * 3000 + "nb.ipynb"}
    code, reply = await call(jp_fetch, "export", method="POST", body=long_path)
    assert code == 400 and "'path' is 6008 characters long" in reply["message"], reply
    assert not list(home.glob("envs/*")) and (await call(jp_fetch, "envs"))[0] == 200


# ---- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "parts", "body"),
    [
        ("GET", ("envs",), None),
        ("POST", ("envs",), {"name": "x", "python": HOST_PYTHON, "external": True}),
        ("GET", ("envs", "x"), None),
        ("DELETE", ("envs", "x"), None),
        ("POST", ("envs", "x", "rebuild"), {}),
        ("GET", ("tasks",), None),
        ("GET", ("tasks", "abc"), None),
        ("GET", ("pythons",), None),
        ("POST", ("export",), {"path": "nb.ipynb"}),
        ("GET", ("no-such-route",), None),
    ],
)
@pytest.mark.parametrize("authorization", ["", "token wrong-token"])
async def test_an_unauthenticated_request_is_refused(
    jp_fetch, jp_root_dir, home, method, parts, body, authorization
):
    write_notebook(jp_root_dir, "x = 1")
    headers = {"Authorization": authorization}
    code, reply = await call(jp_fetch, *parts, method=method, body=body, headers=headers)
    assert code == 403 and "not authenticated" in reply["message"]
    assert not (home / "registry.json").exists() and not (jp_root_dir / "dags").exists()


async def test_a_browser_session_needs_the_xsrf_token(jp_fetch, jp_serverapp, jp_root_dir, home):
    """JupyterLab's way: a login cookie, and for POST/DELETE the ``_xsrf`` cookie echoed in
    the ``X-XSRFToken`` header (``ServerConnection.makeRequest`` does both)."""
    token = jp_serverapp.identity_provider.token
    # Opening a page with ?token= logs the browser in: the server sets its login cookie.
    response = await jp_fetch(
        "api", "status", params={"token": token}, headers={"Authorization": ""}
    )
    cookies = [c.split(";")[0] for c in response.headers.get_list("Set-Cookie")]
    login = next(c for c in cookies if c.startswith("username-"))
    write_notebook(jp_root_dir, "x = 1")
    browser = {"Authorization": "", "Cookie": login}

    code, _ = await call(jp_fetch, "envs", headers=browser)
    assert code == 200  # reading needs only the login cookie
    export = {"path": "nb.ipynb"}
    code, reply = await call(jp_fetch, "export", method="POST", body=export, headers=browser)
    assert code == 403 and "_xsrf" in reply["message"]
    xsrf = "c0ffee" * 6
    with_xsrf = {**browser, "Cookie": f"{login}; _xsrf={xsrf}", "X-XSRFToken": xsrf}
    code, reply = await call(jp_fetch, "export", method="POST", body=export, headers=with_xsrf)
    assert code == 200 and reply["dag_file"] == "dags/nb.py"
