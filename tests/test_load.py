"""Load: several notebook kernels at once on shared environments, and the REST API under clients.

Real parts only: notebook kernels started by ``jupyter_client.KernelManager`` with ``%load_ext
isocell``, real uv builds into an empty ``ISOCELL_HOME``, a real ``jupyter server`` process.
No wall-clock time is asserted; the limits below only tell a hang from slowness.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PY39

pytestmark = [pytest.mark.load, pytest.mark.slow, pytest.mark.network]

KERNELS = 4
CELLS = 50
# A kernel that has not finished its cells by then is hung, not slow (2 busy cores, builds).
HANG_SECONDS = 600.0


@dataclass(frozen=True)
class Env:
    """One environment the cells ask for, and what a cell run in it must report."""

    line: str  # the magic's options
    six: str  # six.__version__ in it
    python: str  # "3.11"

    def cell(self) -> str:
        return (
            f"%%isolated {self.line}\n"
            "import six, sys\n"
            'y = (x * 7 + 3, six.__version__, "%d.%d" % sys.version_info[:2])\n'
        )

    def expected(self, x: int) -> str:
        return repr((x * 7 + 3, self.six, self.python))


HOST = "{}.{}".format(*sys.version_info[:2])
# Three distinct specs, each pinned (so each build resolves under a cut-off date, the
# product's default) and small. The two shared ones differ in Python where 3.9 is installed.
SHARED = (
    Env("--req six==1.16.0", "1.16.0", HOST),
    Env("--python 3.9 --req six==1.17.0", "1.17.0", "3.9")
    if PY39
    else Env("--req six==1.17.0", "1.17.0", HOST),
)
FIFTH = Env("--req six==1.15.0", "1.15.0", HOST)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def child_kernels(home: Path) -> dict[int, str]:
    """pid → interpreter of every ipykernel whose interpreter lies under ``home``."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as stream:
                argv = [os.fsdecode(a) for a in stream.read().split(b"\0")]
        except OSError:
            continue
        launched = "ipykernel_launcher" in argv or any(
            a.endswith("_child_launcher.py") for a in argv
        )
        if launched and argv[0].startswith(str(home)):
            if pid_alive(int(entry)):
                found[int(entry)] = argv[0]
    return found


class BuildWatcher(threading.Thread):
    """Polls ``$ISOCELL_HOME/envs`` and records every build folder and environment folder seen.

    A build works in ``envs/.build-<key>-<random>`` (a new name per build, ``mkdtemp``) and
    renames its result to ``envs/<key>``. A build takes seconds, so a poll every 20 ms sees
    every build folder; a second build of a key would show as a second folder name, and as
    a new inode of ``envs/<key>``.
    """

    def __init__(self, home: Path) -> None:
        super().__init__(name="build-watcher", daemon=True)
        self.envs = home / "envs"
        self.builds: dict[str, set[str]] = {}  # key → build folder names
        self.inodes: dict[str, list[int]] = {}  # key → inodes of envs/<key>, in order
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.poll()
            time.sleep(0.02)
        self.poll()

    def poll(self) -> None:
        try:
            entries = list(os.scandir(self.envs))
        except OSError:
            return
        for entry in entries:
            match = re.fullmatch(r"\.build-([0-9a-f]+)-.+", entry.name)
            if match:
                self.builds.setdefault(match.group(1), set()).add(entry.name)
            elif not entry.name.startswith("."):
                try:
                    inode = entry.inode()
                except OSError:
                    continue
                seen = self.inodes.setdefault(entry.name, [])
                if not seen or seen[-1] != inode:
                    seen.append(inode)


@dataclass
class Cell:
    """One isolated cell as a kernel ran it."""

    env: Env
    x: int
    status: str = ""
    y: str | None = None
    error: str = ""
    built_here: bool = False  # the cell showed "environment ready": this kernel built it


@dataclass
class Kernel:
    """One notebook kernel and the cells it ran."""

    index: int
    manager: Any
    cells: list[Cell] = field(default_factory=list)
    failure: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    if message["header"]["msg_type"] == "stream":
        return str(content.get("text", ""))
    return str(content.get("data", {}).get("text/plain", ""))


def run_cells(kernel: Kernel, plan: list[tuple[Env, int]], progress: threading.Semaphore) -> None:
    """Run ``plan`` (environment, input) in ``kernel``, one cell after the other."""
    client = kernel.manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        reply = client.execute_interactive(
            "%load_ext isocell", timeout=120, output_hook=lambda m: None
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        for env, x in plan:
            cell = Cell(env, x)
            kernel.cells.append(cell)
            reply = client.execute_interactive(
                f"x = {x}", timeout=HANG_SECONDS, output_hook=lambda m: None
            )
            assert reply["content"]["status"] == "ok", reply["content"]
            texts: list[str] = []
            reply = client.execute_interactive(
                env.cell(),
                timeout=HANG_SECONDS,
                user_expressions={"y": "y"},
                output_hook=lambda m, texts=texts: texts.append(_text(m)),  # type: ignore[misc]
            )
            content = reply["content"]
            cell.status = content["status"]
            cell.built_here = any("isocell: environment ready" in t for t in texts)
            if cell.status == "ok":
                value = content["user_expressions"]["y"]
                cell.y = value.get("data", {}).get("text/plain") or str(value)
            else:
                cell.error = f"{content.get('ename')}: {content.get('evalue')}"
            progress.release()
    except BaseException as error:  # recorded for the test's report; the thread just ends
        kernel.failure = f"{type(error).__name__}: {error}"
    finally:
        client.stop_channels()
        kernel.done.set()


def test_four_kernels_share_two_environments_while_a_fifth_builds(tmp_path: Path) -> None:
    from jupyter_client import KernelManager

    home = tmp_path / "isocell-home"
    env = {**os.environ, "ISOCELL_HOME": str(home)}
    watcher = BuildWatcher(home)
    watcher.start()
    kernels = [Kernel(index, KernelManager(kernel_name="python3")) for index in range(KERNELS + 1)]
    started = time.monotonic()
    try:
        for kernel in kernels:
            # One folder for the five notebooks, as when they sit side by side.
            kernel.manager.start_kernel(env=env, cwd=str(tmp_path))
        kernel_pids = [k.manager.provisioner.process.pid for k in kernels]
        # Kernel k, cell i: environment (i + k) % 2, input 1000 k + i, so both environments
        # are asked for by two kernels at once from the first cell on, and both are unbuilt.
        cells_done = threading.Semaphore(0)
        plans = [
            [(SHARED[(i + k) % 2], 1000 * k + i) for i in range(CELLS)] for k in range(KERNELS)
        ]
        threads = [
            threading.Thread(target=run_cells, args=(kernels[k], plans[k], cells_done))
            for k in range(KERNELS)
        ]
        for thread in threads:
            thread.start()
        # The fifth kernel builds its own environment once the four have run some cells.
        for _ in range(10 * KERNELS):
            while not cells_done.acquire(timeout=1.0):
                alive = [k for k in kernels[:KERNELS] if not k.done.is_set()]
                assert alive and time.monotonic() - started < HANG_SECONDS, _hung(kernels)
        before = [len(k.cells) for k in kernels[:KERNELS]]
        fifth = threading.Thread(
            target=run_cells,
            args=(kernels[KERNELS], [(FIFTH, 5000 + i) for i in range(5)], threading.Semaphore()),
        )
        fifth.start()
        fifth.join(timeout=HANG_SECONDS)
        during = [len(k.cells) for k in kernels[:KERNELS]]
        for thread in threads:
            thread.join(timeout=max(1.0, HANG_SECONDS - (time.monotonic() - started)))
        assert all(k.done.is_set() for k in kernels), _hung(kernels)
        wall = time.monotonic() - started
        children = child_kernels(home)
    finally:
        for kernel in kernels:
            if kernel.manager.has_kernel:
                kernel.manager.shutdown_kernel(now=False)
        watcher.halt.set()
        watcher.join(timeout=10)

    # every cell ran, in its environment, on its own input
    for kernel in kernels:
        assert kernel.failure is None, f"kernel {kernel.index}: {kernel.failure}"
        wrong = [
            (c.env.line, c.x, c.status, c.y, c.error)
            for c in kernel.cells
            if c.status != "ok" or c.y != c.env.expected(c.x)
        ]
        assert not wrong, f"kernel {kernel.index}: {wrong[:5]}"
    assert [len(k.cells) for k in kernels] == [CELLS] * KERNELS + [5]

    # each environment was built once: one build folder ever, one environment folder ever,
    # and exactly one cell, in all the kernels, that reported building it
    built = Counter(c.env for k in kernels for c in k.cells if c.built_here)
    assert built == Counter({SHARED[0]: 1, SHARED[1]: 1, FIFTH: 1}), built
    keys = [p.name for p in (home / "envs").iterdir() if not p.name.startswith(".")]
    # and the kernel layer of each interpreter (built once too, shared by its environments)
    layers = [
        key
        for key in keys
        if json.loads((home / "envs" / key / "isocell-env.json").read_text())["spec"].get(
            "kernel_layer"
        )
    ]
    assert len(keys) - len(layers) == 3 and 1 <= len(layers) <= 2, keys
    for key in keys:
        assert len(watcher.builds.get(key, ())) == 1, (key, watcher.builds)
        assert len(watcher.inodes[key]) == 1, (key, watcher.inodes)
        commands = (home / "envs" / key / "build.log").read_text().splitlines()
        assert sum(" venv " in line for line in commands if line.startswith("$ ")) == 1
    assert not list((home / "envs").glob(".build-*"))

    # one child per environment per notebook kernel while they ran, none after they stopped
    assert len(children) == 2 * KERNELS + 1, children
    deadline = time.monotonic() + 60
    while child_kernels(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not child_kernels(home), "child kernels outlived their notebook kernels"
    assert not [pid for pid in kernel_pids if pid_alive(pid)]
    left = [p for pid in kernel_pids for p in Path("/dev/shm").glob(f"isocell-{pid}-*")]
    assert not left, left

    seconds = {
        key: json.loads((home / "envs" / key / "isocell-env.json").read_text())["build_seconds"]
        for key in keys
    }
    print(
        f"\n{KERNELS} kernels x {CELLS} cells + a fifth building: {wall:.1f} s wall; "
        f"cells done per kernel when the fifth started {before}, when it ended {during}; "
        f"build folders seen per environment {[len(watcher.builds[k]) for k in keys]}, "
        f"build seconds {seconds}"
    )


def _hung(kernels: list[Kernel]) -> str:
    return "no progress within the hang limit: " + ", ".join(
        f"kernel {k.index} at cell {len(k.cells)} ({k.failure or 'running'})" for k in kernels
    )


def test_rest_listing_stays_up_while_a_build_runs(tmp_path: Path) -> None:
    from bench.rest import HEADER, measure, serve

    with serve(tmp_path / "isocell-home") as server:
        result = measure(server, clients=20, name="load", requirements=["six==1.15.0"])
        status, listing = server.request("GET", "/isocell/envs")

    print(f"\nREST listing under 20 clients during one build:\n{HEADER}\n{result.row()}")
    assert result.errors == []
    assert result.build_state == "done", result.build_error
    assert set(result.statuses) == {200} and result.requests >= 20
    assert status == 200
    [row] = listing["environments"]
    assert row["name"] == "load" and row["built"] and row["requirements"] == ["six==1.15.0"]
