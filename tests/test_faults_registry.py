"""Faults: the registry of named environments damaged on disk.

Each kind of damage is repaired on the next read, through the public paths (the ``Registry``
API, ``isocell env list``, ``%%isolated --env NAME``): the well-formed entries are kept, the
others come back from the last good copy, the damaged file is moved aside (never deleted), and
a warning names the file, what was kept and where the damaged copy went.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from isocell.envs import EnvSpec, Registry
from isocell.errors import RegistryRepairedWarning

pytestmark = pytest.mark.faults

NAMES = ["alpha", "beta", "gamma"]


def _spec() -> EnvSpec:
    return EnvSpec(
        python=sys.executable,
        python_version="{}.{}.{}".format(*sys.version_info[:3]),
        requirements=("six==1.16.0",),
    )


def _registry(home: Path) -> Registry:
    registry = Registry(home)
    registry.add("alpha", python="/opt/alpha/bin/python")
    registry.add("beta", spec=_spec())
    registry.add("gamma", python="/opt/gamma/bin/python")
    return registry


def _truncate(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: text.index('"gamma"') + 20])  # cut inside the last entry


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(300))


def _wrong_shape(path: Path) -> None:
    path.write_text(json.dumps({"version": 1, "environments": ["alpha", "beta"]}))


def _one_malformed(path: Path) -> None:
    data = json.loads(path.read_text())
    data["environments"]["beta"] = {"kind": "spec", "spec": {"no such field": 1}}
    path.write_text(json.dumps(data))


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("someone's file")


def _link_loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.name)  # reading it fails with ELOOP, even as root


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "garbage": _garbage,
    "wrong-shape": _wrong_shape,
    "one-malformed-entry": _one_malformed,
    "folder": _folder,
    "link-loop": _link_loop,
}


def _damaged_copies(home: Path) -> list[Path]:
    return sorted(home.glob("registry.json.damaged-*"))


def _snapshot(path: Path) -> object:
    if path.is_symlink():
        return ("link", os.readlink(path))
    if path.is_dir():
        return ("folder", sorted(p.name for p in path.iterdir()))
    return ("file", path.read_bytes())


def _reads_quietly(registry: Registry) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a repaired registry reads without a warning
        return [entry.name for entry in registry.all()]


def _repair_message(caught: pytest.WarningsRecorder) -> str:
    """The first repair warning's text: the recorder also holds any other warning raised
    meanwhile (a ResourceWarning for a file an earlier test left open, when the garbage
    collector happens to run inside the block)."""
    repairs = [w for w in caught if issubclass(w.category, RegistryRepairedWarning)]
    return str(repairs[0].message)


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_registry_is_repaired_and_keeps_every_entry(fresh_home, damage):
    registry = _registry(fresh_home)
    DAMAGE[damage](registry.path)
    damaged = _snapshot(registry.path)
    with pytest.warns(RegistryRepairedWarning) as caught:
        names = [entry.name for entry in registry.all()]
    assert names == NAMES  # the last good copy fills in what the damage took
    message = _repair_message(caught)
    assert str(registry.path) in message and "alpha, beta, gamma" in message
    (aside,) = _damaged_copies(fresh_home)
    assert str(aside) in message
    assert _snapshot(aside) == damaged  # moved aside as it was, never deleted
    assert _reads_quietly(registry) == NAMES
    assert registry.get("beta").spec == _spec()
    registry.add("delta", python="/opt/delta/bin/python")  # and it works on
    assert _reads_quietly(Registry(fresh_home)) == sorted([*NAMES, "delta"])


def test_without_a_last_good_copy_the_readable_entries_are_kept(fresh_home):
    registry = _registry(fresh_home)
    registry.backup.unlink()  # a registry written before there were backups
    _truncate(registry.path)
    with pytest.warns(RegistryRepairedWarning, match="Kept 2 environment"):
        assert [entry.name for entry in registry.all()] == ["alpha", "beta"]
    assert _reads_quietly(registry) == ["alpha", "beta"]


def test_a_malformed_entry_does_not_take_the_others_down(fresh_home):
    registry = _registry(fresh_home)
    registry.backup.unlink()
    _one_malformed(registry.path)
    with pytest.warns(RegistryRepairedWarning, match=r"Lost: beta: ") as caught:
        assert [entry.name for entry in registry.all()] == ["alpha", "gamma"]
    assert "no such field" in _repair_message(caught)
    assert _reads_quietly(registry) == ["alpha", "gamma"]


def test_env_list_repairs_and_says_so(fresh_home):
    registry = _registry(fresh_home)
    _garbage(registry.path)
    done = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "env", "list", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ISOCELL_HOME": str(fresh_home)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert [row["name"] for row in json.loads(done.stdout)] == NAMES
    assert "damaged" in done.stderr and str(registry.path) in done.stderr
    assert str(_damaged_copies(fresh_home)[0]) in done.stderr


@pytest.mark.slow
def test_isolated_env_name_runs_after_a_repair(fresh_home, ip, ns, monkeypatch):
    from isocell.envs import EnvStore

    registry = Registry(fresh_home)
    registry.add("host", python=sys.executable)  # the notebook's own venv: it has ipykernel
    registry.add("other", python="/opt/other/bin/python")
    registry.path.write_text(registry.path.read_text()[:40])  # cut before the first entry
    magics = ip.magics_manager.registry["IsolatedMagics"]
    monkeypatch.setattr(magics.runner, "store", EnvStore(fresh_home))
    monkeypatch.setattr(magics.runner, "registry", registry)
    before = dict(ns)
    with pytest.warns(RegistryRepairedWarning, match="host, other"):
        ip.run_cell_magic("isolated", "--env host", "answer = 6 * 7")
    assert ns.pop("answer") == 42
    assert {k: v for k, v in ns.items() if k in before} == before
    assert _reads_quietly(registry) == ["host", "other"]
    magics.runner.pool.stop("host")


def test_concurrent_readers_repair_once(fresh_home):
    registry = _registry(fresh_home)
    _garbage(registry.path)
    script = (
        "import warnings, sys\n"
        "from pathlib import Path\n"
        "from isocell.envs import Registry\n"
        "warnings.simplefilter('always')\n"
        "print(','.join(e.name for e in Registry(Path(sys.argv[1])).all()))\n"
    )
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(fresh_home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [reader.communicate(timeout=300) for reader in readers]
    assert all(out.strip() == ",".join(NAMES) for out, _ in results)
    assert sum("damaged" in err for _, err in results) == 1  # one repairs, the rest read it
    assert len(_damaged_copies(fresh_home)) == 1
    shutil.rmtree(fresh_home)
