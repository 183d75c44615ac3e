"""The ``isocell`` command, run as a user runs it (a subprocess), with a fresh ISOCELL_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PY39, needs_py39

pytestmark = pytest.mark.slow
ISOCELL = [sys.executable, "-m", "isocell.cli"]


def isocell(*args: str, home: Path, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*ISOCELL, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ISOCELL_HOME": str(home)},
        timeout=600,
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def test_env_create_list_show_remove(fresh_home):
    created = isocell("env", "create", "tiny", "--req", "six==1.16.0", home=fresh_home)
    assert "created tiny" in created.stdout
    listing = json.loads(isocell("env", "list", "--json", home=fresh_home).stdout)
    assert [row["name"] for row in listing] == ["tiny"]
    # six alone: the kernel is in the kernel layer
    assert listing[0]["packages"] == 1 and listing[0]["requirements"] == "six==1.16.0"
    shown = json.loads(isocell("env", "show", "tiny", home=fresh_home).stdout)
    assert "six==1.16.0" in shown["lock"]
    path = Path(shown["path"])
    assert path.is_dir()
    isocell("env", "remove", "tiny", home=fresh_home)
    assert not path.exists()
    assert json.loads(isocell("env", "list", "--json", home=fresh_home).stdout) == []


def test_env_prune_deletes_the_cells_cached_environments_only(fresh_home):
    from isocell.envs import EnvRequest, EnvStore, resolve_environment

    isocell("env", "create", "tiny", "--req", "six==1.16.0", home=fresh_home)
    request = EnvRequest(python=sys.executable, requirements=("six==1.15.0",))
    cached = resolve_environment(request, EnvStore(fresh_home))
    said = isocell("env", "prune", "--unused-days", "30", home=fresh_home).stdout
    assert said.strip() == "removed 0 cached environments, 0 B"
    dry = isocell("env", "prune", "--dry-run", home=fresh_home).stdout
    assert f"would remove {cached.key}: Python" in dry and "six==1.15.0" in dry
    assert cached.path.is_dir()
    done = isocell("env", "prune", home=fresh_home).stdout
    assert f"removed {cached.key}" in done and "removed 1 cached environments" in done
    assert not cached.path.exists()
    listing = json.loads(isocell("env", "list", "--all", "--json", home=fresh_home).stdout)
    assert {row["kind"] for row in listing} == {"spec", "layer"}  # the name and the layer stay
    bad = isocell("env", "prune", "--unused-days", "-1", home=fresh_home, ok=False)
    assert bad.returncode == 2 and "not a number of days" in bad.stderr


def test_named_environment_is_used_by_the_magic(fresh_home, ip, ns, monkeypatch):
    isocell("env", "create", "named", "--req", "six==1.16.0", home=fresh_home)
    # the magic's cell runner reads the registry of its own home: point it at this one
    magics = ip.magics_manager.registry["IsolatedMagics"]
    from isocell.envs import EnvStore, Registry

    monkeypatch.setattr(magics.runner, "store", EnvStore(fresh_home))
    monkeypatch.setattr(magics.runner, "registry", Registry(fresh_home))
    ip.run_cell_magic("isolated", "--env named", "import six\nsix_version = six.__version__")
    assert ns["six_version"] == "1.16.0"


@needs_py39
def test_env_add_registers_an_interpreter_used_as_it_is(fresh_home):
    assert PY39 is not None
    isocell("env", "add", "py39", "--python", PY39, home=fresh_home)
    shown = json.loads(isocell("env", "show", "py39", home=fresh_home).stdout)
    assert shown["kind"] == "external" and shown["python"] == PY39


def test_pythons_lists_interpreters(fresh_home):
    found = json.loads(isocell("pythons", "--json", home=fresh_home).stdout)
    versions = {row["version"].rsplit(".", 1)[0] for row in found}
    assert "{}.{}".format(*sys.version_info[:2]) in versions


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["env", "create", "../escape", "--req", "six"], "invalid environment name"),
        (["env", "create", "ok", "--req", "six; rm -rf ~"], "invalid requirement"),
        (["env", "create", "ok", "--req=--index-url=http://x"], "command-line option"),
        (["env", "show", "missing"], "no environment named 'missing'"),
        (["env", "add", "x", "--python", "/no/such/python"], "no Python interpreter"),
        (["env", "create", "ok", "--python", "3.99"], "no Python interpreter matches '3.99'"),
    ],
)
def test_bad_input_gives_a_clear_error_and_writes_nothing(fresh_home, args, message):
    done = isocell(*args, home=fresh_home, ok=False)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (fresh_home / "envs").exists() or not any((fresh_home / "envs").iterdir())
    assert not (fresh_home / "registry.json").exists()


def test_duplicate_name_is_refused(fresh_home):
    isocell("env", "create", "dup", "--req", "six==1.16.0", home=fresh_home)
    done = isocell("env", "create", "dup", "--req", "six==1.16.0", home=fresh_home, ok=False)
    assert done.returncode == 1 and "exists" in done.stderr


def test_damaged_registry_is_repaired_with_a_one_line_warning(fresh_home):
    isocell("env", "add", "kept", "--python", sys.executable, home=fresh_home)
    registry = fresh_home / "registry.json"
    registry.write_text(registry.read_text()[:-20])  # cut short
    done = isocell("env", "list", home=fresh_home)
    assert "kept" in done.stdout
    warning = done.stderr.strip()
    assert warning.startswith("isocell: repaired the damaged environment registry")
    assert "Kept 1 environment(s): kept" in warning and "Traceback" not in warning
    assert "\n" not in warning and "UserWarning" not in warning
    assert len(list(fresh_home.glob("registry.json.damaged-*"))) == 1
    again = isocell("env", "list", home=fresh_home)
    assert "kept" in again.stdout and again.stderr == ""


def test_line_magic_lists_environments_and_pythons(ip, capsys):
    ip.run_line_magic("isocell", "pythons")
    assert "{}.{}".format(*sys.version_info[:2]) in capsys.readouterr().out
    ip.run_line_magic("isocell", "envs")
    assert capsys.readouterr().out.strip()
