"""The notebook kernel's scratch space (issue #11, finding 4): private, unguessable, with room
found on disk when memory has none, and cleaned up after a notebook kernel that died."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import hostile
from tests.test_faults import kernels_of, notebook_kernel, pid_alive, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.faults]

ISOLATED = f"%%isolated --python {sys.executable}\n"


def scratch_folders(pid: int) -> list[Path]:
    """The scratch folders of notebook kernel ``pid`` in /dev/shm and the temporary folder."""
    found = []
    for base in (Path("/dev/shm"), Path("/tmp")):
        found += [p for p in base.glob(f"isocell-{pid}-*") if p.is_dir()]
    return found


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``folder`` (root only)."""
    if os.getuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)])
    if done.returncode != 0:
        pytest.skip("mount -t tmpfs is not permitted here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_names_another_user_planted_change_nothing(isocell_home):
    hostile.intruder()
    with notebook_kernel(isocell_home) as kernel:
        pid = kernel.pid
        planted = [
            f"/dev/shm/isocell-{pid}-{n}-{kind}" for n in range(40) for kind in ("in", "out")
        ]
        try:
            hostile.as_intruder("touch", *planted)
            assert kernel.execute("data = list(range(1000))")["status"] == "ok"
            reply = kernel.execute(ISOLATED + "total = sum(data)")
            assert reply["status"] == "ok", reply
            assert kernel.value("total") == str(sum(range(1000)))
            (folder,) = [p for p in scratch_folders(pid) if str(p).startswith("/dev/shm")]
            info = folder.stat()
            assert info.st_uid == os.getuid() and oct(info.st_mode & 0o777) == "0o700"
            assert kernels_of(pid)  # the child's sockets and connection file live there too
            assert any(folder.glob("kernel-*/connection.json"))
        finally:
            for path in planted:
                Path(path).unlink(missing_ok=True)


def test_a_small_dev_shm_falls_back_to_disk_and_then_says_so(isocell_home, tmp_path):
    with tmpfs(tmp_path / "shm", "4m") as shm, tmpfs(tmp_path / "disk", "64m") as disk:
        environment = {"ISOCELL_SCRATCH_DIR": str(shm), "TMPDIR": str(disk)}
        with notebook_kernel(isocell_home, **environment) as kernel:
            setup = "import numpy as np\na = np.arange(2_000_000, dtype='float64')"  # 16 MB
            assert kernel.execute(setup)["status"] == "ok"
            reply = kernel.execute(ISOLATED + "import numpy as np\nb = a * 2")  # in and out
            assert reply["status"] == "ok", reply
            assert kernel.value("bool((b == a * 2).all())") == "True"
            # too large for both: a clear error naming the variable, and nothing is lost
            # (a deleted payload still takes room while a value mapped from it lives)
            assert kernel.execute("a = np.zeros(12_500_000)")["status"] == "ok"  # 100 MB
            reply = kernel.execute(ISOLATED + "c = len(a)")
            assert reply["status"] == "error"
            message = "\n".join(reply["traceback"])
            assert "TransferError" in message and "'a'" in message and "no room" in message
            assert "ISOCELL_SCRATCH_DIR" in message
            reply = kernel.execute(ISOLATED + "v = 1")
            assert reply["status"] == "ok", reply
            assert kernel.value("v") == "1" and kernel.value("'c' in dir()") == "False"
            # the child's outputs take the same way back
            reply = kernel.execute(ISOLATED + "import numpy as np\nd = np.ones(1_500_000)")
            assert reply["status"] == "ok", reply  # 12 MB: on disk
            reply = kernel.execute(ISOLATED + "import numpy as np\ne = np.ones(12_500_000)")
            message = "\n".join(reply.get("traceback", []))
            assert reply["status"] == "error" and "'e'" in message and "no room" in message


def test_a_child_without_memory_to_map_an_input_says_which_and_keeps_its_state(isocell_home):
    # The child caps its own address space 300 MiB above what it uses (ulimit -v): a 512 MiB
    # input cannot be mapped (ENOMEM), which used to be a bare OSError from the agent.
    cap = (
        "import os, resource\nkept = 'state'\n"
        "used = int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE')\n"
        "resource.setrlimit(resource.RLIMIT_AS, (used + 300 * 2**20, resource.RLIM_INFINITY))"
    )
    with notebook_kernel(isocell_home) as kernel:
        assert kernel.execute(ISOLATED + cap)["status"] == "ok"
        setup = "import numpy as np\nbig = np.ones(2**26)\nsmall = 7"  # 512 MiB
        assert kernel.execute(setup)["status"] == "ok"
        reply = kernel.execute(ISOLATED + "total = float(big.sum()) + small")
        assert reply["status"] == "error"
        message = "\n".join(reply["traceback"])
        assert "TransferError" in message and "'big'" in message, message
        assert "no memory to map it" in message and "RLIMIT_AS" in message, message
        assert kernel.value("'total' in dir()") == "False"
        again = ISOLATED.replace("\n", " --out same small_seen\n")
        reply = kernel.execute(again + "same = kept\nsmall_seen = small")
        assert reply["status"] == "ok", reply  # the same child, its state, a small input
        assert kernel.value("(same, small_seen)") == "('state', 7)"


def test_a_dead_notebooks_scratch_is_removed_by_the_next_one(isocell_home):
    with notebook_kernel(isocell_home) as kernel:
        assert kernel.execute(ISOLATED + "import os\nchild = os.getpid()")["status"] == "ok"
        child, owner = int(kernel.value("child")), kernel.pid
        left = scratch_folders(owner)
        assert left
        os.kill(owner, signal.SIGKILL)
        wait_for(lambda: not pid_alive(child), 60, "the child to end with its notebook")
        assert all(folder.exists() for folder in left)
        kernel.manager.restart_kernel(now=True)
        kernel.client.wait_for_ready(timeout=120)
        assert kernel.execute("%load_ext isocell")["status"] == "ok"
        assert kernel.execute(ISOLATED + "x = 1")["status"] == "ok"
        assert not any(folder.exists() for folder in left)
