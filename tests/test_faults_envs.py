"""Faults: environments damaged on disk after they were built or registered.

An environment isocell built is rebuilt from its spec when its interpreter is gone or its
kernel's packages are damaged (the progress display says so); an interpreter used as it is
(``isocell env add``) is never changed: the cell fails with an error naming the environment
and what to do. Either way the notebook namespace is unchanged until a cell succeeds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isocell.envs import BuildProgress, EnvRequest, EnvStore, spec_for
from isocell.errors import BrokenEnvironmentError
from isocell.runner import CellRequest, CellRunner
from tests.test_faults import describe, kernels_of, pid_alive

pytestmark = [pytest.mark.slow, pytest.mark.faults]

KERNEL_ONLY = EnvRequest(requirements=("six",), exclude_newer="none")
PID = "import os\npid = os.getpid()"


def _site_packages(root: Path) -> Path:
    (found,) = root.glob("lib/python*/site-packages")
    return found


def _truncate(path: Path) -> None:
    """Cut ``path`` to half, as a new file: uv hard-links installed files to its cache, and
    writing into the shared inode would damage the cache and every environment linked to it."""
    text = path.read_bytes()
    path.unlink()
    path.write_bytes(text[: len(text) // 2])


def _snapshot(namespace: dict) -> dict:
    return {name: (id(value), repr(value)) for name, value in namespace.items()}


@pytest.fixture
def session(fresh_home):
    """A notebook's session on a fresh home; no child kernel of it outlives the test."""
    before = kernels_of(os.getpid())
    session = CellRunner(EnvStore(fresh_home))
    yield session
    session.close()
    stray = kernels_of(os.getpid()) - before
    assert not stray, describe(stray)


def _isocell(home: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "isocell.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ISOCELL_HOME": str(home)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_deleted_interpreter_of_a_built_environment_is_rebuilt(session, fresh_home):
    namespace: dict = {}
    session.run(CellRequest(PID, KERNEL_ONLY), namespace)
    first = namespace["pid"]
    folder = session.store.path_for(spec_for(KERNEL_ONLY))
    (folder / "bin" / "python").unlink()
    events: list[BuildProgress] = []
    session.run(CellRequest(PID, KERNEL_ONLY), namespace, progress=events.append)
    assert namespace["pid"] != first and not pid_alive(first)  # the old child was stopped
    assert any(event.phase == "done" for event in events)  # built again, and said so
    assert (folder / "bin" / "python").exists()
    assert not list(fresh_home.glob("envs/.build-*"))


@pytest.mark.parametrize("damage", ["package-removed", "module-truncated"])
def test_damaged_kernel_packages_of_a_built_environment_are_rebuilt(fresh_home, damage):
    first = CellRunner(EnvStore(fresh_home))
    first.run(CellRequest("x = 1", KERNEL_ONLY), {})
    first.close()
    # ipykernel is in the kernel layer of the environment's Python
    folder = EnvStore(fresh_home).path_for(spec_for(KERNEL_ONLY).layer_spec())
    package = _site_packages(folder) / "ipykernel"
    if damage == "package-removed":
        shutil.rmtree(package)
    else:
        _truncate(package / "kernelapp.py")
    before = kernels_of(os.getpid())
    session = CellRunner(EnvStore(fresh_home))  # a new notebook kernel finds it damaged
    events: list[BuildProgress] = []
    namespace: dict = {}
    try:
        session.run(CellRequest(PID, KERNEL_ONLY), namespace, progress=events.append)
    finally:
        session.close()
    assert isinstance(namespace["pid"], int)
    stray = kernels_of(os.getpid()) - before  # the child that could not start is gone too
    assert not stray, describe(stray)
    assert any("rebuilding" in event.message and "ipykernel" in event.message for event in events)
    assert (package / "kernelapp.py").stat().st_size > 1000
    assert not list(fresh_home.glob("envs/.build-*"))


@pytest.fixture
def external(tmp_path, fresh_home):
    """An interpreter registered with ``isocell env add ext --python PATH``: a venv copy."""
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--copies", "--without-pip", str(venv)],
        check=True,
        timeout=300,
    )
    _isocell(fresh_home, "env", "add", "ext", "--python", str(venv / "bin" / "python"))
    return venv


def test_deleted_external_interpreter_is_a_clear_error(session, external):
    namespace: dict = {"kept": [1, 2]}
    session.run(
        CellRequest("v = 1", EnvRequest(environment_name="ext")), namespace
    )  # works (its kernel from the kernel layer)
    session.close()
    shutil.rmtree(external)
    before = _snapshot(namespace)
    fresh = CellRunner(session.store)
    try:
        with pytest.raises(BrokenEnvironmentError) as caught:
            fresh.run(CellRequest("v = 2", EnvRequest(environment_name="ext")), namespace)
    finally:
        fresh.close()
    message = str(caught.value)
    assert "environment ext" in message and str(external / "bin" / "python") in message
    assert "no longer exists" in message and "isocell env add ext --python" in message
    assert _snapshot(namespace) == before


def test_damaged_external_interpreter_is_a_clear_error(session, external):
    from uv import find_uv_bin

    python = external / "bin" / "python"
    subprocess.run(
        [find_uv_bin(), "pip", "install", "--python", str(python), "ipykernel"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    kernelapp = _site_packages(external) / "ipykernel" / "kernelapp.py"
    _truncate(kernelapp)
    damaged = kernelapp.read_bytes()
    namespace: dict = {"kept": "state"}
    before = _snapshot(namespace)
    with pytest.raises(BrokenEnvironmentError) as caught:
        session.run(CellRequest("kept = 'changed'", EnvRequest(environment_name="ext")), namespace)
    message = str(caught.value)
    assert "environment ext" in message and str(python) in message
    assert "SyntaxError" in message or "Error" in message
    assert "--force-reinstall ipykernel" in message
    assert _snapshot(namespace) == before
    assert kernelapp.read_bytes() == damaged  # isocell did not touch it
    assert not session.pool.records()
