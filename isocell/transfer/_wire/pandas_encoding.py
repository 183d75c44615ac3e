"""pandas columns and indexes described as plain metadata plus raw buffers: the sending side
of :mod:`.pandas_codec` (whose docstring gives the format).

Runs from source on both sides, with the standard library, numpy and pandas only, imported
inside functions.
"""

from . import arrays, restore
from .pandas_columns import (
    MASKED,
    NULLS,
    infers_strings,
    label,
    numpy_module,
    pandas_module,
    string_spec,
    values_of,
)

__all__ = ["encode_index", "encode_values"]


def encode_values(obj, buffers):  # type: ignore[no-untyped-def]
    np, pd = numpy_module(), pandas_module()
    values = values_of(obj)
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
            meta["infers"] = infers_strings()
    elif isinstance(dtype, pd.StringDtype):
        spec = string_spec(dtype)
        meta.update(kind="strings", strings=_string_layout(values, buffers), string=spec)
    elif isinstance(dtype, pd.CategoricalDtype):
        codes = arrays._encode_into(np.asarray(values.codes), buffers)
        categories = encode_index(values.categories, buffers)
        meta.update(kind="categorical", codes=codes, categories=categories)
        meta["ordered"] = bool(values.ordered)
    elif isinstance(dtype, pd.DatetimeTZDtype):
        ints = arrays._encode_into(np.asarray(values.asi8), buffers)
        unit = getattr(dtype, "unit", "ns")
        meta.update(kind="datetime", values=ints, unit=unit, tz=_tz_name(dtype.tz))
    elif isinstance(values, tuple(getattr(pd.arrays, name, ()) for name in MASKED)):
        data = arrays._encode_into(values._data, buffers)
        mask = arrays._encode_into(values._mask, buffers)
        meta.update(kind="masked", values=data, mask=mask)
    elif isinstance(dtype, pd.PeriodDtype):
        ordinals = arrays._encode_into(np.asarray(values.asi8), buffers)
        meta.update(kind="period", ordinals=ordinals, freq=str(dtype)[7:-1])  # period[M]
    elif isinstance(dtype, pd.IntervalDtype):
        left, right = encode_values(values.left, buffers), encode_values(values.right, buffers)
        meta.update(kind="interval", left=left, right=right, closed=values.closed)
    else:
        raise ValueError(
            f"pandas dtype {dtype} cannot cross between environments; convert the column "
            "with .astype(...) to a numpy, nullable, categorical or string dtype first"
        )
    if remembered is not None and remembered[0] == meta["kind"]:
        meta["want"] = remembered[1]
    return meta


def encode_index(index, buffers):  # type: ignore[no-untyped-def]
    np, pd = numpy_module(), pandas_module()
    if isinstance(index, pd.MultiIndex):
        return {
            "type": "multi",
            "levels": [encode_index(level, buffers) for level in index.levels],
            "codes": [arrays._encode_into(np.asarray(codes), buffers) for codes in index.codes],
            "names": [label(name) for name in index.names],
        }
    if isinstance(index, pd.RangeIndex):
        start, stop, step = int(index.start), int(index.stop), int(index.step)
        name = label(index.name)
        return {"type": "range", "start": start, "stop": stop, "step": step, "name": name}
    meta = {"type": "index", "values": encode_values(index, buffers), "name": label(index.name)}
    freq = getattr(index, "freqstr", None)
    if freq and not isinstance(index, pd.PeriodIndex):
        meta["freq"] = freq
    return meta


def _string_nulls(values, text):  # type: ignore[no-untyped-def]
    """``(nulls, null kind)`` when an object array holds only ``str`` and one kind of missing
    value (else None: it travels as a list of objects). ``text``: it was a string dtype, so
    an empty or all-missing array is text too."""
    pd = pandas_module()
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred != "string" and not (text and inferred == "empty"):
        return None
    nulls = pd.isna(values)
    if not nulls.any():
        return None, "none"
    kinds = {NULLS.get(type(item).__name__) for item in values[nulls]}
    if len(kinds) != 1 or None in kinds:
        return None
    return nulls, kinds.pop()


def _string_layout(values, buffers):  # type: ignore[no-untyped-def]
    np = numpy_module()
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
