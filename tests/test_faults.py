"""Faults: children that die, interrupts, children outliving the notebook; and the harness the
other fault suites (``test_faults_*.py``) share: process scans, payload segments, a real
notebook kernel.

Every fault test asserts that nothing is lost: the notebook namespace is unchanged, no
half-built environment is reused, no child kernel or builder process is left behind, no
``/dev/shm/isocell-*`` segment is left behind.
"""

from __future__ import annotations

import glob
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from isocell.errors import ChildDiedError

pytestmark = [pytest.mark.slow, pytest.mark.faults]

T = TypeVar("T")

# -- the harness ------------------------------------------------------------------------------


def run(ip, line: str, cell: str):
    return ip.run_cell_magic("isolated", line, cell)


def later(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes() -> dict[int, tuple[int, list[str]]]:
    """Every live process: pid -> (parent pid, argv)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = [a.decode(errors="replace") for a in handle.read().split(b"\0") if a]
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), argv)
    return table


def descendants(root: int) -> dict[int, list[str]]:
    """The live processes below ``root``: pid -> argv."""
    table = processes()
    found: dict[int, list[str]] = {}
    parents = {root}
    while True:
        more = {pid for pid, (ppid, _) in table.items() if ppid in parents and pid not in found}
        if not more:
            return found
        found.update({pid: table[pid][1] for pid in more})
        parents = more


def uv_installs(root: int) -> list[int]:
    """The ``uv pip install`` processes below ``root``."""
    return [
        pid
        for pid, argv in descendants(root).items()
        if argv and os.path.basename(argv[0]) == "uv" and "install" in argv
    ]


def kernels_of(parent: int) -> set[int]:
    """Live ipykernel processes started for the notebook kernel ``parent`` (orphans too)."""
    found = set()
    for pid, (_, argv) in processes().items():
        if not any("ipykernel" in arg or arg.endswith("_child_launcher.py") for arg in argv):
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        if f"JPY_PARENT_PID={parent}".encode() in environ and pid_alive(pid):
            found.add(pid)
    return found


def describe(pids: set[int]) -> str:
    """Who these processes are, for an assertion's message."""
    table = processes()
    return "; ".join(
        f"pid {pid} (parent {table.get(pid, (0, []))[0]}): "
        f"{' '.join(table.get(pid, (0, ['gone']))[1])[:300]}"
        for pid in sorted(pids)
    )


def segments(pid: int | None = None) -> list[str]:
    """Payload files of the notebook process ``pid`` (default: this one)."""
    pid = os.getpid() if pid is None else pid
    found = []
    for base in ("/dev/shm", "/tmp"):
        # isocell-<pid>-<random>/ is the private scratch folder; payloads are files in it
        found += [p for p in glob.glob(f"{base}/isocell-{pid}-*/*-*") if os.path.isfile(p)]
    return found


def wait_for(check: Callable[[], T], timeout: float, what: str, period: float = 0.005) -> T:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(period)
    raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")


def in_background(action: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


def rss_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak) of ``pid``, in KiB."""
    with open(f"/proc/{pid}/status") as handle:
        rows = [line.split() for line in handle if line.startswith(("VmRSS", "VmHWM"))]
    return {row[0].rstrip(":"): int(row[1]) for row in rows}


def session_kernels(ip) -> set[int]:
    magics = ip.magics_manager.registry["IsolatedMagics"]
    return {r.pid for r in magics.runner.pool.records() if r.alive and r.pid is not None}


def assert_no_stray_kernels(ip) -> None:
    """Every child kernel of this process is one the session knows."""
    stray = kernels_of(os.getpid()) - session_kernels(ip)
    assert not stray, describe(stray)


class NotebookKernel:
    """A real notebook kernel (``python3``, this interpreter) with ``%load_ext isocell`` done."""

    def __init__(self, home: Path, **env: str) -> None:
        from jupyter_client import KernelManager

        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(env={**os.environ, "ISOCELL_HOME": str(home), **env})
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)
        assert self.execute("%load_ext isocell")["status"] == "ok"

    @property
    def pid(self) -> int:
        return self.manager.provisioner.process.pid  # type: ignore[union-attr]

    def execute(
        self, code: str, timeout: float = 300, hook: Callable[[dict], None] | None = None
    ) -> dict[str, Any]:
        """Run ``code``; the ``execute_reply`` content. ``hook`` sees every iopub message."""
        reply = self.client.execute_interactive(
            code, timeout=timeout, output_hook=hook or (lambda message: None)
        )
        return reply["content"]

    def send(self, code: str) -> str:
        """Start running ``code``; returns the request's id (see :meth:`reply`)."""
        return self.client.execute(code)

    def reply(self, msg_id: str, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message = self.client.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if message["parent_header"].get("msg_id") == msg_id:
                return message["content"]

    def value(self, expression: str) -> str:
        """``repr`` of ``expression`` evaluated in the notebook namespace."""
        reply = self.client.execute_interactive(
            "", timeout=60, output_hook=lambda m: None, user_expressions={"v": expression}
        )
        result = reply["content"]["user_expressions"]["v"]
        if result["status"] != "ok":
            return f"<{result['ename']}>"
        return result["data"]["text/plain"]

    def child_pids(self) -> set[int]:
        return kernels_of(self.pid)

    def close(self) -> None:
        pid = self.pid
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        wait_for(lambda: not kernels_of(pid), 60, "the children to end with their notebook")
        assert not segments(pid)


@contextmanager
def notebook_kernel(home: Path, **env: str) -> Iterator[NotebookKernel]:
    kernel = NotebookKernel(home, **env)
    try:
        yield kernel
    finally:
        kernel.close()


# -- the child dies, the notebook interrupts ---------------------------------------------------


def test_kill_minus_nine_mid_cell_is_reported_and_changes_nothing(ip, ns):
    run(ip, "", "import os\nchild_pid = os.getpid()")
    ns["value"] = "before"
    timer = later(1.0, lambda: os.kill(ns["child_pid"], signal.SIGKILL))
    started = time.monotonic()
    with pytest.raises(ChildDiedError, match="signal 9"):
        run(ip, "", "value = 'after'\nimport time\ntime.sleep(60)")
    timer.join()
    assert time.monotonic() - started < 30  # "within seconds", with a wide margin for CI
    assert ns["value"] == "before"
    run(ip, "", "import os\nnew_pid = os.getpid()")
    assert ns["new_pid"] != ns["child_pid"]


def test_segfault_is_reported(ip, ns):
    with pytest.raises(ChildDiedError, match="signal 11"):
        run(ip, "", "import ctypes\nctypes.string_at(0)")
    run(ip, "", "ok = True")
    assert ns["ok"] is True


def test_notebook_interrupt_stops_the_child_and_keeps_its_state(ip, ns):
    # `kept` is never returned: the child's own state, which the interrupt must not lose
    run(ip, "--out child_pid", "import os\nkept = 'state'\nchild_pid = os.getpid()")
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    # SIGINT to this process is what the notebook's interrupt button sends to the kernel.
    timer = later(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt) as caught:
        run(ip, "", "import time\nfor _ in range(600):\n    time.sleep(0.1)\nnever = 1")
    timer.join()
    assert caught.type is KeyboardInterrupt  # as a local cell's interrupt
    assert "never" not in ns
    run(ip, "--out same pid", "import os\nsame = kept\npid = os.getpid()")
    assert ns["same"] == "state" and ns["pid"] == ns["child_pid"]


def test_children_end_with_the_notebook_kernel_even_when_it_is_killed(isocell_home, tmp_path):
    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env={**os.environ, "ISOCELL_HOME": str(isocell_home)})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            "%load_ext isocell\n", timeout=60, output_hook=lambda m: None
        )
        assert reply["content"]["status"] == "ok"
        reply = client.execute_interactive(
            "%%isolated\nimport os\nchild_pid = os.getpid()\n",
            timeout=120,
            output_hook=lambda m: None,
        )
        assert reply["content"]["status"] == "ok"
        reply = client.execute_interactive(
            "child_pid",
            timeout=30,
            output_hook=lambda m: None,
            user_expressions={"pid": "child_pid"},
        )
        child_pid = int(reply["content"]["user_expressions"]["pid"]["data"]["text/plain"])
        assert pid_alive(child_pid)
    finally:
        client.stop_channels()
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
    manager.provisioner.process.wait()  # type: ignore[union-attr]
    deadline = time.monotonic() + 30
    while pid_alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_alive(child_pid), "the child outlived its notebook kernel"
    manager.cleanup_resources()


def test_kernels_stop_and_restart_commands(ip, ns, capsys):
    run(ip, "", "import os\nfirst = os.getpid()")
    ip.run_line_magic("isocell", "kernels")
    assert "pid" in capsys.readouterr().out
    pool = ip.magics_manager.registry["IsolatedMagics"].runner.pool
    (key,) = [record.key for record in pool.records() if record.pid == ns["first"]]
    ip.run_line_magic("isocell", "restart")
    assert "restarted" in capsys.readouterr().out
    assert not pid_alive(ns["first"]) or sys.platform != "linux"
    # a fresh child runs at once, before any cell asks for it (other tests' children, in
    # other environments of this shell, restart too)
    (record,) = [record for record in pool.records() if record.key == key]
    assert record.alive and record.pid != ns["first"] and record.cells_run == 0
    run(ip, "", "import os\nsecond = os.getpid()")
    assert ns["second"] == record.pid
    run(ip, "--restart", "import os\nthird = os.getpid()")
    assert ns["third"] != ns["second"]
    ip.run_line_magic("isocell", "stop")
    assert "stopped" in capsys.readouterr().out and pool.records() == ()


# -- the notebook kernel restarted, the output flood ------------------------------------------

LONG_CELL = "%%isolated\nimport time\nn = len(data)\nfor _ in range(1200):\n    time.sleep(0.1)\n"


@pytest.mark.parametrize("now", [True, False], ids=["restart-now", "graceful-restart"])
def test_children_end_when_the_notebook_kernel_restarts_mid_cell(isocell_home, now):
    with notebook_kernel(isocell_home) as kernel:
        assert kernel.execute("%%isolated\nimport os\nchild_pid = os.getpid()")["status"] == "ok"
        child = int(kernel.value("child_pid"))
        assert kernel.child_pids() == {child}
        old = kernel.pid
        assert kernel.execute("data = list(range(100_000))")["status"] == "ok"
        kernel.send(LONG_CELL)
        time.sleep(2)  # the long cell runs in the child now
        kernel.manager.restart_kernel(now=now)
        assert kernel.pid != old and not pid_alive(old)
        wait_for(lambda: not pid_alive(child), 60, "the child to end with its notebook kernel")
        assert not kernels_of(old)
        kernel.client.wait_for_ready(timeout=120)
        assert kernel.execute("%load_ext isocell")["status"] == "ok"
        assert not segments(old)  # none was left (the input left /dev/shm once loaded)
        assert kernel.value("child_pid") == "<NameError>"  # a new notebook namespace
        assert kernel.execute("%%isolated\nimport os\nnew_pid = os.getpid()")["status"] == "ok"
        assert int(kernel.value("new_pid")) != child


FLOOD_LINES = 1_000_000


def test_an_output_flood_arrives_whole_with_bounded_memory(isocell_home):
    received: list[int] = [0, 0]  # lines, characters
    tail: list[str] = [""]

    def collect(message: dict) -> None:
        if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
            text = message["content"]["text"]
            received[0] += text.count("\n")
            received[1] += len(text)
            tail[0] = (tail[0] + text)[-100:]

    with notebook_kernel(isocell_home) as kernel:
        assert kernel.execute("%%isolated\nwarm = 1")["status"] == "ok"
        baseline = rss_kib(kernel.pid)["VmRSS"]
        started = time.monotonic()
        reply = kernel.execute(
            f"%%isolated\nfor i in range({FLOOD_LINES}):\n    print('line', i)", 600, collect
        )
        seconds = time.monotonic() - started
        memory = rss_kib(kernel.pid)
        assert reply["status"] == "ok", reply
        assert kernel.execute("after = 1")["status"] == "ok"  # the notebook kernel is usable
    grown_mb = (memory["VmHWM"] - baseline) / 1024
    print(
        f"\nflood: {FLOOD_LINES} lines ({received[1] / 1e6:.1f} MB) relayed in {seconds:.1f} s; "
        f"notebook kernel RSS baseline {baseline / 1024:.0f} MB, peak {memory['VmHWM'] / 1024:.0f}"
        f" MB (+{grown_mb:.0f} MB), now {memory['VmRSS'] / 1024:.0f} MB"
    )
    assert received[0] == FLOOD_LINES
    assert tail[0].endswith(f"line {FLOOD_LINES - 1}\n")
    assert grown_mb < 500


class _SlowSink:
    """A notebook that takes ``delay`` seconds over every write it is given."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.texts: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def stream(self, name: str, text: str) -> None:
        self.texts[name].append(text)
        time.sleep(self.delay)

    def display(self, data, metadata, transient, update) -> None:
        pass

    def clear(self, wait: bool) -> None:
        pass


def test_a_notebook_slower_than_the_child_loses_no_output(ip, ns):
    from isocell.runner import CellRequest

    runner = ip.magics_manager.registry["IsolatedMagics"].runner
    sink = _SlowSink(0.3)  # one flushed line is one message: 20000 of them, read slowly
    cell = "for i in range(20_000):\n    print(i, flush=True)"
    runner.run(CellRequest(cell), ns, sink=sink)
    lines = "".join(sink.texts["stdout"]).splitlines()
    assert lines == [str(i) for i in range(20_000)]
    assert not sink.texts["stderr"]


def test_a_lost_idle_status_does_not_hang_the_cell(ip, ns, capsys):
    # The fault, injected in the child: its next "idle" status is never sent, as when ZMQ
    # drops it for a subscriber that fell behind.
    cell = (
        "kernel = get_ipython().kernel\n"
        "publish = kernel._publish_status\n"
        "def once(status, *args, **kwargs):\n"
        "    if status == 'idle':\n"
        "        kernel._publish_status = publish\n"
        "        return None\n"
        "    return publish(status, *args, **kwargs)\n"
        "kernel._publish_status = once\n"
        "done = 'yes'"
    )
    started = time.monotonic()
    run(ip, "--out done", cell)
    assert time.monotonic() - started < 120  # hang detection only
    assert ns.pop("done") == "yes"
    assert "some of it may be missing" in capsys.readouterr().err
    run(ip, "", "after = 1")
    assert ns.pop("after") == 1


# -- what a cell started ends with its child (issue #11, finding 7) ---------------------------

GRANDCHILD = (
    f"%%isolated --python {sys.executable}\n"
    "import os, subprocess\n"
    "sleeper = subprocess.Popen(['sleep', '1000']).pid\nchild = os.getpid()"
)


@pytest.mark.parametrize("how", ["stop", "child-killed", "notebook-killed"])
def test_what_a_cell_started_ends_with_its_child(isocell_home, how):
    with notebook_kernel(isocell_home) as kernel:
        assert kernel.execute(GRANDCHILD)["status"] == "ok"
        sleeper, child = int(kernel.value("sleeper")), int(kernel.value("child"))
        assert pid_alive(sleeper)
        if how == "stop":
            assert kernel.execute("%isocell stop")["status"] == "ok"
        elif how == "child-killed":
            os.kill(child, signal.SIGKILL)
            wait_for(lambda: not pid_alive(child), 30, "the child to die")
            # the next cell finds it dead: it starts another, or, when the death is noticed
            # only once the cell was sent, reports ChildDiedError; the dead one's group ends
            reply = kernel.execute("%%isolated --python " + sys.executable + "\nx = 1")
            assert reply["status"] == "ok" or reply["ename"] == "ChildDiedError", reply
        else:
            owner = kernel.pid
            os.kill(owner, signal.SIGKILL)
            wait_for(lambda: not pid_alive(child), 60, "the child to end with its notebook")
            # The next notebook kernel (whichever notebook) ends what the dead one's child
            # left running (and the child's own watch of its parent may have done so already)
            kernel.manager.restart_kernel(now=True)
            kernel.client.wait_for_ready(timeout=120)
            assert kernel.execute("%load_ext isocell")["status"] == "ok"
            assert (
                kernel.execute("%%isolated --python " + sys.executable + "\nx = 1")["status"]
                == "ok"
            )
        wait_for(lambda: not pid_alive(sleeper), 30, "what the cell started to end")


@contextmanager
def memory_cgroup(limit: int) -> Iterator[Path]:
    """A child memory cgroup (v1 or v2) of this process's, limited to ``limit`` bytes (swap
    included where v1 accounts it); skips where it cannot be made."""
    if os.getuid() != 0:
        pytest.skip("needs root to make a memory cgroup")
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    base = None
    for line in lines:
        number, controllers, path = [*line.split(":", 2), "", ""][:3]
        if "memory" in controllers.split(","):
            base, files = Path("/sys/fs/cgroup/memory") / path.lstrip("/"), "v1"
        elif number == "0" and (Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.max").exists():
            base, files = Path("/sys/fs/cgroup") / path.lstrip("/"), "v2"
    if base is None:
        pytest.skip("no memory cgroup to nest one in")
    group = base / f"isocell-test-{os.getpid()}"
    try:
        group.mkdir()
    except OSError as error:
        pytest.skip(f"cannot make a memory cgroup here: {error}")
    try:
        if files == "v1":
            (group / "memory.limit_in_bytes").write_text(str(limit))
            swap = group / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit))
        else:
            (group / "memory.max").write_text(str(limit))
            (group / "memory.swap.max").write_text("0")
        yield group
    finally:
        wait_for(
            lambda: not (group / "cgroup.procs").read_text().strip(), 60, "the cgroup to empty"
        )
        group.rmdir()


def test_an_out_of_memory_kill_says_so_with_the_limit(isocell_home):
    with memory_cgroup(400 * 2**20) as group:
        with notebook_kernel(isocell_home) as kernel:
            (group / "cgroup.procs").write_text(str(kernel.pid))  # its children start in it
            hog = "%%isolated --python " + sys.executable + "\nblocks = []\n"
            hog += "while True:\n    blocks.append(bytearray(50 * 2**20))"
            reply = kernel.execute(hog)
            message = "\n".join(reply.get("traceback", []))
            assert reply["status"] == "error" and "ChildDiedError" in message, message
            assert "killed by the out-of-memory killer (memory limit 400 MiB)" in message
            assert kernel.execute("x = 1")["status"] == "ok"  # the notebook kernel lives on
