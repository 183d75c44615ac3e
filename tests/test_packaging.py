"""isocell as a user installs it: an sdist and a wheel built from this tree, each installed
into a fresh virtual environment with no Node.js on the ``PATH``, give the prebuilt JupyterLab
extension, the server extension, ``isocell --version`` and a working ``%%isolated``.

Issue #15 ("a package that installs without Node"), as JupyterLab's extension template
packages an extension: the sdist carries the built extension, so the wheel built from it
needs no ``jlpm``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.network]

BUILT = ROOT / "isocell" / "labextension" / "static" / "style.js"


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is a dependency of isocell"
    return found


def _no_node_path(folder: Path, *bins: Path) -> str:
    """A ``PATH`` of ``bins`` and a folder holding only ``uv``: no node, npm or jlpm."""
    tools = folder / "tools"
    tools.mkdir(exist_ok=True)
    if not (tools / "uv").exists():
        (tools / "uv").symlink_to(_uv())
    return os.pathsep.join([*(str(b) for b in bins), str(tools)])


def _run(argv: list[str], path: str, cwd: Path, **env: str) -> str:
    # this machine's settings (the package index, certificates) but its PATH
    environment = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    environment.update(PATH=path, **env)
    done = subprocess.run(
        argv, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist built from this tree, and the wheel built from that sdist, without Node."""
    if not BUILT.exists():
        pytest.skip("the JupyterLab extension is not built here (pip install -e . builds it)")
    work = tmp_path_factory.mktemp("packaging")
    out = work / "dist"
    path = _no_node_path(work, Path(sys.executable).parent)
    python = ["--python", sys.executable]
    _run([_uv(), "build", "--sdist", "--out-dir", str(out), *python, str(ROOT)], path, work)
    (sdist,) = out.glob("isocell-*.tar.gz")
    _run([_uv(), "build", "--wheel", "--out-dir", str(out), *python, str(sdist)], path, work)
    (wheel,) = out.glob("isocell-*.whl")
    return {"sdist": sdist, "wheel": wheel, "work": work}


def _version() -> str:
    return str(json.loads((ROOT / "package.json").read_text())["version"])


def test_the_sdist_carries_the_built_extension_and_the_license(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert "LICENSE" in names
    assert "isocell/labextension/static/style.js" in names
    assert "isocell/labextension/package.json" in names
    assert "labextension/src/index.ts" in names  # the sources, to build it again
    assert not any(name.startswith("node_modules/") for name in names)


def test_the_wheel_says_what_it_is(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = wheel.read(metadata).decode()
    version = _version()
    assert f"Version: {version}\n" in text
    assert "Classifier: Framework :: Jupyter :: JupyterLab :: Extensions :: Prebuilt" in text
    assert "License-Expression: Apache-2.0" in text and "License-File: LICENSE" in text
    assert "requires-dist: jupyter-server" in text.lower().replace("_", "-")
    assert "extra == 'lab'" in text or 'extra == "lab"' in text
    shared = f"isocell-{version}.data/data/share/jupyter/labextensions/isocell/"
    assert shared + "package.json" in names
    assert shared + "install.json" in names
    assert "isocell/_version.py" in names


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_a_fresh_install_without_node_has_the_extensions_the_command_and_the_magic(
    dists: dict[str, Path], kind: str
) -> None:
    work = dists["work"]
    venv = work / f"venv-{kind}"
    path = _no_node_path(work)
    _run([_uv(), "venv", "--python", sys.executable, str(venv)], path, work)
    bin_dir = venv / "bin"
    path = _no_node_path(work, bin_dir)
    target = f"isocell[lab] @ {dists[kind].as_uri()}"
    _run([_uv(), "pip", "install", "--python", str(bin_dir / "python"), target], path, work)
    home = {"JUPYTER_CONFIG_DIR": str(work / f"config-{kind}"), "ISOCELL_HOME": str(work / kind)}
    assert _run(["isocell", "--version"], path, work, **home).strip() == f"isocell {_version()}"
    listed = _run(["jupyter", "labextension", "list"], path, work, **home)
    assert "isocell" in listed and "enabled" in listed and "OK" in listed, listed
    servers = _run(["jupyter", "server", "extension", "list"], path, work, **home)
    assert "isocell.server" in servers and "enabled" in servers, servers
    # the magic, end to end: a cell isolated in a child kernel of this interpreter
    cell = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'isocell')\n"
        "shell.run_cell_magic('isolated', '--python ' + __import__('sys').executable,"
        " 'import sys\\nanswer = (6 * 7, sys.prefix)')\n"
        "print(shell.user_ns['answer'][0], shell.user_ns['answer'][1] == sys.prefix)\n"
        "shell.run_line_magic('unload_ext', 'isocell')\n"
    )
    shown = _run([str(bin_dir / "python"), "-c", "import sys\n" + cell], path, work, **home)
    assert "42 True" in shown, shown
