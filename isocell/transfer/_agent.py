"""The child side of the transfer: loads inputs into the child's namespace, dumps outputs.

This module's *source* is sent to every child kernel and executed there as the module
``__isocell__`` (it is not imported from an installed isocell: the child's environment does not
have isocell). So it must run on every CPython >= 3.8 with the standard library alone;
cloudpickle is used when the child has it.

Payload files hold one pickle (protocol 5, which Python 3.8 and newer read): a dict
``{"items": {name: (kind, data)}}`` where ``kind`` is ``"pickle"``, ``"cloudpickle"`` or
``"module"`` and ``data`` the pickled bytes (or the module name). Each variable is pickled on
its own, so an error names the variable.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pickle
import sys
import types

PROTOCOL = 5

# Digest of the bytes each input arrived as: a mutation candidate whose re-encoding gives the
# same digest was not changed by the cell and is not sent back.
_received = {}  # type: dict
_host_minor = ""


class NotPortable(Exception):
    """A value refers to code defined in the notebook and the Pythons differ."""


class _PortablePickler(pickle.Pickler):
    # Plain pickle stores functions and classes by reference; one defined in the notebook
    # (``__main__``) would be looked up in the *other* side's __main__: refuse it instead.
    def reducer_override(self, obj):  # type: ignore[no-untyped-def]
        if (
            isinstance(obj, (types.FunctionType, type))
            and getattr(obj, "__module__", "") == "__main__"
        ):
            what = "class" if isinstance(obj, type) else "function"
            raise NotPortable(
                f"{what} {obj.__qualname__!r} is defined in the notebook; it can cross only "
                "between equal Python versions"
            )
        return NotImplemented


def _type_name(value):  # type: ignore[no-untyped-def]
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _cloudpickle():  # type: ignore[no-untyped-def]
    try:
        import cloudpickle
    except ImportError:
        return None
    return cloudpickle


def same_python(other_minor):  # type: ignore[no-untyped-def]
    return other_minor == "{}.{}".format(*sys.version_info[:2])


def encode(value, same, cloudpickle):  # type: ignore[no-untyped-def]
    """Return ``(kind, data)`` for one value; raises on what cannot cross."""
    if isinstance(value, types.ModuleType):
        return "module", value.__name__
    if same and cloudpickle is not None:
        return "cloudpickle", cloudpickle.dumps(value, protocol=PROTOCOL)
    buffer = io.BytesIO()
    _PortablePickler(buffer, protocol=PROTOCOL).dump(value)
    return "pickle", buffer.getvalue()


def decode(kind, data):  # type: ignore[no-untyped-def]
    if kind == "module":
        return importlib.import_module(data)
    return pickle.loads(data)


def write_payload(path, items):  # type: ignore[no-untyped-def]
    with open(path, "wb") as handle:
        pickle.dump({"items": items}, handle, protocol=PROTOCOL)


def read_payload(path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as handle:
        return pickle.load(handle)["items"]


def _digest(kind, data):  # type: ignore[no-untyped-def]
    return hashlib.blake2b(data.encode() if kind == "module" else data).digest()


def _namespace():  # type: ignore[no-untyped-def]
    from IPython import get_ipython

    return get_ipython().user_ns


def setup(host_minor):  # type: ignore[no-untyped-def]
    """Called once when the child starts; returns facts the host needs, as JSON."""
    global _host_minor
    _host_minor = host_minor
    return json.dumps(
        {
            "python": "{}.{}.{}".format(*sys.version_info[:3]),
            "executable": sys.executable,
            "cloudpickle": _cloudpickle() is not None,
            "pid": os.getpid(),
        }
    )


def load(path):  # type: ignore[no-untyped-def]
    """Decode the inputs in ``path`` into the namespace; all or nothing. Returns JSON."""
    items = read_payload(path)
    values = {}
    errors = {}
    for name, (kind, data) in items.items():
        try:
            values[name] = decode(kind, data)
        except Exception as error:  # any failure is reported with the variable's name
            errors[name] = ["?", f"{type(error).__name__}: {error}"]
    if errors:
        return json.dumps({"errors": errors})
    _namespace().update(values)
    for name, (kind, data) in items.items():
        _received[name] = _digest(kind, data)
    return json.dumps({"loaded": sorted(values)})


def dump(path, names, candidates, deletes):  # type: ignore[no-untyped-def]
    """Encode the cell's outputs into ``path``. Returns a JSON summary.

    ``names`` are bound by the cell; ``candidates`` are inputs it may have mutated, returned
    only if their encoding changed; ``deletes`` are names the cell may have deleted.
    """
    namespace = _namespace()
    same = same_python(_host_minor)
    cloudpickle = _cloudpickle()
    items = {}
    errors = {}
    unchanged = []
    for name in list(names) + [n for n in candidates if n not in names]:
        if name not in namespace:
            continue
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            continue
        try:
            kind, data = encode(value, same, cloudpickle)
        except Exception as error:
            errors[name] = [_type_name(value), f"{type(error).__name__}: {error}"]
            continue
        if name not in names:
            if _received.get(name) == _digest(kind, data):
                unchanged.append(name)
                continue
        items[name] = (kind, data)
    if errors:
        return json.dumps({"errors": errors})
    write_payload(path, items)
    for name, (kind, data) in items.items():
        _received[name] = _digest(kind, data)
    absent = [name for name in deletes if name not in namespace]
    for name in absent:
        _received.pop(name, None)
    return json.dumps({"written": sorted(items), "unchanged": unchanged, "deleted": absent})
