"""Values across the real boundary, through ``%%isolated``: the notebook (this Python, numpy 2,
pandas 3) and a Python 3.9 child with pandas 1.4.4 and numpy 1.23, and a same-version child.

Each value goes into the child, is bound there to a new name untouched, and comes back; what
returns must equal what left, type and dtype included.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import glob
import os
import pathlib
import signal
import subprocess
import threading
import time
import uuid

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isocell.errors import ChildDiedError
from tests.conftest import needs_py39

pytestmark = pytest.mark.slow

OLD = "--python 3.9 --req pandas==1.4.4 pyarrow"
SAME = "--req pandas numpy pyarrow --exclude-newer none"


def arrays() -> dict[str, np.ndarray]:
    structured = np.array(
        [(1, 2.5, b"ab"), (3, -1.0, b"c")], dtype=[("id", "<i4"), ("score", "<f8"), ("tag", "S2")]
    )
    return {
        "bool": np.array([True, False]),
        "int8": np.array([-128, 127], dtype=np.int8),
        "uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
        "float16": np.array([1.5, -np.inf], dtype=np.float16),
        "float64_nan": np.array([np.nan, 1e300]),
        "complex128": np.array([1 + 2j, -3j]),
        "datetime_ms": np.array(["2024-01-01T10:00:00.123", "NaT"], dtype="M8[ms]"),
        "timedelta_s": np.array([5, -7], dtype="m8[s]"),
        "bytes": np.array([b"abc", b""], dtype="S5"),
        "unicode": np.array(["héllo", "z"], dtype="U6"),
        "structured": structured,
        "fortran_2d": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "big_endian": np.array([1, 2], dtype=">i4"),
        "zero_d": np.array(7.0),
        "empty": np.zeros((0, 3)),
        "objects": np.array([1, "two", None], dtype=object),
    }


def frames() -> dict[str, object]:
    index = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["k", "n"])
    return {
        "flagship": pd.DataFrame(
            {
                "text": pd.Series(["x", None, "z"], dtype="str"),
                "category": pd.Categorical(["u", "v", "u"], ordered=True),
                "aware": pd.date_range("2024-01-01", periods=3, tz="Europe/Paris"),
                "naive": pd.date_range("2024-01-01", periods=3),
                "nullable_int": pd.array([1, None, 3], dtype="Int64"),
                "nullable_float": pd.array([1.5, None, 2.0], dtype="Float64"),
                "nullable_bool": pd.array([True, None, False], dtype="boolean"),
                "string_na": pd.array(["p", None, "q"], dtype="string"),
                "floats": [0.1, 0.2, np.nan],
            }
        ),
        "multiindex": pd.DataFrame({"v": [1.0, 2.0, 3.0]}, index=index),
        "series": pd.Series([1, 2, 3], index=pd.Index(["a", "b", "c"], name="key"), name="s"),
        "period": pd.Series(pd.period_range("2024-01", periods=3, freq="M")),
        "interval": pd.Series(pd.interval_range(0, 3)),
        "datetime_index": pd.DatetimeIndex(["2024-01-01", "2024-02-01"], tz="UTC", name="t"),
        "categorical_index": pd.CategoricalIndex(["a", "b", "a"]),
    }


class Colour(enum.Enum):
    RED = 1
    BLUE = 2


def plain() -> dict[str, object]:
    return {
        "moment": dt.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=dt.timezone.utc),
        "day": dt.date(2024, 5, 1),
        "clock": dt.time(23, 59, 1),
        "span": dt.timedelta(days=2, microseconds=3),
        "money": decimal.Decimal("12.3400"),
        "ident": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "where": pathlib.PurePosixPath("/data/input.csv"),
        "nested": {"a": [1, (2, 3), {4, 5}], "b": frozenset({"x"}), "c": None},
    }


def same(left: object, right: object) -> None:
    assert type(left) is type(right)
    if isinstance(left, np.ndarray):
        assert left.dtype == right.dtype and left.shape == right.shape
        assert left.flags.f_contiguous == right.flags.f_contiguous
        np.testing.assert_array_equal(left, right)
    elif isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, check_exact=True)
    elif isinstance(left, pd.Series):
        pd.testing.assert_series_equal(left, right, check_exact=True)
    elif isinstance(left, pd.Index):
        pd.testing.assert_index_equal(left, right, exact=True)
    else:
        assert left == right


def round_trip(ip, ns, line: str, values: dict[str, object]) -> dict[str, object]:
    ns.update({f"v_{name}": value for name, value in values.items()})
    cell = "\n".join(f"back_{name} = v_{name}" for name in values)
    ip.run_cell_magic("isolated", line, cell)
    return {name: ns[f"back_{name}"] for name in values}


@needs_py39
@pytest.mark.parametrize("line", [OLD, SAME], ids=["py39-pandas144", "same-python"])
@pytest.mark.parametrize("family", [arrays, frames, plain])
def test_values_come_back_exactly(ip, ns, line, family):
    values = family()
    back = round_trip(ip, ns, line, values)
    for name, value in values.items():
        same(value, back[name])


@needs_py39
def test_the_child_sees_closest_equivalents(ip, ns):
    ns["frame"] = frames()["flagship"]
    ip.run_cell_magic(
        "isolated",
        OLD,
        "import pandas as pd\nseen = {c: str(t) for c, t in frame.dtypes.items()}\n"
        "version = pd.__version__",
    )
    assert ns["version"] == "1.4.4"
    assert ns["seen"]["text"] == "object"
    assert ns["seen"]["aware"] == "datetime64[ns, Europe/Paris]"
    assert ns["seen"]["nullable_int"] == "Int64"


@needs_py39
def test_arrow_tables_cross(ip, ns):
    import pyarrow as pa

    table = pa.table({"a": [1, 2, None], "b": ["x", "y", "z"]})
    back = round_trip(ip, ns, OLD, {"table": table, "batch": table.to_batches()[0]})
    assert back["table"].equals(table)
    assert back["batch"].equals(table.to_batches()[0])


@needs_py39
def test_notebook_dataclass_namedtuple_and_enum_instances_cross(ip, ns):
    ip.run_cell(
        "import dataclasses, collections, enum\n"
        "@dataclasses.dataclass(frozen=True)\n"
        "class Reading:\n    sensor: str\n    value: float\n"
        "Pair = collections.namedtuple('Pair', 'left right')\n"
        "class Level(enum.Enum):\n    LOW = 1\n    HIGH = 2\n"
        "item = (Reading('t1', 2.5), Pair(1, 2), Level.HIGH)\n"
    )
    ip.run_cell_magic("isolated", "--python 3.9", "copy = item\nkind = type(item[0]).__name__")
    assert ns["copy"] == ns["item"] and ns["kind"] == "Reading"


@needs_py39
def test_untouched_values_are_not_sent_twice(ip, ns):
    magics = ip.magics_manager.registry["IsolatedMagics"]
    ns["big"] = np.arange(1_000_000.0)
    ip.run_cell_magic("isolated", OLD, "total = float(big.sum())")
    ip.run_cell_magic("isolated", OLD, "total2 = float(big.sum())")
    assert magics.runner.last.sent == []
    ns["big"][0] = 5.0  # changed in place in the notebook: sent again
    ip.run_cell_magic("isolated", OLD, "total3 = float(big.sum())")
    assert magics.runner.last.sent == ["big"]
    assert ns["total3"] == ns["total"] + 5.0


@needs_py39
def test_an_input_mutated_in_the_child_comes_back(ip, ns):
    ns["frame"] = pd.DataFrame({"a": [1, 2]})
    ip.run_cell_magic("isolated", OLD, "frame['b'] = frame['a'] * 2")
    assert list(ns["frame"]["b"]) == [2, 4]


@needs_py39
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text()
        | st.binary(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.tuples(children, children)
            | st.dictionaries(st.text(max_size=5), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_nested_plain_values_cross_exactly(ip, value):
    ip.user_ns["hyp_value"] = value
    ip.run_cell_magic("isolated", "--python 3.9", "hyp_back = hyp_value")
    back = ip.user_ns.pop("hyp_back")
    assert back == value and type(back) is type(value)


def _segments() -> list[str]:
    """This process's payload files, in its private scratch folders."""
    pattern = f"isocell-{os.getpid()}-*/*-*"
    found = glob.glob(f"/dev/shm/{pattern}") + glob.glob(f"/tmp/{pattern}")
    return [path for path in found if os.path.isfile(path)]


def _kill_child_when(pattern: str, pid: int) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(path.endswith(pattern) for path in _segments()):
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.001)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@needs_py39
@pytest.mark.faults
@pytest.mark.parametrize("direction", ["in", "out"])
def test_child_killed_mid_transfer_leaves_no_segment_and_no_change(ip, ns, direction):
    ip.run_cell_magic("isolated", OLD, "import os\nchild = os.getpid()")
    ns["payload"] = np.ones(40_000_000)  # 320 MB: the transfer takes a while
    ns["result"] = "before"
    if direction == "out":
        ip.run_cell_magic("isolated", OLD, "ignored = float(payload[0])")  # child holds it
    watcher = _kill_child_when(f"-{direction}", ns["child"])
    with pytest.raises(ChildDiedError):
        ip.run_cell_magic("isolated", OLD, "result = payload * 2\nimport time\ntime.sleep(5)")
    watcher.join()
    assert ns["result"] == "before"
    assert _segments() == []
    del ns["payload"]


@pytest.mark.faults
def test_segments_of_a_dead_notebook_kernel_are_removed(isocell_home):
    import shutil

    from isocell.runner import CellRunner
    from isocell.transfer._scratch import _memory_base

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    base = _memory_base()
    stale_folder = base / f"isocell-{dead.pid}-abcd1234"
    (stale_folder / "kernel-x").mkdir(parents=True)
    (stale_folder / "1-in").write_bytes(b"left over")
    stale = base / f"isocell-{dead.pid}-0-in"  # the flat layout of older versions
    stale.write_bytes(b"left over")
    mine = base / f"isocell-{os.getpid()}-999999-in"
    mine.write_bytes(b"in use")
    try:
        CellRunner()
        assert not stale.exists() and not stale_folder.exists()
        assert mine.exists()  # a live kernel's payloads are left alone
    finally:
        mine.unlink(missing_ok=True)
        stale.unlink(missing_ok=True)
        shutil.rmtree(stale_folder, ignore_errors=True)
