"""The pools' published records (:mod:`isocell.runner._published`): written whole, read with
suspicion. A real child runs in ``test_server.py``; here the files are written by hand, as a
damaged or hostile one would be."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from isocell._build_progress import BuildLine
from isocell.envs import BuildProgress, BuildPublisher, published_build, published_builds
from isocell.envs._published_builds import MAX_BYTES as BUILDS_MAX_BYTES
from isocell.envs._published_builds import builds_folder
from isocell.errors import BuildError
from isocell.runner import KernelRecord, published_kernels
from isocell.runner._published import MAX_BYTES, kernels_folder, publish


def record(pid: int | None, interpreter: str = sys.executable, **changes: object) -> KernelRecord:
    fields = dict(
        environment="python 3 (external)",
        name=None,
        key="k" * 16,
        interpreter=interpreter,
        python_version="3.12.1",
        pid=pid,
        started=time.time(),
        cells_run=1,
        memory_bytes=None,
        alive=True,
    )
    return KernelRecord(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.fixture
def sleeper() -> object:
    """A live process running this interpreter, standing for a child kernel."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE,
    )
    # Once it says so, it has exec'd (/proc shows its command line, not the forked test
    # process's) and started its interpreter (its memory is an interpreter's, not exec's).
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    assert b"time.sleep" in Path(f"/proc/{process.pid}/cmdline").read_bytes()
    yield process
    process.kill()
    process.wait()


def test_a_pool_publishes_its_records_privately_and_withdraws_them(tmp_path, sleeper):
    publish(tmp_path, [record(sleeper.pid)])
    folder = kernels_folder(tmp_path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (mine,) = folder.iterdir()
    assert mine.name == f"{os.getpid()}.json" and stat.S_IMODE(mine.stat().st_mode) == 0o600
    (listed,) = published_kernels(tmp_path)
    assert listed.owner_pid == os.getpid() and listed.record.pid == sleeper.pid
    assert listed.record.memory_bytes and listed.record.memory_bytes > 1_000_000
    publish(tmp_path, [])
    assert not list(folder.iterdir()) and published_kernels(tmp_path) == []


def test_the_notebook_is_the_one_the_kernel_was_told(tmp_path, sleeper, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/work/analysis.ipynb")
    publish(tmp_path, [record(sleeper.pid)])
    assert published_kernels(tmp_path)[0].to_json()["notebook"] == "/work/analysis.ipynb"


def test_only_children_that_still_run_their_interpreter_are_listed(tmp_path, sleeper):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    publish(
        tmp_path,
        [
            record(sleeper.pid, started=1.0),
            record(ended.pid),  # gone
            record(os.getppid(), interpreter="/opt/other/python"),  # pid taken by another
            record(None),
        ],
    )
    assert [kernel.record.pid for kernel in published_kernels(tmp_path)] == [sleeper.pid]


def write(folder: Path, name: str, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


def test_a_dead_owners_file_is_skipped_and_removed(tmp_path, sleeper):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    document = {"notebook": None, "kernels": [asdict(record(sleeper.pid))]}
    write(kernels_folder(tmp_path), f"{ended.pid}.json", json.dumps(document).encode())
    assert published_kernels(tmp_path) == []
    assert not (kernels_folder(tmp_path) / f"{ended.pid}.json").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[1, 2]",
        b'{"kernels": "all"}',
        b'{"kernels": [{"pid": 1}]}',
        b'{"kernels": [{"environment": 3}]}',
        b" " * (MAX_BYTES + 1) + b"{}",
    ],
    ids=["not-json", "a-list", "kernels-a-string", "missing-fields", "wrong-types", "huge"],
)
def test_a_damaged_or_planted_file_is_skipped(tmp_path, sleeper, content):
    folder = kernels_folder(tmp_path)
    write(folder, f"{os.getppid()}.json", content)
    wrong_types = {**asdict(record(sleeper.pid)), "cells_run": "many"}
    write(folder, f"{os.getpid()}.json", json.dumps({"kernels": [wrong_types]}).encode())
    write(folder, "notes.json", b"{}")
    assert published_kernels(tmp_path) == []
    publish(tmp_path, [record(sleeper.pid)])  # the good one beside them is still read
    assert [kernel.record.pid for kernel in published_kernels(tmp_path)] == [sleeper.pid]


def test_an_unwritable_home_does_not_stop_a_cell(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    publish(blocker, [record(os.getpid())])  # kernels/ cannot be made under a file
    assert published_kernels(blocker) == []


# ---- builds a cell started (isocell.envs._published_builds) -----------------------------------


def _build_line(home: Path) -> BuildLine:
    return BuildLine(object(), BuildPublisher(home, "%%isolated --req six"))


def test_a_cells_build_is_published_as_it_goes_and_stays_listed_once_ended(tmp_path, capsys):
    home = tmp_path / "home"
    line = _build_line(home)
    line(BuildProgress("resolve", "Resolved 2 packages", 0.1, 2))
    (task,) = published_builds(home)
    assert task["state"] == "running" and task["kind"] == "cell" and task["phase"] == "resolve"
    assert task["name"] == "%%isolated --req six" and task["log"] == []
    assert task["log_offset"] == 1 and task["packages"] == 2
    assert stat.S_IMODE(os.stat(home / "builds").st_mode) == 0o700
    line(BuildProgress("done", "built in 0.5 s", 0.5, 2))
    line.finish(None)
    (task,) = published_builds(home)
    assert task["state"] == "done" and task["error"] is None
    whole = published_build(home, task["id"])
    assert whole is not None and whole["log"] == ["Resolved 2 packages", "built in 0.5 s"]
    later = published_build(home, task["id"], since=1)
    assert later is not None and later["log"] == ["built in 0.5 s"] and later["log_offset"] == 1


def test_a_failed_build_publishes_its_whole_error_cause_first(tmp_path, capsys):
    home = tmp_path / "home"
    line = _build_line(home)
    line(BuildProgress("resolve", "resolving", 0.1))
    line.finish(BuildError("building failed; the log is in /x", "$ uv pip\nerror: no six==0"))
    (task,) = published_builds(home)
    assert task["state"] == "failed" and task["error"].startswith("no six==0\nbuilding failed")
    assert task["cause"] == "no six==0"


def test_a_cell_that_built_nothing_publishes_nothing(tmp_path):
    home = tmp_path / "home"
    _build_line(home).finish(None)
    assert not (home / "builds").exists() and published_builds(home) == []


def test_only_the_last_log_lines_are_kept_and_since_reads_from_the_first_kept(tmp_path, capsys):
    home = tmp_path / "home"
    line = _build_line(home)
    for number in range(1000):
        line(BuildProgress("install", f"line {number}", 1.0))
    line.finish(None)
    (task,) = published_builds(home)
    assert task["log_offset"] == 1000
    start = published_build(home, task["id"], since=0)
    assert start is not None and start["log_offset"] == 600 and start["log"][0] == "line 600"


def test_ended_builds_and_those_of_dead_kernels_are_removed(tmp_path, monkeypatch):
    home = tmp_path / "home"
    ended = BuildPublisher(home, "old")
    ended.publish(**_STATE, state="done")
    dead = BuildPublisher(home, "orphan")
    dead.publish(**_STATE, state="running")
    path = builds_folder(home) / f"{dead.id}.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "pid": _dead_pid()}))
    assert [task["name"] for task in published_builds(home)] == ["old"]
    assert not path.exists()
    monkeypatch.setattr(time, "time", lambda: 10**12)
    assert published_builds(home) == [] and not list(builds_folder(home).iterdir())


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_text("{not json"),
        lambda path: path.write_text(json.dumps({"id": "x"})),
        lambda path: path.write_bytes(b" " * (BUILDS_MAX_BYTES + 1)),
        lambda path: path.write_text(json.dumps({**json.loads(path.read_text()), "log": [1, 2]})),
        lambda path: path.write_text(
            json.dumps({**json.loads(path.read_text()), "state": "hacked"})
        ),
    ],
)
def test_a_damaged_build_file_is_skipped(tmp_path, damage):
    home = tmp_path / "home"
    publisher = BuildPublisher(home, "one")
    publisher.publish(**_STATE, state="running")
    damage(builds_folder(home) / f"{publisher.id}.json")
    assert published_builds(home) == []
    assert published_build(home, publisher.id) is None


@pytest.mark.parametrize("build_id", ["../kernels/1", "cell-1-2", "cell-1-2-3/../../x", ""])
def test_only_a_build_id_names_a_file(tmp_path, build_id):
    home = tmp_path / "home"
    secret = tmp_path / "cell-1-2-3.json"
    secret.write_text("{}")
    assert published_build(home, build_id) is None


def test_files_not_named_as_builds_are_not_read(tmp_path):
    home = tmp_path / "home"
    publisher = BuildPublisher(home, "one")
    publisher.publish(**_STATE, state="running")
    source = builds_folder(home) / f"{publisher.id}.json"
    source.rename(builds_folder(home) / "planted.json")
    assert published_builds(home) == []


_STATE: dict[str, Any] = dict(
    phase="install", packages=None, total=None, elapsed=1.0, log=[], log_total=0, error=None
)  # and no cause: the default


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
