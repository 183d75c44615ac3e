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

import pytest

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
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    # Until it has exec'd, /proc shows the forked test process's command line.
    deadline = time.monotonic() + 30
    while b"time.sleep" not in Path(f"/proc/{process.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, "the sleeper did not start"
        time.sleep(0.01)
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
