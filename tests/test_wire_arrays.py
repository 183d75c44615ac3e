"""The version-neutral encoding of numpy arrays and pandas objects (``_wire.arrays``,
``.pandas_codec``).

First in-process round trips (this numpy 2 / pandas 3), then the real boundary: a Python 3.9
child with pandas 1.4.4 and numpy 1.23, built with isocell's own environment API, which loads
the two modules from source, decodes what this side encoded, reports what it sees, encodes it
again and sends it back.
"""

from __future__ import annotations

import gc
import inspect
import json
import pickle
import pickletools
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from isocell.transfer._wire import arrays, pandas_codec, pandas_columns, restore
from tests.conftest import needs_py39

WIRE = Path(arrays.__file__).parent

# -- payload files and descriptions: shared with the child, shipped there as source ---------


def _write_payload(path, meta, buffers):  # type: ignore[no-untyped-def]
    import pickle

    views = [memoryview(buffer).cast("B") for buffer in buffers]
    spans, position = [], 0
    for view in views:
        position = (position + 63) // 64 * 64
        spans.append((position, view.nbytes))
        position += view.nbytes
    head = pickle.dumps({"meta": meta, "spans": spans}, protocol=5)
    base = (8 + len(head) + 63) // 64 * 64
    with open(path, "wb") as stream:
        stream.write(len(head).to_bytes(8, "little") + head)
        for (offset, _), view in zip(spans, views):  # noqa: B905 (runs on 3.9: no strict=)
            stream.seek(base + offset)
            stream.write(view)


def _read_payload(path):  # type: ignore[no-untyped-def]
    """``(meta, buffers)`` with the buffers as read-only views of a memory map."""
    import mmap
    import pickle

    with open(path, "rb") as stream:
        mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    size = int.from_bytes(mapped[:8], "little")
    head = pickle.loads(mapped[8 : 8 + size])
    base = (8 + size + 63) // 64 * 64
    view = memoryview(mapped)
    return head["meta"], [view[base + at : base + at + length] for at, length in head["spans"]]


def _describe(obj):  # type: ignore[no-untyped-def]
    """What a value looks like to this side's numpy and pandas, as JSON-able data."""
    import json

    import numpy as np
    import pandas as pd

    def texts(values):  # type: ignore[no-untyped-def]
        return [str(value) for value in values]

    if isinstance(obj, np.ndarray):
        fortran = bool(obj.flags.f_contiguous and not obj.flags.c_contiguous)
        values = json.loads(json.dumps(obj.tolist(), default=str))
        return {"dtype": obj.dtype.str, "shape": list(obj.shape), "F": fortran, "values": values}
    if isinstance(obj, pd.DataFrame):
        return {
            "dtypes": texts(obj.dtypes),
            "columns": _describe(obj.columns),
            "index": _describe(obj.index),
            "values": [texts(obj.iloc[:, i].tolist()) for i in range(obj.shape[1])],
        }
    if isinstance(obj, pd.Series):
        return {
            "dtype": str(obj.dtype),
            "name": str(obj.name),
            "index": _describe(obj.index),
            "values": texts(obj.tolist()),
        }
    return {
        "type": type(obj).__name__,
        "dtype": str(obj.dtype),
        "names": texts(obj.names),
        "values": texts(obj.tolist()),
    }


def _load_wire(root):  # type: ignore[no-untyped-def]
    """The modules, executed from source as submodules of a package ``wirepkg``."""
    import importlib.util
    import sys
    import types

    package = types.ModuleType("wirepkg")
    package.__path__ = []
    sys.modules["wirepkg"] = package
    for name in ("arrays", "restore", "pandas_columns", "pandas_encoding", "pandas_codec"):
        spec = importlib.util.spec_from_file_location(f"wirepkg.{name}", f"{root}/{name}.py")
        module = importlib.util.module_from_spec(spec)
        module.__package__ = "wirepkg"
        sys.modules[spec.name] = module
        setattr(package, name, module)
        spec.loader.exec_module(module)
    return package


CHILD_MAIN = """
import json, sys
wire = _load_wire(sys.argv[1])
report = {}
for path in sys.argv[2:]:
    meta, buffers = _read_payload(path)
    if meta.get("wire"):
        value = wire.pandas_codec.decode_pandas(meta, buffers)
        meta, buffers = wire.pandas_codec.encode_pandas(value)
    else:
        value = wire.arrays.decode_array(meta, buffers)
        meta, buffers = wire.arrays.encode_array(value)
    report[path] = _describe(value)
    _write_payload(path + ".back", meta, buffers)
print(json.dumps(report))
"""


def child_script() -> str:
    parts = [inspect.getsource(f) for f in (_write_payload, _read_payload, _describe, _load_wire)]
    return "from __future__ import annotations\n" + "\n".join(parts) + CHILD_MAIN


# -- helpers ---------------------------------------------------------------------------------


def assert_plain(meta: object) -> None:
    """meta pickles without naming any class: it loads on any Python, without numpy."""
    data = pickle.dumps(meta, protocol=5)
    opcodes = {op.name for op, _, _ in pickletools.genops(data)}
    assert not opcodes & {"GLOBAL", "STACK_GLOBAL", "REDUCE", "NEWOBJ", "BUILD"}, meta


def array_round_trip(a: np.ndarray) -> np.ndarray:
    meta, buffers = arrays.encode_array(a)
    assert_plain(meta)
    meta = pickle.loads(pickle.dumps(meta, protocol=5))
    return arrays.decode_array(meta, [memoryview(b) for b in buffers])


def pandas_round_trip(obj: Any) -> Any:
    meta, buffers = pandas_codec.encode_pandas(obj)
    assert_plain(meta)
    meta = pickle.loads(pickle.dumps(meta, protocol=5))
    return pandas_codec.decode_pandas(meta, [memoryview(b) for b in buffers])


def assert_same_array(a: np.ndarray, b: np.ndarray) -> None:
    assert type(b) is np.ndarray
    assert b.dtype == a.dtype and b.dtype.str == a.dtype.str and b.shape == a.shape
    if a.ndim > 1 and (a.flags.c_contiguous or a.flags.f_contiguous):
        assert b.flags.c_contiguous == a.flags.c_contiguous
        assert b.flags.f_contiguous == a.flags.f_contiguous
    if a.dtype.kind in "mM":
        np.testing.assert_array_equal(a.view("i8"), b.view("i8"))
    else:
        np.testing.assert_array_equal(a, b, strict=True)


def assert_same_pandas(a: Any, b: Any) -> None:
    assert type(b) is type(a)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_column_type=True)
        pd.testing.assert_index_equal(a.columns, b.columns, exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, check_index_type=True)
    else:
        pd.testing.assert_index_equal(a, b, exact=True, check_exact=True)
    index = a if isinstance(a, pd.Index) else a.index
    assert getattr(index, "freq", None) == getattr(
        b if isinstance(b, pd.Index) else b.index, "freq", None
    )


# -- numpy cases -----------------------------------------------------------------------------

DATE_UNITS = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"]
NESTED = np.dtype([("id", "<u2"), ("pos", [("x", ">f4"), ("y", "<f8")]), ("tag", "S3")])
PADDED = np.dtype(
    {"names": ["a", "b"], "formats": ["u1", "<i8"], "offsets": [0, 8], "itemsize": 24}
)
ALIGNED = np.dtype([("a", "u1"), ("b", "<i4"), ("c", "<f8", (2, 2))], align=True)
TITLED = np.dtype({"names": ["a"], "formats": ["<i2"], "titles": ["the a"]})


def numeric_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    cases: dict[str, np.ndarray] = {"bool": rng.random(17) > 0.5}
    for code in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
        info = np.iinfo(code)
        cases[code] = np.array([info.min, -1 if info.min else 0, 0, 1, info.max], dtype=code)
    for code in ["f2", "f4", "f8"]:
        cases[code] = np.array([0.0, -0.0, 1.5, np.inf, -np.inf, np.nan, 1e-7], dtype=code)
    for code in ["c8", "c16"]:
        cases[code] = np.array([1 + 2j, complex(np.nan, 1), -0.0j], dtype=code)
    for unit in DATE_UNITS:
        cases[f"M8[{unit}]"] = np.array([0, 1, -5, 123456], dtype=f"M8[{unit}]")
        cases[f"M8[{unit}]"][2] = np.datetime64("NaT")
        cases[f"m8[{unit}]"] = np.array([0, -3, 99], dtype=f"m8[{unit}]")
        cases[f"m8[{unit}]"][1] = np.timedelta64("NaT")
    cases["M8[2D]"] = np.arange(4).astype("M8[2D]")
    cases["S"] = np.array([b"", b"ab", b"a\x00b", b"xyz"], dtype="S4")
    cases["U"] = np.array(["", "é", "東京", "a\U0001f600"], dtype="U3")
    cases["V"] = np.frombuffer(b"abcdefgh", dtype="V4").copy()
    cases[">i4"] = np.arange(6, dtype=">i4")
    cases[">f8"] = np.linspace(0, 1, 5).astype(">f8")
    cases[">U2"] = np.array(["ab", "ç"], dtype=">U2")
    cases[">M8[ns]"] = np.array([1, 2], dtype=">M8[ns]")
    cases["nested"] = np.array([(1, (0.5, 2.0), b"ab"), (2, (1.5, -1.0), b"cd")], dtype=NESTED)
    cases["padded"] = np.array([(1, -2), (3, 4)], dtype=PADDED)
    cases["aligned"] = np.zeros(3, dtype=ALIGNED)
    cases["aligned"]["c"] = rng.random((3, 2, 2))
    cases["titled"] = np.array([(5,), (6,)], dtype=TITLED)
    return cases


def layout_cases() -> dict[str, np.ndarray]:
    base = np.arange(24, dtype="f8").reshape(2, 3, 4)
    return {
        "0-d": np.array(3.5),
        "0-d M8": np.array(np.datetime64("2020-01-01T10:00", "m")),
        "empty": np.zeros(0),
        "empty 2-d": np.zeros((0, 3), dtype="i2"),
        "empty F": np.zeros((3, 0, 2), dtype="c8", order="F"),
        "C 3-d": base,
        "F 2-d": np.asfortranarray(base[0]),
        "F 3-d": np.asfortranarray(base),
        "F structured": np.asfortranarray(np.zeros((2, 3), dtype=NESTED)),
        "strided": base[:, ::2, 1:],
        "transposed non-contiguous": base.transpose(1, 0, 2),
        "reversed": base[0, 0, ::-1],
        "F slice": np.asfortranarray(base[0])[:, 1:],
    }


def object_cases() -> dict[str, np.ndarray]:
    mixed = np.array([1, "a", None, 2.5, (1, 2), [3, [4]], {"k": b"v"}, np.int32(7)], dtype=object)
    grid = np.empty((2, 2), dtype=object, order="F")
    grid[:] = [[(1,), "x"], [None, 3]]
    return {"object mixed": mixed, "object 2-d F": grid, "object 0-d": np.array(None, dtype=object)}


ALL_NUMPY = {**numeric_cases(), **layout_cases()}


@pytest.mark.parametrize("name", list(ALL_NUMPY))
def test_numpy_round_trip(name: str) -> None:
    assert_same_array(ALL_NUMPY[name], array_round_trip(ALL_NUMPY[name]))


@pytest.mark.parametrize("name", list(object_cases()))
def test_object_arrays_travel_as_plain_items(name: str) -> None:
    a = object_cases()[name]
    b = array_round_trip(a)
    assert b.dtype == object and b.shape == a.shape
    assert b.flags.f_contiguous == a.flags.f_contiguous
    expected = [x.item() if isinstance(x, np.generic) else x for x in a.ravel(order="K")]
    assert list(b.ravel(order="K")) == expected
    assert all(type(x) is type(y) for x, y in zip(b.ravel(order="K"), expected, strict=True))


def test_numpy_string_dtype_round_trip() -> None:
    a = np.array(["", "é", "a\x00b", "long " * 20], dtype=np.dtypes.StringDType())
    b = array_round_trip(a.reshape(2, 2))
    assert b.dtype == a.dtype and b.tolist() == a.reshape(2, 2).tolist()


@pytest.mark.parametrize("fortran", [False, True])
def test_contiguous_arrays_are_neither_copied_on_encode_nor_on_decode(fortran: bool) -> None:
    a = np.random.default_rng(0).random((300, 200))
    a = np.asfortranarray(a) if fortran else a
    meta, buffers = arrays.encode_array(a)
    assert all(np.shares_memory(a, np.frombuffer(b, np.uint8)) for b in buffers)
    b = arrays.decode_array(meta, buffers)
    assert np.shares_memory(a, b) and b.flags.f_contiguous == fortran


def test_decoded_array_is_read_only_when_the_buffer_is() -> None:
    meta, buffers = arrays.encode_array(np.arange(5.0))
    frozen = arrays.decode_array(meta, [bytes(buffers[0])])
    assert not frozen.flags.writeable and frozen.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_longdouble_needs_the_same_format_on_both_sides() -> None:
    a = np.array([1, 1 / 3], dtype=np.longdouble)
    meta, buffers = arrays.encode_array(a)
    assert_same_array(a, arrays.decode_array(meta, buffers))
    if isinstance(meta["dtype"], dict):  # the platform has an extended longdouble
        meta["dtype"]["nmant"] = 112  # as IEEE quad, on aarch64, would say
        with pytest.raises(ValueError, match="no exact equivalent here"):
            arrays.decode_array(meta, buffers)


def test_what_cannot_cross_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="masked arrays"):
        arrays.encode_array(np.ma.masked_array([1, 2], mask=[False, True]))
    with pytest.raises(ValueError, match="holds Python objects"):
        arrays.encode_array(np.zeros(2, dtype=[("a", "O")]))


# -- strings ---------------------------------------------------------------------------------

STRING_SETS = {
    "ascii": ["", "a", "bc", "def", ""],
    "unicode": ["é", "", "東京", "a\U0001f600b", "ß" * 40],
    "nul inside": ["a\x00", "\x00", "", "b"],
    "every ascii byte": ["".join(map(chr, range(128))), "x", "\x01\x02"],
    "lone surrogate": ["a\udcff", "b"],
}


@pytest.mark.parametrize("name", list(STRING_SETS))
def test_string_layout_round_trip(name: str) -> None:
    values = np.array(STRING_SETS[name] + [None, "z"], dtype=object)
    nulls = np.array([v is None for v in values])
    buffers: list = []
    meta = arrays._encode_strings(values, nulls, buffers)
    out, got_nulls = arrays._decode_strings(meta, [memoryview(b) for b in buffers], None)
    assert out.tolist() == values.tolist() and got_nulls.tolist() == nulls.tolist()


def test_many_strings_and_offsets_into_a_shared_buffer() -> None:
    rng = np.random.default_rng(3)
    words = np.array(["", "x", "ab", "Ünïcödé", "東京都", "a" * 300], dtype=object)
    values = words[rng.integers(0, len(words), 50_000)]
    out = pandas_round_trip(pd.Series(values, dtype="str"))
    assert out.tolist() == values.tolist()
    sliced = pd.Series(values, dtype="string[pyarrow]")[1000:2000]  # arrow offset != 0
    assert_same_pandas(sliced, pandas_round_trip(sliced))


# -- pandas cases ----------------------------------------------------------------------------


def flagship(n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "name": pd.Series([f"name-{i}" if i % 7 else None for i in range(n)], dtype="str"),
            "city": pd.Categorical(rng.choice(["Paris", "Zürich", "東京"], n)),
            "when": pd.date_range("2024-03-30", periods=n, freq="h", tz="Europe/Paris", unit="us"),
            "naive": pd.to_datetime(["2024-01-01 10:00"] * (n - 1) + [None]),
            "count": pd.array([i if i % 5 else None for i in range(n)], dtype="Int64"),
            "score": rng.normal(size=n),
            "flag": rng.random(n) > 0.5,
            "label": pd.Series([f"é{i}" if i % 3 else None for i in range(n)], dtype=object),
        }
    )


def multi_frame() -> pd.DataFrame:
    index = pd.MultiIndex.from_product([["a", "b"], [1, 2, 3]], names=["letter", None])
    columns = pd.MultiIndex.from_tuples([("x", 1), ("x", 2), ("y", 1)], names=["top", "sub"])
    return pd.DataFrame(np.arange(18.0).reshape(6, 3), index=index, columns=columns)


def string_frame() -> pd.DataFrame:
    text = ["a", None, "ç", ""]
    return pd.DataFrame(
        {
            "str": pd.Series(text, dtype="str"),
            "str python": pd.Series(text, dtype=pd.StringDtype("python", na_value=np.nan)),
            "string python": pd.Series(text, dtype="string[python]"),
            "string pyarrow": pd.Series(text, dtype="string[pyarrow]"),
            "object NaN": pd.Series(["a", np.nan, "b", "c"], dtype=object),
            "object NA": pd.Series(["a", pd.NA, "b", "c"], dtype=object),
            "object mixed": pd.Series(["a", 1, None, 2.5], dtype=object),
            "object empty": pd.Series([None] * 4, dtype=object),
        }
    )


def dtype_frame() -> pd.DataFrame:
    n = 6
    return pd.DataFrame(
        {
            **{code: np.arange(n, dtype=code) for code in ["i1", "u2", "i4", "u8", "f4", "f8"]},
            "c16": np.arange(n) * (1 + 1j),
            "bool": np.arange(n) % 2 == 0,
            "Int8": pd.array([1, None, 3, 4, 5, None], dtype="Int8"),
            "UInt64": pd.array([2**64 - 1, None, 0, 1, 2, 3], dtype="UInt64"),
            "Float32": pd.array([0.5, None, 1, 2, 3, 4], dtype="Float32"),
            "boolean": pd.array([True, None, False, True, None, False], dtype="boolean"),
            "ordered": pd.Categorical(list("abcabc"), categories=list("cba"), ordered=True),
            "int cats": pd.Categorical([3, 1, None, 3, 1, 1]),
            "tz ns": pd.date_range("2020-01-01", periods=n, tz="UTC"),
            "tz s": pd.date_range("1950-01-01", periods=n, tz="America/New_York", unit="s"),
            "naive ms": pd.date_range("2020-01-01", periods=n, unit="ms"),
            "td": pd.to_timedelta(np.arange(n), unit="s"),
            "period": pd.period_range("2020-01", periods=n, freq="M"),
            "interval": pd.interval_range(0, n),
        }
    )


def odd_labels_frame() -> pd.DataFrame:
    frame = pd.DataFrame(np.arange(12).reshape(3, 4), columns=[0, "a", 0, (1, 2)])
    frame.columns.name = "columns axis"
    frame.index = pd.Index([10, 10, 30], name="dup")
    return frame


INDEX_CASES = {
    "range": pd.RangeIndex(2, 20, 3, name="r"),
    "int64": pd.Index([5, 3, 5], name=7),
    "int32": pd.Index([1, 2, 3], dtype="int32"),
    "uint8": pd.Index([1, 255], dtype="uint8"),
    "float32": pd.Index([1.5, np.nan], dtype="float32"),
    "bool": pd.Index([True, False, True]),
    "object": pd.Index([1, "a", None, (1, 2)], dtype=object, tupleize_cols=False),
    "str": pd.Index(["x", "y", None], name=("a", "b")),
    "datetime tz": pd.date_range("2024-03-30", periods=50, freq="h", tz="Europe/Paris"),
    "datetime naive": pd.date_range("2024-01-31", periods=4, freq="ME", name="month ends"),
    "timedelta": pd.timedelta_range("1D", periods=3, freq="6h"),
    "categorical": pd.CategoricalIndex(["b", "a", "b"], categories=["b", "a"], ordered=True),
    "period M": pd.period_range("2020-01", periods=4, freq="M"),
    "period Y": pd.period_range("2020", periods=3, freq="Y"),
    "period h": pd.period_range("2020-01-01", periods=3, freq="h"),
    "interval": pd.interval_range(0.0, 3.0, closed="left"),
    "multi": pd.MultiIndex.from_arrays([["a", "a", "b"], [1, 2, 1]], names=["k", "n"]),
}

PANDAS_CASES = {
    "flagship": flagship(),
    "multi": multi_frame(),
    "strings": string_frame(),
    "dtypes": dtype_frame(),
    "odd labels": odd_labels_frame(),
    "no columns": pd.DataFrame(index=pd.date_range("2020", periods=3, freq="D")),
    "no rows": flagship().iloc[:0],
    "series named": pd.Series([1, 2], dtype="uint8", name="u", index=["p", "q"]),
    "series str": pd.Series(["a", None], dtype="str", name=("t", 1)),
    "series dated": pd.Series(1.0, index=pd.date_range("2020", periods=5, freq="D")),
    "series categorical": pd.Series(pd.Categorical(["a", "b", None])),
    **{f"index {name}": index for name, index in INDEX_CASES.items()},
}


@pytest.mark.parametrize("name", list(PANDAS_CASES))
def test_pandas_round_trip(name: str) -> None:
    obj = PANDAS_CASES[name]
    assert pandas_codec.is_pandas(obj)
    assert_same_pandas(obj, pandas_round_trip(obj))


def test_numeric_columns_are_not_copied_on_encode() -> None:
    frame = pd.DataFrame({"x": np.arange(1000.0), "y": np.arange(1000)})
    _, buffers = pandas_codec.encode_pandas(frame)
    for name in "xy":
        column = frame[name].to_numpy()
        assert any(np.shares_memory(column, np.frombuffer(b, np.uint8)) for b in buffers)


def test_is_pandas_is_cheap_and_precise() -> None:
    assert pandas_codec.is_pandas(pd.Categorical(["a"])) and pandas_codec.is_pandas(pd.Index([1]))
    assert not pandas_codec.is_pandas(pd.Timestamp("2020")) and not pandas_codec.is_pandas(
        np.zeros(1)
    )
    assert not pandas_codec.is_pandas(1)


def test_unsupported_dtypes_are_refused_with_the_dtype() -> None:
    sparse = pd.Series(pd.arrays.SparseArray([0, 1, 0]))
    with pytest.raises(ValueError, match=r"Sparse\[int64, 0\] cannot cross"):
        pandas_codec.encode_pandas(sparse)


def test_a_substitute_column_goes_back_as_it_arrived(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a pandas without ``str`` does: hold it as object, and send it back as ``str``."""
    original = pd.DataFrame({"s": pd.Series(["a", None], dtype="str"), "n": [1, 2]})
    meta, buffers = pandas_codec.encode_pandas(original)
    with monkeypatch.context() as patch:
        patch.setattr(
            pandas_columns, "_local_string_dtype", lambda spec: None
        )  # "this pandas lacks it"
        received = pandas_codec.decode_pandas(meta, buffers)
    assert received["s"].dtype == object and received["s"].isna().tolist() == [False, True]
    assert_same_pandas(original, pandas_round_trip(received))
    replaced = received.assign(s=received["s"].copy())  # a new array: nothing to restore
    assert pandas_round_trip(replaced)["s"].dtype == object
    remembered = len(restore._wanted)
    del received, replaced
    gc.collect()
    assert len(restore._wanted) < remembered  # entries die with the arrays they describe


# -- the real boundary: Python 3.9, pandas 1.4.4, numpy 1.23 ---------------------------------

# Expected dtypes as pandas 1.4.4 shows them, where they differ from this side's.
CHILD_DTYPES = {
    "flagship": [
        "object",
        "category",
        "datetime64[ns, Europe/Paris]",
        "datetime64[ns]",
        "Int64",
        "float64",
        "bool",
        "object",
    ],
    "strings": ["object", "object", "string", "string"] + ["object"] * 4,
    "series str": "object",
    "index int32": "int64",
    "index uint8": "uint64",
    "index float32": "float64",
    "index bool": "object",
    "index str": "object",
    "index period Y": "period[A-DEC]",
    "index period h": "period[H]",
}

CROSS_NUMPY = {
    **{k: v for k, v in numeric_cases().items() if k not in {"aligned", "titled"}},
    **layout_cases(),
    "aligned": numeric_cases()["aligned"],
    "titled": numeric_cases()["titled"],
}


@pytest.fixture(scope="session")
def old_python(isocell_home: Path) -> Path:
    from isocell.envs import EnvRequest, EnvStore, resolve_environment

    env = resolve_environment(EnvRequest(python="3.9", requirements=("pandas==1.4.4",)), EnvStore())
    return env.python


@pytest.fixture(scope="session")
def crossed(old_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every cross-version case, sent to the 3.9 child and back in one child run."""
    folder = tmp_path_factory.mktemp("wire")
    cases = {f"np {k}": v for k, v in CROSS_NUMPY.items()}
    cases.update({f"obj {k}": v for k, v in object_cases().items()})
    cases.update({f"pd {k}": v for k, v in PANDAS_CASES.items()})
    paths = {}
    for i, (name, value) in enumerate(cases.items()):
        encode = (
            pandas_codec.encode_pandas if pandas_codec.is_pandas(value) else arrays.encode_array
        )
        paths[name] = str(folder / f"case-{i}")
        _write_payload(paths[name], *encode(value))
    script = folder / "child.py"
    script.write_text(child_script(), encoding="utf-8")
    done = subprocess.run(
        [str(old_python), str(script), str(WIRE), *paths.values()],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return {
        name: (value, report[paths[name]], paths[name] + ".back") for name, value in cases.items()
    }


def back(path: str, decode: Callable[..., Any]) -> Any:
    meta, buffers = _read_payload(path)
    return decode(meta, buffers)


@pytest.mark.slow
@needs_py39
def test_child_is_the_old_stack(old_python: Path) -> None:
    code = (
        "import sys, numpy, pandas; print(sys.version[:4], numpy.__version__, pandas.__version__)"
    )
    out = subprocess.run([str(old_python), "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3.9.", "1.23.2", "1.4.4"]


@pytest.mark.slow
@needs_py39
@pytest.mark.parametrize("name", list(CROSS_NUMPY))
def test_numpy_crosses_to_numpy_1_and_back(crossed: dict, name: str) -> None:
    value, seen, path = crossed[f"np {name}"]
    assert seen == _describe(value)  # same dtype, shape, order and values under numpy 1.23
    assert_same_array(value, back(path, arrays.decode_array))


@pytest.mark.slow
@needs_py39
@pytest.mark.parametrize("name", list(object_cases()))
def test_object_arrays_cross_as_their_items(crossed: dict, name: str) -> None:
    value, seen, path = crossed[f"obj {name}"]
    assert seen["dtype"] == "|O" and seen["shape"] == list(value.shape)
    returned = back(path, arrays.decode_array)
    expected = [x.item() if isinstance(x, np.generic) else x for x in value.ravel(order="K")]
    assert list(returned.ravel(order="K")) == expected


@pytest.mark.slow
@needs_py39
@pytest.mark.parametrize("name", list(PANDAS_CASES))
def test_pandas_crosses_to_pandas_1_4_and_back_unchanged(crossed: dict, name: str) -> None:
    value, seen, path = crossed[f"pd {name}"]
    here = _describe(value)
    expected = CHILD_DTYPES.get(name)
    key = "dtypes" if isinstance(value, pd.DataFrame) else "dtype"
    if key in here and not isinstance(value, pd.MultiIndex):
        assert seen[key] == (expected if expected is not None else _old_names(here[key]))
    assert seen["values"] == here["values"]
    assert_same_pandas(value, back(path, pandas_codec.decode_pandas))


def _old_names(dtypes: object) -> object:
    """Dtype names as pandas 1.4.4 spells them: nanoseconds only, int64 Index, object text."""
    if isinstance(dtypes, list):
        return [_old_names(d) for d in dtypes]
    text = str(dtypes)
    for unit in ("[s", "[ms", "[us"):
        text = text.replace(f"{unit},", "[ns,").replace(f"{unit}]", "[ns]")
    return {"str": "object"}.get(text, text)


@pytest.mark.slow
@needs_py39
def test_flagship_values_as_pandas_1_4_sees_them(crossed: dict) -> None:
    _, seen, _ = crossed["pd flagship"]
    assert seen["columns"]["dtype"] == "object"  # pandas 3 `str` labels arrive as object
    assert seen["values"][0][:8] == ["nan", "name-1", "name-2", "name-3"] + [
        f"name-{i}" for i in range(4, 7)
    ] + ["nan"]
    assert seen["values"][2][0] == "2024-03-30 00:00:00+01:00"
    assert seen["values"][2][26] == "2024-03-31 03:00:00+02:00"  # after the DST change
    assert seen["values"][4][:2] == ["<NA>", "1"]
