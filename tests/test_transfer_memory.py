"""Memory: a value that crossed is freed by reference counting alone.

A real notebook kernel with the cyclic garbage collector off sends a 256 MiB array to a child
and takes it back three times; after ``del`` its resident memory is back near where it was
before the array existed. (Until the codec stopped making a class per call, each round trip
stayed resident, in a reference cycle, until ``gc.collect()``: 4.1 GiB for three round trips
of a 1 GiB array.)
"""

from __future__ import annotations

import pytest

from tests.conftest import needs_py39
from tests.test_faults import notebook_kernel, rss_kib

pytestmark = pytest.mark.slow

MIB = 2**20
SIZE = 256 * MIB


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("--req numpy --exclude-newer none", id="same-python"),
        pytest.param(
            "--python 3.9 --req numpy==1.26.4 --exclude-newer none",
            id="python-3.9",
            marks=needs_py39,
        ),
    ],
)
def test_memory_falls_back_after_del_without_the_garbage_collector(isocell_home, line):
    with notebook_kernel(isocell_home) as kernel:
        assert kernel.execute(f"%%isolated {line}\nwarm = 1")["status"] == "ok"
        setup = "import gc\ngc.disable()\nimport numpy as np"
        assert kernel.execute(setup)["status"] == "ok"
        before = rss_kib(kernel.pid)["VmRSS"]
        code = f"a = np.ones({SIZE // 8})"
        assert kernel.execute(code)["status"] == "ok"
        for _ in range(3):
            reply = kernel.execute(f"%%isolated {line} --out a\na = a + 1")
            assert reply["status"] == "ok", reply
        assert kernel.value("float(a[0]), a.nbytes, gc.isenabled()") == f"(4.0, {SIZE}, False)"
        held = rss_kib(kernel.pid)["VmRSS"]
        assert kernel.execute("del a")["status"] == "ok"
        after = rss_kib(kernel.pid)["VmRSS"]
        assert kernel.value("gc.isenabled()") == "False"
    print(
        f"\nnotebook kernel RSS: {before / 1024:.0f} MiB before the array, "
        f"{held / 1024:.0f} MiB after three round trips, {after / 1024:.0f} MiB after del"
    )
    assert (after - before) * 1024 < SIZE // 2
