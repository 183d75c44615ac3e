"""Type-dispatched, version-neutral encoding of variables, built on pickle's persistent ids.

A value is pickled (protocol 5), but the objects whose pickles do not cross library versions
are taken out of the stream through ``persistent_id`` and replaced by plain metadata plus raw
buffers that travel out of band (see ``payload_file``):

* numpy arrays → dtype, shape, order + the data buffer (``arrays``);
* pandas Series / DataFrame / Index → columns as arrays + dtype descriptions (``pandas_codec``);
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

import importlib
import inspect
import io
import pickle
import sys
import types

from . import arrays, pandas_codec, source

# Pickle protocol 4: the highest Python 3.7 reads (protocol 5 came with 3.8). Large buffers
# travel out of band through persistent ids (arrays, frames), so protocol 5's PickleBuffer
# would add nothing.
PROTOCOL = 4


class NotPortable(Exception):
    """A value refers to code defined in the notebook, and the two Pythons differ."""


def type_name(value):  # type: ignore[no-untyped-def]
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _special(obj, buffers):  # type: ignore[no-untyped-def]
    """The persistent id of ``obj`` (a tuple of plain data), or None for ordinary pickling."""
    kind = type(obj)
    module = kind.__module__
    if module not in sys.modules:
        _import_home(module)
    if kind is types.GeneratorType and inspect.getgeneratorstate(obj) == "GEN_CLOSED":
        # a spent generator (`list(G)` ran) is one that gives nothing: it crosses as one
        return ("spent-generator",)
    if module == "numpy":
        import numpy

        if isinstance(obj, numpy.ndarray) and kind is numpy.ndarray:
            meta, data = arrays.encode_array(obj)
            return ("ndarray", meta, _add(buffers, data))
        if isinstance(obj, numpy.generic):
            meta, data = arrays.encode_array(numpy.asarray(obj))
            return ("npscalar", meta, _add(buffers, data))
        return None
    if module.startswith("pandas") and pandas_codec.is_pandas(obj):
        meta, data = pandas_codec.encode_pandas(obj)
        return ("pandas", meta, _add(buffers, data))
    if module.startswith("pyarrow") and kind.__name__ in ("Table", "RecordBatch"):
        import pyarrow

        sink = pyarrow.BufferOutputStream()
        with pyarrow.ipc.new_stream(sink, obj.schema) as writer:
            writer.write(obj)
        return ("arrow", kind.__name__, _add(buffers, [sink.getvalue()]))
    return None


def _import_home(module):  # type: ignore[no-untyped-def]
    """Import the module a class says it lives in when its package is loaded but the module
    is not (numpy 2's ``numpy.rec``, loaded lazily): cloudpickle pickles by value a class
    whose module is not in ``sys.modules``, and the other side then gets a copy of the class
    (``np.recarray`` methods fail there: ``super(type, obj)``)."""
    if module.split(".")[0] in sys.modules:
        try:
            importlib.import_module(module)
        except Exception:  # not a module after all: the class pickles as it would
            pass


def _add(buffers, data):  # type: ignore[no-untyped-def]
    start = len(buffers)
    buffers.extend(data)
    return list(range(start, len(buffers)))


class _Encoding:
    """What one :func:`encode` call's pickler needs: plain instance attributes, so that the
    pickler holds the buffers without a reference cycle (a class made per call would close
    over them, and live until the cyclic garbage collector ran)."""

    def _setup(self, buffers, across, main_refs):  # type: ignore[no-untyped-def]
        self._buffers = buffers
        self._across = across
        self._main_refs = main_refs

    def persistent_id(self, obj):  # type: ignore[no-untyped-def]
        return _special(obj, self._buffers)

    def reducer_override(self, obj):  # type: ignore[no-untyped-def]
        if self._across and source.is_notebook_code(obj):
            if self._main_refs is None:
                what = "class" if isinstance(obj, type) else "function"
                raise NotPortable(
                    f"{what} {obj.__qualname__!r} is defined in the notebook; it can "
                    "cross only between equal Python versions"
                )
            self._main_refs.append((obj.__name__, obj))
            return NotImplemented  # by reference: __main__.<name>
        parent = super()
        if hasattr(parent, "reducer_override"):
            return parent.reducer_override(obj)  # type: ignore[attr-defined]
        return NotImplemented


_ENCODERS = {}  # type: dict[type, type]  # pickler base class -> its encoder class, made once


def _encoder_class(cloudpickle):  # type: ignore[no-untyped-def]
    base = cloudpickle.Pickler if cloudpickle is not None else pickle.Pickler
    kind = _ENCODERS.get(base)
    if kind is None:
        kind = _ENCODERS[base] = type("_Encoder", (_Encoding, base), {})
    return kind


def encode(value, buffers, cloudpickle=None, main_refs=None, protocol=PROTOCOL):  # type: ignore[no-untyped-def]
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
    protocol : int
        The pickle protocol: :data:`PROTOCOL`, or 2 for a Python 2 child (plain data only).

    Raises
    ------
    NotPortable
        For a notebook-defined function or class across versions, when ``main_refs`` is None.
    Exception
        Whatever pickling raises for an object that cannot be pickled.
    """
    stream = io.BytesIO()
    pickler = _encoder_class(cloudpickle)(stream, protocol=protocol)
    pickler._setup(buffers, cloudpickle is None, main_refs)
    try:
        pickler.dump(value)
    finally:
        pickler._setup(None, False, None)
    return stream.getvalue()


class _Decoder(pickle.Unpickler):
    """Loads what :func:`encode` wrote, with the buffers as an attribute (no cycle)."""

    def __init__(self, data, buffers):  # type: ignore[no-untyped-def]
        # a Python 2 child's str (not UTF-8 text) arrives as bytes (python2.py)
        super().__init__(io.BytesIO(data), encoding="bytes")
        self._buffers = buffers

    def _take(self, indices):  # type: ignore[no-untyped-def]
        return [self._buffers[i] for i in indices]

    def persistent_load(self, pid):  # type: ignore[no-untyped-def]
        kind = pid[0]
        if kind == "ndarray":
            return arrays.decode_array(pid[1], self._take(pid[2]))
        if kind == "npscalar":
            return arrays.decode_array(pid[1], self._take(pid[2]))[()]
        if kind == "pandas":
            return pandas_codec.decode_pandas(pid[1], self._take(pid[2]))
        if kind == "arrow":
            import pyarrow

            reader = pyarrow.ipc.open_stream(pyarrow.py_buffer(self._buffers[pid[2][0]]))
            table = reader.read_all()
            return table if pid[1] == "Table" else table.combine_chunks().to_batches()[0]
        if kind == "spent-generator":
            return _spent_generator()
        raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")


def _spent_generator():  # type: ignore[no-untyped-def]
    """A generator that has run to its end."""
    made = (item for item in ())
    for _ in made:
        pass
    return made


def decode(data, buffers):  # type: ignore[no-untyped-def]
    """Inverse of :func:`encode`; ``buffers`` as read back from the payload."""
    unpickler = _Decoder(data, buffers)
    try:
        return unpickler.load()
    finally:
        unpickler._buffers = None
