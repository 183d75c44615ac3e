"""numpy arrays as plain metadata plus raw buffers, readable by any numpy on any CPython >= 3.8.

A pickled numpy-2 array does not load under numpy 1 (``No module named 'numpy._core'``); the
raw bytes, the dtype's ``str`` and the shape do. This module is executed from source on both
sides of a transfer (the child has no isocell), so it uses the standard library and numpy
only, imports numpy inside functions, and runs on CPython 3.8 to 3.13 with numpy 1.17 to 2.x.

Meta format (every value plain: dict, list, str, int, float, bool, None)::

    {"kind": "ndarray", "dtype": DESC, "shape": [...], "order": "C" | "F", "buffer": i}
    {"kind": "object", "shape": [...], "order": "C" | "F", "items": [...]}    # flat, in order
    {"kind": "strings", "shape": [...], "order": ..., "dtype": "T", "strings": STRINGS}

``DESC`` is ``dtype.str`` (``"<f8"``, ``">i4"``, ``"<M8[ns]"``, ``"|S5"``) for a simple dtype,
``{"names", "formats", "offsets", "itemsize"[, "titles"][, "aligned"]}`` for a structured one
(formats are DESCs), ``{"subarray": DESC, "shape": [...]}`` for a sub-array field, and
``{"longdouble": str, "nmant": int, "nexp": int}`` for an extended-precision float, which
decodes only where the local ``longdouble`` has the same format.

``STRINGS`` is the Arrow-like layout of a column of text: ``{"length": n, "data": i,
"offsets": j, "nulls": k or None}`` where buffer ``i`` holds UTF-8 (lone surrogates kept with
``surrogatepass``), buffer ``j`` ``n + 1`` little-endian int64 byte offsets starting at 0, and
buffer ``k`` one byte per element, non-zero where the element is missing.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["decode_array", "encode_array"]

_FAST_KINDS = "biufcSU"  # numpy scalar kinds whose .item() is an exact plain value


def encode_array(arr: "Any") -> "tuple[dict, list]":
    """Describe a numpy array as plain metadata plus raw buffers.

    Parameters
    ----------
    arr : numpy.ndarray
        Any shape (0-d and zero-size included), C or F order, any byte order. Dtypes: bool,
        integers, floats (float16 to longdouble), complex, datetime64 and timedelta64 of any
        unit, ``S``, ``U``, ``V`` and structured dtypes (nested, with offsets and padding),
        numpy 2's ``StringDType`` (without ``na_object``), and ``object``. Subclasses are sent
        as plain arrays.

    Returns
    -------
    meta : dict
        Plain values only (see the module docstring); it refers to buffers by index.
    buffers : list
        Buffer-protocol objects. A C- or F-contiguous numeric array is not copied: its buffer
        is a view of ``arr``; any other layout is copied once. Object arrays carry their
        elements in ``meta["items"]`` (numpy scalars of plain kinds become Python scalars;
        other elements are left for the caller to check).

    Raises
    ------
    ValueError
        For masked arrays, structured dtypes holding objects, and ``StringDType`` with an
        ``na_object``.
    """
    buffers: list = []
    return _encode_into(arr, buffers), buffers


def decode_array(meta: dict, buffers: "Sequence[Any]") -> "Any":
    """Rebuild the array :func:`encode_array` described.

    Parameters
    ----------
    meta : dict
        As produced by :func:`encode_array` (on any numpy, any Python).
    buffers : sequence of buffer-protocol objects
        The buffers, in the encoder's order. Numeric data is not copied: the result is a view
        of the buffer (read-only if the buffer is).

    Returns
    -------
    numpy.ndarray
        Same dtype (byte order included), shape and memory order. ``StringDType`` arrives as
        an ``object`` array of ``str`` under numpy 1.

    Raises
    ------
    ValueError
        When this numpy cannot represent the dtype (an extended-precision float whose format
        differs from the local ``longdouble``).
    """
    return _decode_from(meta, buffers)


# -- encoding ------------------------------------------------------------------------------


def _encode_into(arr, buffers):  # type: ignore[no-untyped-def]
    import numpy as np

    if isinstance(arr, np.ma.MaskedArray):
        raise ValueError("masked arrays cannot cross; send .data and .mask as two arrays")
    arr = np.asarray(arr)
    if arr.flags.c_contiguous:
        order = "C"
    elif arr.flags.f_contiguous:
        order = "F"
    else:  # one copy, keeping the layout closest to the original
        arr = np.array(arr, order="K", copy=True)
        order = "F" if arr.flags.f_contiguous and not arr.flags.c_contiguous else "C"
        if order == "C" and not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
    meta = {"shape": list(arr.shape), "order": order}
    dtype = arr.dtype
    flat = arr.ravel(order=order)  # a view: arr is contiguous in `order`
    if dtype.kind == "O":
        items = list(flat)
        for i, item in enumerate(items):
            if isinstance(item, np.generic) and item.dtype.kind in _FAST_KINDS:
                items[i] = item.item()
        meta.update(kind="object", items=items)
    elif dtype.kind == "T":  # numpy 2 StringDType: variable width, no raw layout
        if hasattr(dtype, "na_object"):  # only set when the dtype has one
            raise ValueError("StringDType with an na_object cannot cross; use .astype(object)")
        strings = _encode_strings(flat.astype(object), None, buffers)
        meta.update(kind="strings", dtype="T", strings=strings)
    else:
        if dtype.hasobject:
            raise ValueError(f"structured dtype {dtype} holds Python objects and cannot cross")
        meta.update(kind="ndarray", dtype=_describe(dtype), buffer=len(buffers))
        buffers.append(flat.view(np.uint8).data if dtype.itemsize else b"")
    return meta


def _describe(dtype):  # type: ignore[no-untyped-def]
    import numpy as np

    if dtype.fields is not None:
        names = list(dtype.names)
        fields = [dtype.fields[name] for name in names]
        desc = {
            "names": names,
            "formats": [_describe(field[0]) for field in fields],
            "offsets": [field[1] for field in fields],
            "itemsize": dtype.itemsize,
        }
        titles = [field[2] if len(field) > 2 else None for field in fields]
        if any(title is not None for title in titles):
            desc["titles"] = titles
        if dtype.isalignedstruct:
            desc["aligned"] = True
        return desc
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return {"subarray": _describe(base), "shape": list(shape)}
    if dtype.type in (np.longdouble, np.clongdouble) and np.finfo(np.longdouble).nmant > 52:
        info = np.finfo(np.longdouble)
        return {"longdouble": dtype.str, "nmant": int(info.nmant), "nexp": int(info.nexp)}
    return dtype.str


def _encode_strings(values, nulls, buffers):  # type: ignore[no-untyped-def]
    """The STRINGS layout of a 1-D object array of ``str`` (entries where ``nulls`` is set are
    ignored); ``nulls`` is a bool array or None."""
    import numpy as np

    n = len(values)
    if nulls is not None and nulls.any():
        values = values.copy()
        values[nulls] = ""
    else:
        nulls = None
    items = values.tolist()
    text = "".join(items)
    data = text.encode("utf-8", "surrogatepass")
    offsets = np.zeros(n + 1, dtype="<i8")
    np.cumsum(np.fromiter(map(len, items), dtype=np.int64, count=n), out=offsets[1:])
    if len(data) != len(text):  # not ASCII: character offsets -> byte offsets
        u8 = np.frombuffer(data, dtype=np.uint8)
        starts = np.flatnonzero((u8 & 0xC0) != 0x80)  # the first byte of each character
        offsets = np.append(starts, len(data)).astype("<i8", copy=False)[offsets]
    return _strings_meta(n, data, offsets, nulls, buffers)


def _strings_meta(n, data, offsets, nulls, buffers):  # type: ignore[no-untyped-def]
    import numpy as np

    meta = {"length": n, "data": len(buffers), "offsets": len(buffers) + 1, "nulls": None}
    buffers.append(data)
    buffers.append(np.ascontiguousarray(offsets, dtype="<i8").data)
    if nulls is not None:
        meta["nulls"] = len(buffers)
        buffers.append(np.ascontiguousarray(nulls, dtype=np.bool_).view(np.uint8).data)
    return meta


def _strings_from_arrow(array, buffers):  # type: ignore[no-untyped-def]
    """The STRINGS layout of a pyarrow (large_)string array, sharing its data buffer."""
    import numpy as np
    import pyarrow as pa

    n = len(array)
    if n == 0:
        return _strings_meta(0, b"", np.zeros(1, "<i8"), None, buffers)
    width = 8 if pa.types.is_large_string(array.type) else 4
    _, offset_buffer, data_buffer = array.buffers()
    at = array.offset * width
    offsets = np.frombuffer(offset_buffer, dtype=f"<i{width}", count=n + 1, offset=at)
    start, end = int(offsets[0]), int(offsets[-1])
    data = _byte_view(data_buffer)[start:end] if data_buffer is not None else b""
    nulls = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
    if offsets.dtype.str != "<i8" or start:
        offsets = offsets.astype("<i8") - start  # else: shared as they are, no copy
    return _strings_meta(n, data, offsets, nulls, buffers)


# -- decoding ------------------------------------------------------------------------------


def _decode_from(meta, buffers):  # type: ignore[no-untyped-def]
    import numpy as np

    shape = tuple(meta["shape"])
    order = meta["order"]
    count = 1
    for size in shape:
        count *= size
    kind = meta["kind"]
    if kind == "object":
        flat = _object_array(meta["items"])
    elif kind == "strings":
        flat, _ = _decode_strings(meta["strings"], buffers, None)
        string_dtype = getattr(getattr(np, "dtypes", None), "StringDType", None)
        if string_dtype is not None:
            flat = flat.astype(string_dtype())
    else:
        dtype = _dtype(meta["dtype"])
        if count == 0 or dtype.itemsize == 0:
            return np.zeros(shape, dtype=dtype, order=order)
        flat = np.frombuffer(buffers[meta["buffer"]], dtype=dtype, count=count)
    return flat.reshape(shape, order=order)


def _dtype(desc):  # type: ignore[no-untyped-def]
    import numpy as np

    if isinstance(desc, str):
        return np.dtype(desc)
    if "subarray" in desc:
        return np.dtype((_dtype(desc["subarray"]), tuple(desc["shape"])))
    if "longdouble" in desc:
        info = np.finfo(np.longdouble)
        if (info.nmant, info.nexp) != (desc["nmant"], desc["nexp"]):
            raise ValueError(
                f"extended-precision float {desc['longdouble']!r} (mantissa {desc['nmant']} "
                f"bits) has no exact equivalent here (longdouble mantissa {info.nmant} bits); "
                "convert it to float64 before sending"
            )
        return np.dtype(desc["longdouble"])
    spec = {
        "names": desc["names"],
        "formats": [_dtype(item) for item in desc["formats"]],
        "offsets": desc["offsets"],
        "itemsize": desc["itemsize"],
    }
    if "titles" in desc:
        spec["titles"] = desc["titles"]
    return np.dtype(spec, align=bool(desc.get("aligned")))


def _object_array(items):  # type: ignore[no-untyped-def]
    import numpy as np

    out = np.empty(len(items), dtype=object)
    if any(isinstance(item, (list, tuple)) for item in items):
        for i, item in enumerate(items):  # slice assignment would unpack nested sequences
            out[i] = item
    else:
        out[:] = items
    return out


def _byte_view(buffer):  # type: ignore[no-untyped-def]
    view = memoryview(buffer)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _decode_strings(meta, buffers, null):  # type: ignore[no-untyped-def]
    """``(object array of str, nulls or None)``; missing entries hold ``null``."""
    import numpy as np

    n = meta["length"]
    nulls = None
    if meta["nulls"] is not None:
        nulls = np.frombuffer(buffers[meta["nulls"]], dtype=np.bool_, count=n)
    out = np.empty(n, dtype=object)
    if n == 0:
        return out, nulls
    offsets = np.frombuffer(buffers[meta["offsets"]], dtype="<i8", count=n + 1)
    data = _byte_view(buffers[meta["data"]])[: int(offsets[-1])]
    u8 = np.frombuffer(data, dtype=np.uint8)
    sep = _absent_ascii_byte(u8)
    if sep is not None:
        # Fast path: put one byte no element contains between elements, decode once and let
        # str.split cut (about 5 times faster than slicing per element on 10 million).
        joined = np.empty(len(u8) + n - 1, dtype=np.uint8)
        cuts = offsets[1:-1] + np.arange(n - 1)
        keep = np.ones(len(joined), dtype=np.bool_)
        keep[cuts] = False
        joined[keep] = u8
        joined[cuts] = sep
        out[:] = str(joined.data, "utf-8", "surrogatepass").split(chr(sep))
    else:
        text = str(data, "utf-8", "surrogatepass")
        if len(text) != len(data):  # byte offsets -> character offsets
            starts = np.zeros(len(u8) + 1, dtype=np.int64)
            np.cumsum((u8 & 0xC0) != 0x80, out=starts[1:])
            offsets = starts[offsets]
        bounds = offsets.tolist()
        # itertools.pairwise is 3.10+
        out[:] = [text[a:b] for a, b in zip(bounds, bounds[1:])]  # noqa: RUF007
    if nulls is not None:
        out[nulls] = null
    return out, nulls


def _absent_ascii_byte(u8):  # type: ignore[no-untyped-def]
    import numpy as np

    if not (u8 == 0).any():
        return 0
    absent = np.flatnonzero(np.bincount(u8, minlength=256)[1:128] == 0)
    return int(absent[0]) + 1 if len(absent) else None


def _strings_to_arrow(meta, buffers):  # type: ignore[no-untyped-def]
    """A pyarrow large_string array over the STRINGS buffers (no copy of the text)."""
    import numpy as np
    import pyarrow as pa

    n, bitmap, null_count = meta["length"], None, 0
    if meta["nulls"] is not None:
        nulls = np.frombuffer(buffers[meta["nulls"]], dtype=np.bool_, count=n)
        bitmap = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
        null_count = int(nulls.sum())
    offsets = pa.py_buffer(_byte_view(buffers[meta["offsets"]])[: 8 * (n + 1)])
    data = pa.py_buffer(_byte_view(buffers[meta["data"]]))
    return pa.LargeStringArray.from_buffers(n, offsets, data, bitmap, null_count)
