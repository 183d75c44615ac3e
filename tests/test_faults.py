"""Faults of item 6: children that die, interrupts, and children outliving the notebook."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from isocell.errors import CellError, ChildDiedError

pytestmark = pytest.mark.slow


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
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


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
    run(ip, "", "import os\nkept = 'state'\nchild_pid = os.getpid()")
    ns.pop("kept")
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    # SIGINT to this process is what the notebook's interrupt button sends to the kernel.
    timer = later(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(CellError) as caught:
        run(ip, "", "import time\nfor _ in range(600):\n    time.sleep(0.1)\nnever = 1")
    timer.join()
    assert caught.value.ename == "KeyboardInterrupt"
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
    ip.run_line_magic("isocell", "restart")
    assert "restarted" in capsys.readouterr().out
    assert not pid_alive(ns["first"]) or sys.platform != "linux"
    run(ip, "--restart", "import os\nsecond = os.getpid()")
    assert ns["second"] != ns["first"]
