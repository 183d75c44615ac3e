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

from typing import TYPE_CHECKING, Any

from .pandas_columns import decode_index, decode_values, label, make_series, numpy_module, remember
from .pandas_encoding import encode_index, encode_values

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["decode_pandas", "encode_pandas", "is_pandas"]

_WIRE = 1
_TYPES = ("DataFrame", "Series", "Index", "ExtensionArray")


def is_pandas(obj: "Any") -> bool:
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


def encode_pandas(obj: "Any") -> "tuple[dict, list]":
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
        data = [encode_values(obj.iloc[:, i], buffers) for i in range(obj.shape[1])]
        index, columns = encode_index(obj.index, buffers), encode_index(obj.columns, buffers)
        meta = {"type": "DataFrame", "index": index, "columns": columns, "data": data}
    elif isinstance(obj, pd.Series):
        values = encode_values(obj, buffers)
        index = encode_index(obj.index, buffers)
        meta = {"type": "Series", "name": label(obj.name), "index": index, "values": values}
    elif isinstance(obj, pd.Index):
        meta = {"type": "Index", "index": encode_index(obj, buffers)}
    elif isinstance(obj, pd.api.extensions.ExtensionArray):
        meta = {"type": "array", "values": encode_values(obj, buffers)}
    else:
        raise TypeError(f"not a pandas DataFrame, Series, Index or array: {type(obj)!r}")
    meta["wire"] = _WIRE
    return meta, buffers


def decode_pandas(meta: dict, buffers: "Sequence[Any]") -> "Any":
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
        return decode_index(meta["index"], buffers)
    if kind == "array":
        values, _ = decode_values(meta["values"], buffers)
        if isinstance(values, numpy_module().ndarray):
            wrap = getattr(pd.arrays, "NumpyExtensionArray", None) or pd.arrays.PandasArray
            values = wrap(values)
        return values
    index = decode_index(meta["index"], buffers)
    if kind == "Series":
        values, note = decode_values(meta["values"], buffers)
        series = make_series(values, index, meta["name"])
        remember(series, note)
        return series
    columns, notes = {}, []
    for i, item in enumerate(meta["data"]):
        values, note = decode_values(item, buffers)
        columns[i] = make_series(values, index, None)
        notes.append(note)
    frame = pd.DataFrame(columns, index=index, copy=False)
    frame.columns = decode_index(meta["columns"], buffers)
    for i, note in enumerate(notes):
        remember(frame.iloc[:, i], note)
    return frame
