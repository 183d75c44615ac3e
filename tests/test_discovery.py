"""Interpreter discovery against the pythons really installed on this machine."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from isocell.envs._discovery import (
    Interpreter,
    find_interpreter,
    find_interpreters,
    inspect_interpreter,
)
from isocell.envs._probe import probe_count
from isocell.errors import InterpreterNotFoundError

PYENV_ROOT = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


def _reported_version(path: str) -> tuple[int, int, int]:
    code = "import sys; print(*sys.version_info[:3])"
    done = subprocess.run([path, "-c", code], capture_output=True, text=True, check=True)
    major, minor, micro = map(int, done.stdout.split())
    return major, minor, micro


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def python39(cache: Path) -> Interpreter:
    try:
        return find_interpreter("3.9", cache_dir=cache)
    except InterpreterNotFoundError as error:
        pytest.skip(f"no Python 3.9 on this machine: {error}")


def test_finds_the_pyenv_installed_3_9(cache: Path) -> None:
    installed = sorted(glob.glob(os.path.join(PYENV_ROOT, "versions", "3.9*")))
    if not installed:
        pytest.skip(f"pyenv has no Python 3.9 under {PYENV_ROOT}/versions")
    found = find_interpreters(cache_dir=cache)
    pyenv_39 = [i for i in found if i.source == "pyenv" and i.minor == "3.9"]
    assert pyenv_39, [i.describe() for i in found]
    assert pyenv_39[0].path.startswith(os.path.join(PYENV_ROOT, "versions", "3.9"))
    assert os.path.basename(pyenv_39[0].path) == "python3.9"


def test_found_interpreters_are_at_least_2_7_newest_first_and_unique(cache: Path) -> None:
    found = find_interpreters(cache_dir=cache)
    assert found, "no interpreter found at all"
    assert all(i.version[:2] >= (2, 7) for i in found)
    assert [i.version for i in found] == sorted((i.version for i in found), reverse=True)
    real_paths = [os.path.realpath(i.path) for i in found]
    assert len(real_paths) == len(set(real_paths))
    assert all(os.path.isabs(i.path) and "shims" not in Path(i.path).parts for i in found)


def test_minor_request_gives_the_newest_patch_of_that_minor(
    python39: Interpreter, cache: Path
) -> None:
    assert python39.minor == "3.9"
    assert _reported_version(python39.path) == python39.version
    same_minor = [i for i in find_interpreters(cache_dir=cache) if i.minor == "3.9"]
    assert python39.version == max(i.version for i in same_minor)
    assert find_interpreter("python3.9", cache_dir=cache) == python39
    assert find_interpreter(python39.version_str, cache_dir=cache) == python39


def test_major_request_gives_the_newest_cpython(cache: Path) -> None:
    found = find_interpreters(cache_dir=cache)
    newest = next(i for i in found if i.implementation == "cpython")
    assert find_interpreter("3", cache_dir=cache) == newest


def test_an_unknown_version_lists_what_was_found(cache: Path) -> None:
    found = find_interpreters(cache_dir=cache)
    with pytest.raises(InterpreterNotFoundError) as caught:
        find_interpreter("3.99", cache_dir=cache)
    assert caught.value.request == "3.99"
    assert caught.value.found == [i.describe() for i in found]
    message = str(caught.value)
    for interpreter in found:
        assert f"{interpreter.version_str}  {interpreter.path}  ({interpreter.source})" in message


@pytest.mark.parametrize("minor", ["2.7", "3.6", "3.7"])
def test_pythons_2_7_3_6_and_3_7_are_found(cache: Path, minor: str) -> None:
    found = glob.glob(os.path.join(PYENV_ROOT, "versions", f"{minor}*", "bin", f"python{minor}"))
    if not found:
        pytest.skip(f"no Python {minor} under {PYENV_ROOT}/versions")
    assert find_interpreter(minor, cache_dir=cache).version[:2] == tuple(
        int(part) for part in minor.split(".")
    )
    assert inspect_interpreter(found[0], cache_dir=cache).minor == minor


@pytest.mark.parametrize("kind", ["failing script", "silent script", "text file", "missing"])
def test_a_path_that_is_not_python_raises(tmp_path: Path, cache: Path, kind: str) -> None:
    target = tmp_path / "bin" / "python"
    if kind == "failing script":
        _script(target, "echo 'not a python' >&2\nexit 3\n")
    elif kind == "silent script":
        _script(target, "exit 0\n")
    elif kind == "text file":
        target.parent.mkdir()
        target.write_text("print('hello')\n")
    with pytest.raises(InterpreterNotFoundError) as caught:
        find_interpreter(str(target), cache_dir=cache)
    assert caught.value.request == str(target)
    assert caught.value.found[0].startswith("not usable: ")
    if kind == "failing script":
        assert "not a python" in caught.value.found[0]


def test_a_path_request_keeps_symlinks_and_expands_home(
    python39: Interpreter, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    link = tmp_path / "venvish" / "python"
    link.parent.mkdir()
    link.symlink_to(python39.path)
    found = find_interpreter("~/venvish/python", cache_dir=cache)
    assert found == Interpreter(str(link), python39.version, python39.implementation, "explicit")


def test_a_failing_python_first_on_path_is_skipped(
    python39: Interpreter, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pyenv trap: a `python3.9` on PATH that fails, like pyenv's shim for a version that
    # is installed but not selected. One in a plain folder is run and found wanting; one in a
    # folder named `shims` is not even run.
    ran = tmp_path / "ran"
    failing = _script(tmp_path / "bin" / "python3.9", f"touch {ran}/bin\nexit 127\n")
    shim = _script(tmp_path / "shims" / "python3.9", f"touch {ran}/shims\nexit 127\n")
    ran.mkdir()
    real_shims = os.path.join(PYENV_ROOT, "shims")
    path = [str(shim.parent), str(failing.parent), real_shims, os.environ["PATH"]]
    monkeypatch.setenv("PATH", os.pathsep.join(path))

    found = find_interpreter("3.9", cache_dir=cache)

    assert found == python39
    assert (ran / "bin").exists()
    assert not (ran / "shims").exists()
    paths = {i.path for i in find_interpreters(cache_dir=cache)}
    assert str(failing) not in paths and str(shim) not in paths


def test_the_cache_is_keyed_on_the_file(python39: Interpreter, tmp_path: Path, cache: Path) -> None:
    wrapper = _script(tmp_path / "bin" / "python", f'exec {python39.path} "$@"\n')
    before = probe_count()
    first = inspect_interpreter(str(wrapper), cache_dir=cache)
    assert probe_count() == before + 1
    assert inspect_interpreter(str(wrapper), cache_dir=cache) == first
    assert probe_count() == before + 1
    with wrapper.open("a") as script:
        script.write("# changed: size and mtime differ, so the cached answer is stale\n")
    inspect_interpreter(str(wrapper), cache_dir=cache)
    assert probe_count() == before + 2


def test_a_second_process_probes_nothing(
    python39: Interpreter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cache dir comes from ISOCELL_HOME here, as in a user's session.
    monkeypatch.setenv("ISOCELL_HOME", str(tmp_path / "home"))
    code = (
        "from isocell.envs._discovery import find_interpreter\n"
        "from isocell.envs._probe import probe_count\n"
        "found = find_interpreter('3.9')\n"
        "print(probe_count(), found.path)\n"
    )

    def run() -> tuple[int, str]:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        count, path = done.stdout.split()
        return int(count), path

    first_count, first_path = run()
    second_count, second_path = run()
    assert first_count > 0  # the counter does count: the cold run probed
    assert second_count == 0
    assert first_path == second_path == python39.path
    cached = json.loads((tmp_path / "home" / "cache" / "interpreters.json").read_text())
    assert os.path.realpath(python39.path) in cached["interpreters"]


def test_a_damaged_cache_is_rebuilt(python39: Interpreter, cache: Path) -> None:
    cache.mkdir(exist_ok=True)
    (cache / "interpreters.json").write_text("{not json")
    assert find_interpreter("3.9", cache_dir=cache) == python39
    json.loads((cache / "interpreters.json").read_text())


def test_an_explicit_shim_is_resolved_and_never_cached(
    python39: Interpreter, tmp_path: Path, cache: Path
) -> None:
    # A shim's target depends on the directory and environment it runs in: the answer names
    # the interpreter it dispatched to, and is asked afresh each time.
    shim = _script(tmp_path / "shims" / "python", f'exec {python39.path} "$@"\n')
    before = probe_count()
    found = inspect_interpreter(str(shim), cache_dir=cache)
    assert found == Interpreter(python39.path, python39.version, "cpython", "explicit")
    assert find_interpreter(str(shim), cache_dir=cache) == found
    assert probe_count() == before + 2
