"""Faults: the notebook's interrupt (SIGINT to this process, as the interrupt button sends it to
the kernel) while a large input crosses, being written by the notebook or loaded by the child.

The cell does not run, the notebook namespace is unchanged, no payload is left in ``/dev/shm``,
and the child keeps running with its state; the next cell sends the input again and works.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import numpy as np
import pytest

from isocell.errors import CellError
from tests.test_faults import (
    assert_no_stray_kernels,
    in_background,
    rss_kib,
    run,
    segments,
    session_kernels,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.faults]

NUMPY = "--req numpy --exclude-newer none"
GIB = 2**30


def _writing() -> bool:
    return any(path.endswith("-in") for path in segments())


def _loading(child: int) -> Callable[[], bool]:
    """A check: the payload is whole and the child's memory has grown by 256 MiB over its
    lowest point (the child first lets go of the ``big`` an earlier test sent it, since
    nothing holds a decoded value in a reference cycle; then it reads the new one's pages)."""
    lowest = [rss_kib(child)["VmRSS"]]

    def check() -> bool:
        now = rss_kib(child)["VmRSS"]
        lowest[0] = min(lowest[0], now)
        return not _writing_incomplete() and now - lowest[0] > 256 * 1024

    return check


def _writing_incomplete() -> bool:
    return any(os.path.getsize(p) < GIB for p in segments() if p.endswith("-in"))


@pytest.mark.parametrize("phase", ["writing", "loading"])
def test_interrupt_during_a_large_transfer(ip, ns, phase):
    # `kept` is never returned: the child's own state, which the interrupt must not lose
    run(ip, NUMPY + " --out child_pid", "import os\nkept = 'state'\nchild_pid = os.getpid()")
    child = ns.pop("child_pid")
    ns["big"] = np.ones(GIB // 8)
    ns["total"] = "before"
    before = {name: (id(value), type(value)) for name, value in ns.items()}
    loading = _loading(child)

    def interrupt() -> None:
        if phase == "writing":
            wait_for(_writing, 120, "the notebook to write the payload")
        else:
            wait_for(loading, 120, "the child to load the payload")
        os.kill(os.getpid(), signal.SIGINT)

    striker = in_background(interrupt)
    try:
        with pytest.raises((KeyboardInterrupt, CellError)) as caught:
            run(ip, NUMPY, "total = float(big.sum())")
    finally:
        striker.join()
    print(f"\ninterrupted while {phase}: {type(caught.value).__name__}: {caught.value}")
    if phase == "writing":  # stopped in the notebook, before the child was asked anything
        assert caught.type is KeyboardInterrupt
    else:  # the child was interrupted in its load, and said so
        assert caught.type is CellError and caught.value.ename == "KeyboardInterrupt"
        assert "namespace is unchanged" in str(caught.value)
    assert {name: (id(value), type(value)) for name, value in ns.items()} == before
    assert ns["total"] == "before"
    assert segments() == []
    # the same child, with its state, and without the half-sent input
    run(
        ip,
        f"{NUMPY} --out same pid has",
        "import os\nsame = kept\npid = os.getpid()\nhas = 'big' in globals()",
    )
    assert (ns.pop("same"), ns.pop("pid")) == ("state", child)
    if phase == "writing":
        assert ns.pop("has") is False  # the child never saw it
    ns.pop("has", None)
    run(ip, NUMPY, "total = float(big.sum())")  # sent again, whole
    assert ns["total"] == float(GIB // 8)
    assert segments() == []
    assert child in session_kernels(ip)
    assert_no_stray_kernels(ip)
    del ns["big"], ns["total"]
