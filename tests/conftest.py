"""Shared fixtures: a real IPython shell with isocell loaded, and an isolated ISOCELL_HOME.

Environments are built for real (uv, a real index) and children are real ipykernels. One
ISOCELL_HOME is shared by the whole run so that each spec is built once; tests that need an
empty home ask for ``fresh_home``.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pyenv_python(minor: str) -> str | None:
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", f"{minor}.*", "bin", f"python{minor}")))
    return found[-1] if found else None


PY39 = _pyenv_python("3.9")
needs_py39 = pytest.mark.skipif(PY39 is None, reason="CPython 3.9 is not installed (pyenv)")


@pytest.fixture(scope="session")
def isocell_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    configured = os.environ.get("ISOCELL_TEST_HOME")
    home = Path(configured) if configured else tmp_path_factory.mktemp("isocell-home")
    previous = os.environ.get("ISOCELL_HOME")
    os.environ["ISOCELL_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("ISOCELL_HOME", None)
    else:
        os.environ["ISOCELL_HOME"] = previous


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("ISOCELL_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def ip(isocell_home: Path) -> Iterator[object]:
    """A real IPython shell with ``%load_ext isocell`` done; its children stop at the end."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "isocell")
    yield shell
    shell.run_line_magic("unload_ext", "isocell")


@pytest.fixture
def ns(ip: object) -> Iterator[dict]:
    """The shell's namespace, with the names a test added removed afterwards."""
    namespace = ip.user_ns  # type: ignore[attr-defined]
    before = set(namespace)
    yield namespace
    for name in set(namespace) - before:
        del namespace[name]
