"""pandas columns and indexes rebuilt on the receiving side, and the dtype facts both
directions share (see :mod:`.pandas_codec` for the format and what arrives as what).

Runs from source on both sides, with the standard library, numpy and pandas only, imported
inside functions.
"""

import datetime
import re
import warnings

from . import arrays, restore

__all__ = [
    "MASKED",
    "NULLS",
    "UNITS",
    "decode_index",
    "decode_values",
    "infers_strings",
    "label",
    "make_series",
    "numpy_module",
    "pandas_module",
    "remember",
    "string_spec",
    "values_of",
]

UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
NULLS = {"NoneType": "none", "float": "nan", "NAType": "na"}
MASKED = ("IntegerArray", "BooleanArray", "FloatingArray")  # FloatingArray: pandas >= 1.2
# Frequency aliases renamed in pandas 2.2 (new: old); tried both ways when one is refused.
_RENAMED = {"ME": "M", "QE": "Q", "YE": "A", "Y": "A", "YS": "AS", "BME": "BM", "BQE": "BQ",
            "BYE": "BA", "BYS": "BAS", "SME": "SM", "h": "H", "bh": "BH", "min": "T", "s": "S",
            "ms": "L", "us": "U", "ns": "N"}  # fmt: skip


# -- decoding ------------------------------------------------------------------------------


def decode_values(meta, buffers):  # type: ignore[no-untyped-def]
    """``(values, note)``: an ndarray or extension array, and what to remember if this pandas
    stores it as another dtype (see :func:`remember`)."""
    np, pd = numpy_module(), pandas_module()
    kind, want = meta["kind"], meta.get("want")
    if kind == "numpy":
        values = arrays._decode_from(meta["array"], buffers)
        spec = values.dtype.str
        if want is not None and want != spec:
            values, spec = _convert(values, np.dtype(want)), want
        return values, ("numpy", spec)
    if kind == "strings":
        spec = want if want is not None else meta["string"]
        if spec == "object":  # left as object text: comes back as object text
            return _decode_strings(dict(meta, infers=None), buffers, None), ("strings", spec)
        note = spec
        if spec is None and meta.get("infers") and not infers_strings():
            note = "object"  # object text from a pandas that infers str: keep it object
        return _decode_strings(meta, buffers, spec), ("strings", note)
    if kind == "datetime":
        ints = arrays._decode_from(meta["values"], buffers)
        unit = meta["unit"]
        if want is not None:
            ints, unit = _rescale(ints, unit, want)
        index = pd.DatetimeIndex(ints.view(f"M8[{unit}]")).tz_localize("UTC")
        tz = meta["tz"]
        if isinstance(tz, int):  # a fixed offset, in seconds
            tz = datetime.timezone(datetime.timedelta(seconds=tz))
        return index.tz_convert(tz).array, ("datetime", want or meta["unit"])
    if kind == "categorical":
        codes = arrays._decode_from(meta["codes"], buffers)
        dtype = pd.CategoricalDtype(decode_index(meta["categories"], buffers), meta["ordered"])
        return pd.Categorical.from_codes(codes, dtype=dtype), None
    if kind == "masked":
        values = arrays._decode_from(meta["values"], buffers)
        mask = arrays._decode_from(meta["mask"], buffers)
        if values.dtype.kind == "b":
            return pd.arrays.BooleanArray(values, mask), None
        if values.dtype.kind in "iu":
            return pd.arrays.IntegerArray(values, mask), None
        if hasattr(pd.arrays, "FloatingArray"):  # pandas >= 1.2
            return pd.arrays.FloatingArray(values, mask), None
        return np.where(mask, np.nan, values), None
    if kind == "period":
        ordinals = arrays._decode_from(meta["ordinals"], buffers)
        dtype = _first_ok(pd.PeriodDtype, _freq_variants(meta["freq"]))
        return pd.arrays.PeriodArray(ordinals, dtype=dtype), None
    if kind == "interval":
        left, _ = decode_values(meta["left"], buffers)
        right, _ = decode_values(meta["right"], buffers)
        closed = meta["closed"]
        return pd.arrays.IntervalArray.from_arrays(left, right, closed=closed), None
    raise ValueError(f"unknown pandas values kind {kind!r}; update isocell on this side")


def _decode_strings(meta, buffers, spec):  # type: ignore[no-untyped-def]
    np, pd = numpy_module(), pandas_module()
    dtype = _local_string_dtype(spec) if spec is not None else None
    if dtype is None and meta.get("infers") is False and infers_strings():
        # Text an older pandas could only hold as objects: this pandas would have made it its
        # default string dtype, had the cell run here (pandas 3's ``str``).
        objects, _ = arrays._decode_strings(meta["strings"], buffers, np.nan)
        return pd.array(objects, dtype="str")
    if dtype is None:  # object strings, as pandas < 2.1 held text
        null = {"none": None, "nan": np.nan, "na": pd.NA}[meta.get("null") or "nan"]
        return arrays._decode_strings(meta["strings"], buffers, null)[0]
    if getattr(dtype, "storage", "python") != "python":
        try:
            return dtype.__from_arrow__(arrays._strings_to_arrow(meta["strings"], buffers))
        except Exception:  # an older pandas wanting pa.string(): go through objects
            pass
    objects, _ = arrays._decode_strings(meta["strings"], buffers, None)
    return pd.array(objects, dtype=dtype)


def _local_string_dtype(spec):  # type: ignore[no-untyped-def]
    """The StringDtype closest to ``spec`` that this pandas has, or None for ``object``."""
    np, pd = numpy_module(), pandas_module()
    storage = spec["storage"]
    if storage != "python":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            storage = "python"
    if spec["na"] == "NA":
        try:
            return _first_ok(pd.StringDtype, [storage, "python"])
        except ValueError:  # pandas < 1.3: one storage, no argument
            return pd.StringDtype()
    try:  # pandas >= 2.3
        return pd.StringDtype(storage, na_value=np.nan)
    except Exception:
        pass
    if storage == "pyarrow":
        try:  # pandas 2.1 and 2.2
            return pd.StringDtype("pyarrow_numpy")
        except Exception:
            pass
    return None


def infers_strings():  # type: ignore[no-untyped-def]
    """Whether this pandas gives text its string dtype by default (pandas 3's ``str``)."""
    try:
        with warnings.catch_warnings():  # pandas 3 deprecates the option (always on in 4)
            warnings.simplefilter("ignore")
            return bool(pandas_module().get_option("future.infer_string"))
    except Exception:  # pandas < 2.1 has no such option; pandas 4 may drop it (always on)
        return int(pandas_module().__version__.split(".")[0]) >= 4


def string_spec(dtype):  # type: ignore[no-untyped-def]
    storage = getattr(dtype, "storage", "python")
    if storage == "pyarrow_numpy":
        return {"storage": "pyarrow", "na": "nan"}
    na = getattr(dtype, "na_value", None)
    return {"storage": storage, "na": "NA" if na is None or na is pandas_module().NA else "nan"}


def decode_index(meta, buffers):  # type: ignore[no-untyped-def]
    np, pd = numpy_module(), pandas_module()
    kind = meta["type"]
    if kind == "range":
        return pd.RangeIndex(meta["start"], meta["stop"], meta["step"], name=meta["name"])
    if kind == "multi":
        levels = [decode_index(level, buffers) for level in meta["levels"]]
        codes = [arrays._decode_from(item, buffers) for item in meta["codes"]]
        return pd.MultiIndex(
            levels=levels, codes=codes, names=meta["names"], verify_integrity=False
        )
    values, note = decode_values(meta["values"], buffers)
    options = {"name": meta["name"], "tupleize_cols": False}
    if isinstance(values, np.ndarray) and values.dtype.kind == "O":
        options["dtype"] = object  # no inference (pandas 3 would make strings `str`)
    index = pd.Index(values, **options)
    if meta.get("freq"):
        try:
            index = _first_ok(
                lambda freq: type(index)(index, freq=freq), _freq_variants(meta["freq"])
            )
        except ValueError:
            pass  # "freq may be dropped": the values are what matter
    remember(index, note)
    return index


def make_series(values, index, name):  # type: ignore[no-untyped-def]
    np, pd = numpy_module(), pandas_module()
    dtype = object if isinstance(values, np.ndarray) and values.dtype.kind == "O" else None
    return pd.Series(values, index=index, name=name, dtype=dtype, copy=False)


def _rescale(ints, unit, want):  # type: ignore[no-untyped-def]
    """int64 times in ``unit`` as ``want`` when that is exact, else unchanged."""
    np = numpy_module()
    if unit == want or unit not in UNITS or want not in UNITS:
        return ints, unit
    nat = ints == np.iinfo(np.int64).min
    valid = ints[~nat]
    if UNITS[want] > UNITS[unit]:
        factor = UNITS[want] // UNITS[unit]
        if (valid % factor).any():
            return ints, unit
        out = ints // factor
    else:
        factor = UNITS[unit] // UNITS[want]
        if (np.abs(valid) > np.iinfo(np.int64).max // factor).any():
            return ints, unit
        out = ints * factor
    out[nat] = ints[nat]
    return out, want


def _convert(values, target):  # type: ignore[no-untyped-def]
    """``values`` as numpy dtype ``target`` when the conversion loses nothing, else as is."""
    np = numpy_module()
    if values.dtype.kind in "mM" and target.kind == values.dtype.kind:
        unit = np.datetime_data(values.dtype)[0]
        ints, got = _rescale(values.view("i8"), unit, np.datetime_data(target)[0])
        return ints.view(f"{target.kind}8[{got}]")
    try:
        converted = values.astype(target)
        back = converted.astype(values.dtype)
        same = np.array_equal(back, values) or (
            values.dtype.kind in "fc" and np.array_equal(back, values, equal_nan=True)
        )
    except (TypeError, ValueError, OverflowError):
        return values
    return converted if same else values


def _freq_variants(freq):  # type: ignore[no-untyped-def]
    match = re.match(r"^(-?\d*)([A-Za-z]+)(-.*)?$", freq)
    if not match:
        return [freq]
    count, head, tail = match.group(1), match.group(2), match.group(3) or ""
    old = _RENAMED.get(head, head)
    heads = [head, old] + [new for new, renamed in _RENAMED.items() if renamed == old]
    variants = [count + h + tail for h in heads]
    return sorted(set(variants), key=variants.index)


def _first_ok(make, candidates):  # type: ignore[no-untyped-def]
    for candidate in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # renamed-alias deprecations: we try both
                return make(candidate)
        except Exception as error:
            last = error
    raise ValueError(f"none of {candidates!r} is understood by this pandas ({last})")


# -- what to restore when a substitute goes back -------------------------------------------


def remember(obj, note):  # type: ignore[no-untyped-def]
    """Record ``note`` (family, spec) for the data of ``obj``, a Series or Index, if this
    pandas holds it as another dtype."""
    if note is None:
        return
    np, pd = numpy_module(), pandas_module()
    family, spec = note
    values = values_of(obj)
    dtype = values.dtype
    if family == "strings":
        held = string_spec(dtype) if isinstance(dtype, pd.StringDtype) else None
    elif family == "datetime":
        held = getattr(dtype, "unit", "ns")
    else:
        held = dtype.str if isinstance(dtype, np.dtype) else str(dtype)
    if held != spec:
        restore.remember(values, family, spec)


def values_of(obj):  # type: ignore[no-untyped-def]
    """The ndarray (numpy dtypes) or extension array behind a Series or Index, no copy."""
    np = numpy_module()
    if not hasattr(obj, "array"):
        return obj
    return np.asarray(obj) if isinstance(obj.dtype, np.dtype) else obj.array


def label(value):  # type: ignore[no-untyped-def]
    if isinstance(value, tuple):
        return tuple(label(item) for item in value)
    if type(value).__module__ == "numpy" and getattr(value, "dtype", None) is not None:
        if value.dtype.kind in "biufcSU":
            return value.item()
    return value


def numpy_module():  # type: ignore[no-untyped-def]
    import numpy

    return numpy


def pandas_module():  # type: ignore[no-untyped-def]
    import pandas

    return pandas
