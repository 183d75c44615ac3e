"""Faults during a build: the builder killed, the whole building process killed while it holds
the build lock, the disk filling up, and the notebook's interrupt.

Each build is real (uv, from its warm cache) into a fresh ``ISOCELL_HOME``; ``UV_LINK_MODE=copy``
makes uv copy files instead of hard-linking them from its cache, so that the install lasts the
few seconds a test needs to strike in the middle of it. After the fault: the store holds no
environment for the spec (nothing half-made can be picked up), the build lock is free, no
builder process is left, and the same request then builds an environment that works.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from isocell.envs import EnvRequest, EnvStore, Registry, spec_for
from isocell.errors import BuildError
from isocell.runner import CellRequest, CellRunner
from tests.test_faults import (
    in_background,
    notebook_kernel,
    pid_alive,
    uv_installs,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.faults]

PANDAS = EnvRequest(requirements=("pandas",), exclude_newer="none")
CLI = [sys.executable, "-m", "isocell.cli"]
CREATE = [*CLI, "env", "create", "frames", "--req", "pandas", "--exclude-newer", "none"]


def _half_installed(home: Path) -> bool:
    """True once the build folder holds some, not all, of the packages."""
    installed = list(home.glob("envs/.build-*/env/lib/python*/site-packages/*"))
    return len(installed) >= 10


def _mid_install(root: int, home: Path) -> list[int]:
    found = uv_installs(root)
    return found if found and _half_installed(home) else []


def assert_nothing_half_made(home: Path) -> None:
    """No environment of the spec, no build folder, the build lock free."""
    store = EnvStore(home)
    spec = spec_for(PANDAS)
    assert store.find(spec) is None
    assert not store.path_for(spec).exists()
    lock = FileLock(str(home / "locks" / f"{spec.key}.lock"))
    lock.acquire(timeout=120)  # a dead builder's lock is free: no deadlock
    lock.release()


def assert_builds_and_works(home: Path, line: EnvRequest = PANDAS) -> None:
    session = CellRunner(EnvStore(home))
    namespace: dict[str, object] = {}
    try:
        session.run(CellRequest("import pandas\nversion = pandas.__version__", line), namespace)
    finally:
        session.close()
    assert isinstance(namespace["version"], str)
    assert not list(home.glob("envs/.build-*"))  # the new build cleared any leftovers


def test_builder_killed_mid_install(fresh_home, monkeypatch):
    monkeypatch.setenv("UV_LINK_MODE", "copy")
    session = CellRunner(EnvStore(fresh_home))
    namespace: dict[str, object] = {"version": "before", "kept": [1, 2]}
    snapshot = {name: (value, id(value)) for name, value in namespace.items()}

    def kill_uv() -> None:
        for pid in wait_for(lambda: _mid_install(os.getpid(), fresh_home), 120, "uv mid-install"):
            os.kill(pid, signal.SIGKILL)

    killer = in_background(kill_uv)
    with pytest.raises(BuildError, match="killed by signal SIGKILL") as caught:
        session.run(CellRequest("version = 'after'", PANDAS), namespace)
    killer.join()
    assert "full log" in str(caught.value)
    assert {name: (value, id(value)) for name, value in namespace.items()} == snapshot
    assert not session.pool.records()
    assert not uv_installs(os.getpid())
    assert not list(fresh_home.glob("envs/.build-*"))
    assert_nothing_half_made(fresh_home)
    assert_builds_and_works(fresh_home)


def test_building_process_killed_while_it_holds_the_lock(fresh_home):
    env = {**os.environ, "ISOCELL_HOME": str(fresh_home), "UV_LINK_MODE": "copy"}
    builder = subprocess.Popen(CREATE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        uv = wait_for(lambda: _mid_install(builder.pid, fresh_home), 120, "uv mid-install")
        os.kill(builder.pid, signal.SIGKILL)  # the builder only: its uv is orphaned
    finally:
        builder.kill()
        builder.communicate()
    # uv dies with its parent (PR_SET_PDEATHSIG): nothing writes into the build folder now
    wait_for(lambda: not any(pid_alive(pid) for pid in uv), 60, "the orphaned uv to end")
    assert Registry(fresh_home).all() == []  # not registered
    assert_nothing_half_made(fresh_home)
    assert list(fresh_home.glob("envs/.build-*"))  # the dead builder's folder, never used
    # any later build clears it, whatever its spec
    EnvStore(fresh_home).ensure(spec_for(EnvRequest(exclude_newer="none")))
    assert not list(fresh_home.glob("envs/.build-*"))
    done = subprocess.run(CREATE, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [entry.name for entry in Registry(fresh_home).all()] == ["frames"]
    assert_builds_and_works(fresh_home, EnvRequest(environment_name="frames"))


@pytest.fixture
def small_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An ISOCELL_HOME on a 120 MB tmpfs: room for the kernel's packages, not for pandas."""
    home = tmp_path / "small"
    home.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=120m", "tmpfs", str(home)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"cannot mount a small tmpfs as ISOCELL_HOME (needs root): {error}")
    monkeypatch.setenv("ISOCELL_HOME", str(home))
    monkeypatch.setenv("UV_LINK_MODE", "copy")  # uv's cache is on another disk anyway
    try:
        yield home
    finally:
        done = subprocess.run(["umount", str(home)], capture_output=True, timeout=60)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(home)], capture_output=True, timeout=60)


def test_disk_full_during_a_build(small_home):
    Registry(small_home).add("existing", python="/opt/existing/bin/python")
    registry = (small_home / "registry.json").read_bytes()
    done = subprocess.run(CREATE, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    message = done.stderr
    assert "no space left on the device of " + str(small_home / "envs") in message
    assert "ISOCELL_HOME" in message and "Nothing of the failed build was kept" in message
    assert "No space left on device" in message  # uv's own words, naming the file
    assert "Traceback" not in message
    assert (small_home / "registry.json").read_bytes() == registry
    # nothing but the kernel layer, complete and shared, which fitted before pandas
    for kept in (small_home / "envs").iterdir():
        assert json.loads((kept / "isocell-env.json").read_text())["spec"]["kernel_layer"]
    assert_nothing_half_made(small_home)
    subprocess.run(["mount", "-o", "remount,size=1g", str(small_home)], check=True, timeout=60)
    done = subprocess.run(CREATE, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [entry.name for entry in Registry(small_home).all()] == ["existing", "frames"]
    assert_builds_and_works(small_home, EnvRequest(environment_name="frames"))


def test_interrupt_during_a_build(fresh_home):
    cell = "%%isolated --req pandas --exclude-newer none\nimport pandas\nversion = 'built'"
    with notebook_kernel(fresh_home, UV_LINK_MODE="copy") as kernel:
        assert kernel.execute("kept = [1, 2, 3]")["status"] == "ok"
        request = kernel.send(cell)
        wait_for(lambda: _mid_install(kernel.pid, fresh_home), 120, "uv mid-install")
        kernel.manager.interrupt_kernel()  # what the interrupt button does
        reply = kernel.reply(request)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
        assert not uv_installs(kernel.pid)
        assert not kernel.child_pids()
        assert not list(fresh_home.glob("envs/.build-*"))
        assert_nothing_half_made(fresh_home)
        assert kernel.value("kept") == "[1, 2, 3]"
        assert kernel.value("version") == "<NameError>"
        assert kernel.execute(cell)["status"] == "ok"  # the next request builds
        assert kernel.value("version") == "'built'"
    shutil.rmtree(fresh_home, ignore_errors=True)
