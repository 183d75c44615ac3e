"""A set of named variables in one payload file, and back into a namespace, all or nothing.

The header of the payload (see ``payload_file``) holds::

    {"items": {name: ENTRY}, "globals": {name: ENTRY}, "definitions": [[name, source], ...]}

where ``ENTRY`` is ``["module", module_name, False]``, ``["value", pickle_bytes, late]`` or
``["same", other_name, False]`` (the very object sent under another name: one object arrives).
``items`` are the variables sent; ``globals`` the other values that shipped definitions read;
``definitions`` the notebook functions and classes that travel as source (across Python
versions), ordered so that each comes after what it needs. A ``late`` value refers to such a
definition and is decoded after the definitions have run.

This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

import hashlib
import importlib
import types

from . import codec, in_place, payload_file, rehome, source

_MISSING = object()


class CrossError(Exception):
    """A variable cannot be encoded or decoded; carries its name, type and the reason."""

    def __init__(self, name, type_name, reason):  # type: ignore[no-untyped-def]
        super().__init__(name, type_name, reason)
        self.name, self.type_name, self.reason = name, type_name, reason

    def __str__(self):  # type: ignore[no-untyped-def]
        return f"{self.name} ({self.type_name}): {self.reason}"


def fingerprint(value):  # type: ignore[no-untyped-def]
    """A digest of ``value`` as it is now (its encoding and buffers, hashed in place), or None.

    Compared within one process only, to tell whether a cell changed a value in place, so
    the hash need only be fast and wide: xxHash's XXH3-128 (~25 GB/s here) where the side has
    ``xxhash``, else SHA-256 (~1.8 GB/s with SHA extensions).
    """
    try:
        import xxhash

        digest = xxhash.xxh3_128()
    except ImportError:
        digest = hashlib.sha256()

    # Encoded as for a transfer, so numpy, pandas and Arrow data are hashed where they lie.
    buffers: list = []
    try:
        digest.update(codec.encode(value, buffers, None, []))
    except Exception:
        return None
    for buffer in buffers:
        view = memoryview(buffer)
        digest.update(view if view.contiguous else view.tobytes())
    return digest.digest()


def _entry(name, value, buffers, cloudpickle, refs, held=None, protocol=codec.PROTOCOL):  # type: ignore[no-untyped-def]
    if isinstance(value, types.ModuleType):
        return ["module", value.__name__, False]
    found = [] if cloudpickle is None else None
    try:
        data = codec.encode(value, buffers, cloudpickle, found, protocol)
    except Exception as error:
        if held is None:
            raise CrossError(
                name, codec.type_name(value), f"{type(error).__name__}: {error}"
            ) from None
        held[name] = [codec.type_name(value), f"{type(error).__name__}: {error}"]
        return None
    refs.extend(found or [])
    return ["value", data, bool(found)]


def pack(path, values, cloudpickle, namespace, held=None, protocol=codec.PROTOCOL):  # type: ignore[no-untyped-def]
    """Write ``values`` (a dict) to the payload file ``path``.

    Parameters
    ----------
    cloudpickle : module or None
        cloudpickle when both sides run the same Python (code goes by value); None across
        versions (notebook code goes as source, found in ``namespace``).
    namespace : dict
        The namespace notebook code is defined in.
    held : dict or None
        Receives ``name: [type name, reason]`` for each value of ``values`` that cannot be
        encoded (a generator, a lock, a connection), which is then left out; None: raise.
    protocol : int
        The pickle protocol (:data:`codec.PROTOCOL`; 2 for a Python 2 child).

    Raises
    ------
    CrossError
        Naming the first variable that cannot be encoded (with ``held`` None), or notebook
        code whose source cannot be found.
    """
    buffers: list = []
    refs: list = []
    items = {}
    first: dict = {}  # id -> the first name of each object: one object, one encoding
    for name, value in values.items():
        if id(value) in first and not isinstance(value, types.ModuleType):
            items[name] = ["same", first[id(value)], False]
            continue
        entry = _entry(name, value, buffers, cloudpickle, refs, held, protocol)
        if entry is not None:
            items[name] = entry
            first[id(value)] = name
    definitions: list = []
    extra: dict = {}
    defined = set()
    while refs:
        pending, refs = refs, []
        try:
            found, needed = source.collect(pending, namespace)
        except source.NoSource as error:
            raise CrossError(error.name, "notebook code", str(error)) from None
        for name, text in found:
            if name not in defined:
                defined.add(name)
                definitions.append([name, text])
        for name, value in needed.items():
            if name not in items and name not in extra:
                extra[name] = _entry(name, value, buffers, cloudpickle, refs, None, protocol)
        refs = [(name, obj) for name, obj in refs if name not in defined]
    header = {"items": items, "globals": extra, "definitions": definitions}
    return payload_file.write_payload(path, header, buffers, protocol)


class Unpacked:
    """A payload read back, not yet decoded into any namespace."""

    def __init__(self, path):  # type: ignore[no-untyped-def]
        header, self.buffers = payload_file.read_payload(path)
        self.items = header["items"]
        self.globals = header["globals"]
        self.definitions = header["definitions"]

    def _decode(self, name, entry):  # type: ignore[no-untyped-def]
        kind, data, _late = entry
        try:
            if kind == "module":
                return importlib.import_module(data)
            return codec.decode(data, self.buffers)
        except Exception as error:
            raise CrossError(name, kind, f"{type(error).__name__}: {error}") from None

    def _decode_item(self, name, entry, group, held):  # type: ignore[no-untyped-def]
        """:meth:`_decode`; for an item (not a global) that fails, noted in ``held``."""
        try:
            return self._decode(name, entry)
        except CrossError as error:
            if held is None or group is not self.items:
                raise
            what = f"module {entry[1]}" if entry[0] == "module" else "value"
            held[name] = [what, error.reason]
            return None

    def apply(self, namespace, bind=True, held=None, changed=(), child=True):  # type: ignore[no-untyped-def]
        """Decode everything; bind globals and definitions (and items, if ``bind``).

        Notebook functions cloudpickle rebuilt get ``namespace`` as their globals
        (:mod:`rehome`); in the ``child``, the globals they carried replace the namespace's.

        Returns the decoded items as a dict. An item of ``changed`` (a value the cell changed
        in place) updates the object ``namespace`` has in place where it can
        (:func:`in_place.update`: its aliases and a NumPy view's base see the change).
        ``held``, a dict, receives ``name: [kind, reason]`` for each item that does not
        decode here (its class or module is missing on this side), which is then left out;
        with ``held`` None that is a failure. On any failure, every name this call bound in
        ``namespace`` gets its previous value back (or is removed) and :class:`CrossError` is
        raised.
        """
        previous = {}

        def bind_name(name, value):  # type: ignore[no-untyped-def]
            if name not in previous:
                previous[name] = namespace.get(name, _MISSING)
            namespace[name] = value

        try:
            decoded = {}
            for group in (self.globals, self.items):
                for name, entry in group.items():
                    if not entry[2] and entry[0] != "same":
                        decoded[name] = self._decode_item(name, entry, group, held)
            for name in self.globals:
                if name in decoded:
                    bind_name(name, decoded.pop(name))
            for name, text in self.definitions:
                if source.unchanged(namespace.get(name), text):
                    continue  # the same definition: keep the object its instances refer to
                previous.setdefault(name, namespace.get(name, _MISSING))
                try:
                    source.define(name, text, namespace)
                except Exception as error:
                    raise CrossError(
                        name, "definition", f"{type(error).__name__}: {error}"
                    ) from None
            for name, entry in self.globals.items():
                if entry[2]:
                    bind_name(name, self._decode(name, entry))
            for name, entry in self.items.items():
                if entry[2]:
                    decoded[name] = self._decode_item(name, entry, self.items, held)
            for name, entry in self.items.items():
                if entry[0] == "same" and held is not None and entry[1] in held:
                    held[name] = held[entry[1]]
                elif entry[0] == "same":
                    decoded[name] = decoded[entry[1]]
            for name in held or ():
                decoded.pop(name, None)
            for name, value in decoded.items():
                decoded[name] = rehome.rehome(value, namespace, child)
            if bind:
                for name, value in decoded.items():
                    if name in changed and in_place.update(namespace.get(name), value):
                        decoded[name] = namespace[name]
                    else:
                        bind_name(name, value)
            return decoded
        except BaseException:
            for name, value in previous.items():
                if value is _MISSING:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
            raise
