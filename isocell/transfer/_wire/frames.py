"""pandas objects as plain metadata plus raw buffers, across pandas 1.1 to 3.x and numpy 1/2.

Like :mod:`.arrays`, on which it builds, this module runs from source on both sides, with the
standard library, numpy and pandas only, imported inside functions.

Meta: ``{"wire": 1, "type": "DataFrame", "index": INDEX, "columns": INDEX, "data": [VALUES]}``;
``"Series"`` has ``name``, ``index``, ``values``; ``"Index"`` has ``index``; ``"array"`` has
``values``. INDEX: ``{"type": "range", start, stop, step, name}``, ``{"type": "multi", levels:
[INDEX], codes: [ARRAY], names}`` or ``{"type": "index", values: VALUES, name[, freq]}``.
VALUES: ``kind``, ``dtype`` (the sender's name, for messages), optional ``want`` (below) and
per kind: ``numpy`` ``array`` (an :mod:`.arrays` meta); ``strings`` ``strings`` (the
Arrow-like layout), ``string`` (``{storage, na}`` or None for object), ``null`` (what an object
column held for missing); ``categorical`` ``codes``, ``categories``, ``ordered``; ``datetime``
(tz-aware) int64 ``values``, ``unit``, ``tz`` (IANA name or offset seconds); ``masked``
``values``, ``mask``; ``period`` ``ordinals``, ``freq``; ``interval`` ``left``, ``right``,
``closed``.

What arrives as what: a dtype the receiver has arrives unchanged, else the closest one. pandas
3 ``str`` (missing = NaN) → ``object`` strings with NaN under pandas < 2.1; ``string[pyarrow]``
without pyarrow → ``string[python]``; datetimes in s/ms/us → ns under pandas 1.x (out-of-range
values raise there); index dtypes pandas 1.x lacks (int32, float32, bool) → int64, float64,
object.

Coming back untouched: when a decoded column or index takes such a substitute, the dtype it
left as is remembered (see :mod:`.restore`) and sent back as ``want`` when the same data, or a
copy of it, is encoded again; the receiver converts to it when it has it and the conversion is
exact. So a ``str`` column received by pandas 1.4 as ``object`` and sent back arrives as
``str``. A column the child computed anew comes back as what the child made of it.
"""

from __future__ import annotations

import datetime
import re
import warnings
from typing import TYPE_CHECKING, Any

from . import arrays, restore

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["decode_pandas", "encode_pandas", "is_pandas"]

_WIRE = 1
_TYPES = ("DataFrame", "Series", "Index", "ExtensionArray")
_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_NULLS = {"NoneType": "none", "float": "nan", "NAType": "na"}
_MASKED = ("IntegerArray", "BooleanArray", "FloatingArray")  # FloatingArray: pandas >= 1.2
# Frequency aliases renamed in pandas 2.2 (new: old); tried both ways when one is refused.
_RENAMED = {"ME": "M", "QE": "Q", "YE": "A", "Y": "A", "YS": "AS", "BME": "BM", "BQE": "BQ",
            "BYE": "BA", "BYS": "BAS", "SME": "SM", "h": "H", "bh": "BH", "min": "T", "s": "S",
            "ms": "L", "us": "U", "ns": "N"}  # fmt: skip


def is_pandas(obj: Any) -> bool:
    """Whether :func:`encode_pandas` handles ``obj``, without importing pandas.

    True for pandas' ``DataFrame``, ``Series``, ``Index`` and extension arrays, and for their
    subclasses defined inside pandas (``DatetimeIndex``, ``Categorical``, ...).
    """
    cls = type(obj)
    if not cls.__module__.startswith("pandas"):
        return False
    return any(
        base.__name__ in _TYPES and base.__module__.startswith("pandas") for base in cls.__mro__
    )


def encode_pandas(obj: Any) -> tuple[dict, list]:
    """Describe a pandas object as plain metadata plus raw buffers.

    Parameters
    ----------
    obj : pandas.DataFrame, Series, Index (MultiIndex included) or extension array
        Labels may be any plain values (ints, tuples, duplicates); axis names cross.

    Returns
    -------
    meta : dict
        Plain values only (module docstring); loads without numpy or pandas.
    buffers : list
        Buffer-protocol objects; contiguous numeric columns are views, not copies. Text is one
        UTF-8 buffer plus int64 offsets plus a null mask.

    Raises
    ------
    ValueError
        For a dtype that cannot cross (sparse, ``ArrowDtype``, third-party extension types, a
        time zone with neither a name nor a fixed offset), naming it.
    TypeError
        When ``obj`` is none of the above.
    """
    import pandas as pd

    buffers: list = []
    if isinstance(obj, pd.DataFrame):
        data = [_encode_values(obj.iloc[:, i], buffers) for i in range(obj.shape[1])]
        index, columns = _encode_index(obj.index, buffers), _encode_index(obj.columns, buffers)
        meta = {"type": "DataFrame", "index": index, "columns": columns, "data": data}
    elif isinstance(obj, pd.Series):
        values = _encode_values(obj, buffers)
        index = _encode_index(obj.index, buffers)
        meta = {"type": "Series", "name": _label(obj.name), "index": index, "values": values}
    elif isinstance(obj, pd.Index):
        meta = {"type": "Index", "index": _encode_index(obj, buffers)}
    elif isinstance(obj, pd.api.extensions.ExtensionArray):
        meta = {"type": "array", "values": _encode_values(obj, buffers)}
    else:
        raise TypeError(f"not a pandas DataFrame, Series, Index or array: {type(obj)!r}")
    meta["wire"] = _WIRE
    return meta, buffers


def decode_pandas(meta: dict, buffers: Sequence[Any]) -> Any:
    """Rebuild, with this side's pandas, the object :func:`encode_pandas` described.

    Parameters
    ----------
    meta : dict
        From :func:`encode_pandas` on any pandas 1.1 to 3.x and Python >= 3.8.
    buffers : sequence of buffer-protocol objects
        In the encoder's order. Numeric data is wrapped without a copy where pandas allows it
        (pandas 1.x copies same-dtype columns into one block); text is converted.

    Returns
    -------
    pandas.DataFrame, Series, Index or extension array
        Dtypes this pandas lacks arrive as the closest one it has (module docstring), and are
        remembered so that sending the value back untouched restores them.

    Raises
    ------
    ValueError
        When a value cannot be represented here (a datetime outside pandas 1.x's nanosecond
        range, an extended-precision float) or the meta comes from a newer wire format.
    """
    import pandas as pd

    if meta.get("wire") != _WIRE:
        raise ValueError(f"pandas wire format {meta.get('wire')!r} is not {_WIRE}; update isocell")
    kind = meta["type"]
    if kind == "Index":
        return _decode_index(meta["index"], buffers)
    if kind == "array":
        values, _ = _decode_values(meta["values"], buffers)
        if isinstance(values, _np().ndarray):
            wrap = getattr(pd.arrays, "NumpyExtensionArray", None) or pd.arrays.PandasArray
            values = wrap(values)
        return values
    index = _decode_index(meta["index"], buffers)
    if kind == "Series":
        values, note = _decode_values(meta["values"], buffers)
        series = _series(values, index, meta["name"])
        _remember(series, note)
        return series
    columns, notes = {}, []
    for i, item in enumerate(meta["data"]):
        values, note = _decode_values(item, buffers)
        columns[i] = _series(values, index, None)
        notes.append(note)
    frame = pd.DataFrame(columns, index=index, copy=False)
    frame.columns = _decode_index(meta["columns"], buffers)
    for i, note in enumerate(notes):
        _remember(frame.iloc[:, i], note)
    return frame


# -- encoding ------------------------------------------------------------------------------


def _encode_values(obj, buffers):  # type: ignore[no-untyped-def]
    np, pd = _np(), _pd()
    values = _values_of(obj)
    dtype = values.dtype
    meta = {"dtype": str(dtype)}
    if type(values).__name__ in ("PandasArray", "NumpyExtensionArray"):
        values = values.to_numpy()
        dtype = values.dtype
    remembered = restore.lookup(values)
    if isinstance(values, np.ndarray):
        text = remembered is not None and remembered[0] == "strings"
        strings = _string_nulls(values, text) if dtype.kind == "O" else None
        if strings is None:
            meta.update(kind="numpy", array=arrays._encode_into(values, buffers))
        else:
            nulls, null = strings
            layout = arrays._encode_strings(values, nulls, buffers)
            meta.update(kind="strings", strings=layout, string=None, null=null)
            meta["infers"] = _infers_strings()
    elif isinstance(dtype, pd.StringDtype):
        spec = _string_spec(dtype)
        meta.update(kind="strings", strings=_string_layout(values, buffers), string=spec)
    elif isinstance(dtype, pd.CategoricalDtype):
        codes = arrays._encode_into(np.asarray(values.codes), buffers)
        categories = _encode_index(values.categories, buffers)
        meta.update(kind="categorical", codes=codes, categories=categories)
        meta["ordered"] = bool(values.ordered)
    elif isinstance(dtype, pd.DatetimeTZDtype):
        ints = arrays._encode_into(np.asarray(values.asi8), buffers)
        unit = getattr(dtype, "unit", "ns")
        meta.update(kind="datetime", values=ints, unit=unit, tz=_tz_name(dtype.tz))
    elif isinstance(values, tuple(getattr(pd.arrays, name, ()) for name in _MASKED)):
        data = arrays._encode_into(values._data, buffers)
        mask = arrays._encode_into(values._mask, buffers)
        meta.update(kind="masked", values=data, mask=mask)
    elif isinstance(dtype, pd.PeriodDtype):
        ordinals = arrays._encode_into(np.asarray(values.asi8), buffers)
        meta.update(kind="period", ordinals=ordinals, freq=str(dtype)[7:-1])  # period[M]
    elif isinstance(dtype, pd.IntervalDtype):
        left, right = _encode_values(values.left, buffers), _encode_values(values.right, buffers)
        meta.update(kind="interval", left=left, right=right, closed=values.closed)
    else:
        raise ValueError(
            f"pandas dtype {dtype} cannot cross between environments; convert the column "
            "with .astype(...) to a numpy, nullable, categorical or string dtype first"
        )
    if remembered is not None and remembered[0] == meta["kind"]:
        meta["want"] = remembered[1]
    return meta


def _encode_index(index, buffers):  # type: ignore[no-untyped-def]
    np, pd = _np(), _pd()
    if isinstance(index, pd.MultiIndex):
        return {
            "type": "multi",
            "levels": [_encode_index(level, buffers) for level in index.levels],
            "codes": [arrays._encode_into(np.asarray(codes), buffers) for codes in index.codes],
            "names": [_label(name) for name in index.names],
        }
    if isinstance(index, pd.RangeIndex):
        start, stop, step = int(index.start), int(index.stop), int(index.step)
        name = _label(index.name)
        return {"type": "range", "start": start, "stop": stop, "step": step, "name": name}
    meta = {"type": "index", "values": _encode_values(index, buffers), "name": _label(index.name)}
    freq = getattr(index, "freqstr", None)
    if freq and not isinstance(index, pd.PeriodIndex):
        meta["freq"] = freq
    return meta


def _string_nulls(values, text):  # type: ignore[no-untyped-def]
    """``(nulls, null kind)`` when an object array holds only ``str`` and one kind of missing
    value (else None: it travels as a list of objects). ``text``: it was a string dtype, so
    an empty or all-missing array is text too."""
    pd = _pd()
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred != "string" and not (text and inferred == "empty"):
        return None
    nulls = pd.isna(values)
    if not nulls.any():
        return None, "none"
    kinds = {_NULLS.get(type(item).__name__) for item in values[nulls]}
    if len(kinds) != 1 or None in kinds:
        return None
    return nulls, kinds.pop()


def _string_layout(values, buffers):  # type: ignore[no-untyped-def]
    np = _np()
    if getattr(values.dtype, "storage", "python") != "python":
        import pyarrow as pa  # the storage itself is pyarrow: it is there

        # The ChunkedArray behind the column (pandas >= 2: _pa_array; 1.x: _data), no copy.
        chunked = getattr(values, "_pa_array", None)
        if not isinstance(chunked, pa.ChunkedArray):
            chunked = getattr(values, "_data", None)
        if not isinstance(chunked, pa.ChunkedArray):
            chunked = pa.chunked_array(pa.array(values))
        # One chunk (the usual case) is used as it is; combining copies the whole column.
        single = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
        return arrays._strings_from_arrow(single, buffers)
    objects = np.asarray(values, dtype=object)
    return arrays._encode_strings(objects, np.asarray(values.isna()), buffers)


def _tz_name(tz):  # type: ignore[no-untyped-def]
    name = getattr(tz, "key", None) or getattr(tz, "zone", None)  # zoneinfo, pytz
    if isinstance(name, str):
        return name
    if type(tz).__module__.startswith("dateutil") and getattr(tz, "_filename", None):
        return "dateutil/" + tz._filename.split("zoneinfo/")[-1]
    offset = tz.utcoffset(None)
    if offset is not None:
        return "UTC" if not offset and str(tz) == "UTC" else int(offset.total_seconds())
    raise ValueError(f"time zone {tz!r} has neither an IANA name nor a fixed offset")


# -- decoding ------------------------------------------------------------------------------


def _decode_values(meta, buffers):  # type: ignore[no-untyped-def]
    """``(values, note)``: an ndarray or extension array, and what to remember if this pandas
    stores it as another dtype (see :func:`_remember`)."""
    np, pd = _np(), _pd()
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
        if spec is None and meta.get("infers") and not _infers_strings():
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
        dtype = pd.CategoricalDtype(_decode_index(meta["categories"], buffers), meta["ordered"])
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
        left, _ = _decode_values(meta["left"], buffers)
        right, _ = _decode_values(meta["right"], buffers)
        closed = meta["closed"]
        return pd.arrays.IntervalArray.from_arrays(left, right, closed=closed), None
    raise ValueError(f"unknown pandas values kind {kind!r}; update isocell on this side")


def _decode_strings(meta, buffers, spec):  # type: ignore[no-untyped-def]
    np, pd = _np(), _pd()
    dtype = _local_string_dtype(spec) if spec is not None else None
    if dtype is None and meta.get("infers") is False and _infers_strings():
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
    np, pd = _np(), _pd()
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


def _infers_strings():  # type: ignore[no-untyped-def]
    """Whether this pandas gives text its string dtype by default (pandas 3's ``str``)."""
    try:
        with warnings.catch_warnings():  # pandas 3 deprecates the option (always on in 4)
            warnings.simplefilter("ignore")
            return bool(_pd().get_option("future.infer_string"))
    except Exception:  # pandas < 2.1 has no such option; pandas 4 may drop it (always on)
        return int(_pd().__version__.split(".")[0]) >= 4


def _string_spec(dtype):  # type: ignore[no-untyped-def]
    storage = getattr(dtype, "storage", "python")
    if storage == "pyarrow_numpy":
        return {"storage": "pyarrow", "na": "nan"}
    na = getattr(dtype, "na_value", None)
    return {"storage": storage, "na": "NA" if na is None or na is _pd().NA else "nan"}


def _decode_index(meta, buffers):  # type: ignore[no-untyped-def]
    np, pd = _np(), _pd()
    kind = meta["type"]
    if kind == "range":
        return pd.RangeIndex(meta["start"], meta["stop"], meta["step"], name=meta["name"])
    if kind == "multi":
        levels = [_decode_index(level, buffers) for level in meta["levels"]]
        codes = [arrays._decode_from(item, buffers) for item in meta["codes"]]
        return pd.MultiIndex(
            levels=levels, codes=codes, names=meta["names"], verify_integrity=False
        )
    values, note = _decode_values(meta["values"], buffers)
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
    _remember(index, note)
    return index


def _series(values, index, name):  # type: ignore[no-untyped-def]
    np, pd = _np(), _pd()
    dtype = object if isinstance(values, np.ndarray) and values.dtype.kind == "O" else None
    return pd.Series(values, index=index, name=name, dtype=dtype, copy=False)


def _rescale(ints, unit, want):  # type: ignore[no-untyped-def]
    """int64 times in ``unit`` as ``want`` when that is exact, else unchanged."""
    np = _np()
    if unit == want or unit not in _UNITS or want not in _UNITS:
        return ints, unit
    nat = ints == np.iinfo(np.int64).min
    valid = ints[~nat]
    if _UNITS[want] > _UNITS[unit]:
        factor = _UNITS[want] // _UNITS[unit]
        if (valid % factor).any():
            return ints, unit
        out = ints // factor
    else:
        factor = _UNITS[unit] // _UNITS[want]
        if (np.abs(valid) > np.iinfo(np.int64).max // factor).any():
            return ints, unit
        out = ints * factor
    out[nat] = ints[nat]
    return out, want


def _convert(values, target):  # type: ignore[no-untyped-def]
    """``values`` as numpy dtype ``target`` when the conversion loses nothing, else as is."""
    np = _np()
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


def _remember(obj, note):  # type: ignore[no-untyped-def]
    """Record ``note`` (family, spec) for the data of ``obj``, a Series or Index, if this
    pandas holds it as another dtype."""
    if note is None:
        return
    np, pd = _np(), _pd()
    family, spec = note
    values = _values_of(obj)
    dtype = values.dtype
    if family == "strings":
        held = _string_spec(dtype) if isinstance(dtype, pd.StringDtype) else None
    elif family == "datetime":
        held = getattr(dtype, "unit", "ns")
    else:
        held = dtype.str if isinstance(dtype, np.dtype) else str(dtype)
    if held != spec:
        restore.remember(values, family, spec)


def _values_of(obj):  # type: ignore[no-untyped-def]
    """The ndarray (numpy dtypes) or extension array behind a Series or Index, no copy."""
    np = _np()
    if not hasattr(obj, "array"):
        return obj
    return np.asarray(obj) if isinstance(obj.dtype, np.dtype) else obj.array


def _label(value):  # type: ignore[no-untyped-def]
    if isinstance(value, tuple):
        return tuple(_label(item) for item in value)
    if type(value).__module__ == "numpy" and getattr(value, "dtype", None) is not None:
        if value.dtype.kind in "biufcSU":
            return value.item()
    return value


def _np():  # type: ignore[no-untyped-def]
    import numpy

    return numpy


def _pd():  # type: ignore[no-untyped-def]
    import pandas

    return pandas
