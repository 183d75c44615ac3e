"""Type-dispatched, version-neutral encoding of variables, built on pickle's persistent ids.

A value is pickled (protocol 5), but the objects whose pickles do not cross library versions
are taken out of the stream through ``persistent_id`` and replaced by plain metadata plus raw
buffers that travel out of band (see ``framing``):

* numpy arrays → dtype, shape, order + the data buffer (``arrays``);
* pandas Series / DataFrame / Index → columns as arrays + dtype descriptions (``frames``);
* numpy scalars → dtype string + bytes;
* pyarrow Tables and RecordBatches → Arrow IPC stream bytes (pyarrow on both sides).

Everything else is ordinary pickle, so it crosses between Python versions when its classes
exist on both sides (plain data, datetime, Decimal, UUID, Path, Enum members and
dataclass / namedtuple instances of importable classes). When both sides run the same Python
``major.minor``, cloudpickle (if present) takes the rest, including code defined in the
notebook; otherwise a notebook-defined function or class is refused with the reason.

This module runs on both sides, on any CPython >= 3.8, with the standard library; numpy,
pandas, pyarrow and cloudpickle are used only where the value needs them and the side has them.
"""

from __future__ import annotations

import io
import pickle

from . import arrays, frames, source

PROTOCOL = 5


class NotPortable(Exception):
    """A value refers to code defined in the notebook, and the two Pythons differ."""


def type_name(value):  # type: ignore[no-untyped-def]
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _special(obj, buffers):  # type: ignore[no-untyped-def]
    """The persistent id of ``obj`` (a tuple of plain data), or None for ordinary pickling."""
    kind = type(obj)
    module = kind.__module__
    if module == "numpy":
        import numpy

        if isinstance(obj, numpy.ndarray) and kind is numpy.ndarray:
            meta, data = arrays.encode_array(obj)
            return ("ndarray", meta, _add(buffers, data))
        if isinstance(obj, numpy.generic):
            meta, data = arrays.encode_array(numpy.asarray(obj))
            return ("npscalar", meta, _add(buffers, data))
        return None
    if module.startswith("pandas") and frames.is_pandas(obj):
        meta, data = frames.encode_pandas(obj)
        return ("pandas", meta, _add(buffers, data))
    if module.startswith("pyarrow") and kind.__name__ in ("Table", "RecordBatch"):
        import pyarrow

        sink = pyarrow.BufferOutputStream()
        with pyarrow.ipc.new_stream(sink, obj.schema) as writer:
            writer.write(obj)
        return ("arrow", kind.__name__, _add(buffers, [sink.getvalue()]))
    return None


def _add(buffers, data):  # type: ignore[no-untyped-def]
    start = len(buffers)
    buffers.extend(data)
    return list(range(start, len(buffers)))


def _base_pickler(cloudpickle):  # type: ignore[no-untyped-def]
    return cloudpickle.Pickler if cloudpickle is not None else pickle.Pickler


def encode(value, buffers, cloudpickle=None, main_refs=None):  # type: ignore[no-untyped-def]
    """Pickle ``value`` to bytes, appending its large buffers to ``buffers``.

    Parameters
    ----------
    value : object
        Any value.
    buffers : list
        Receives buffer-protocol objects; the returned bytes refer to them by index.
    cloudpickle : module or None
        cloudpickle, when both sides run the same Python; None across versions.
    main_refs : list or None
        Across versions: receives ``(name, obj)`` for each function or class defined in the
        notebook that the value refers to; they are pickled by reference, and the caller
        ships their source so that the reference resolves on the other side. None: refuse
        them instead.

    Raises
    ------
    NotPortable
        For a notebook-defined function or class across versions, when ``main_refs`` is None.
    Exception
        Whatever pickling raises for an object that cannot be pickled.
    """
    base = _base_pickler(cloudpickle)
    across = cloudpickle is None

    class _Encoder(base):  # type: ignore[misc,valid-type]
        def persistent_id(self, obj):  # type: ignore[no-untyped-def]
            return _special(obj, buffers)

        def reducer_override(self, obj):  # type: ignore[no-untyped-def]
            if across and source.is_notebook_code(obj):
                if main_refs is None:
                    what = "class" if isinstance(obj, type) else "function"
                    raise NotPortable(
                        f"{what} {obj.__qualname__!r} is defined in the notebook; it can "
                        "cross only between equal Python versions"
                    )
                main_refs.append((obj.__name__, obj))
                return NotImplemented  # by reference: __main__.<name>
            parent = super()
            if hasattr(parent, "reducer_override"):
                return parent.reducer_override(obj)
            return NotImplemented

    stream = io.BytesIO()
    _Encoder(stream, protocol=PROTOCOL).dump(value)
    return stream.getvalue()


def decode(data, buffers):  # type: ignore[no-untyped-def]
    """Inverse of :func:`encode`; ``buffers`` as read back from the payload."""

    class _Decoder(pickle.Unpickler):
        def persistent_load(self, pid):  # type: ignore[no-untyped-def]
            kind = pid[0]
            if kind == "ndarray":
                return arrays.decode_array(pid[1], [buffers[i] for i in pid[2]])
            if kind == "npscalar":
                return arrays.decode_array(pid[1], [buffers[i] for i in pid[2]])[()]
            if kind == "pandas":
                return frames.decode_pandas(pid[1], [buffers[i] for i in pid[2]])
            if kind == "arrow":
                import pyarrow

                reader = pyarrow.ipc.open_stream(pyarrow.py_buffer(buffers[pid[2][0]]))
                table = reader.read_all()
                return table if pid[1] == "Table" else table.combine_chunks().to_batches()[0]
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")

    return _Decoder(io.BytesIO(data)).load()
