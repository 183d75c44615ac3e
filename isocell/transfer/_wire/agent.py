"""The child's side of a cell: load the inputs into its namespace, dump the outputs.

The notebook calls these through ``user_expressions`` of its execute requests (Jupyter
messaging protocol), so each returns a short JSON string. It runs in the child (any
CPython >= 3.8) as ``__isocell__.agent``.
"""

from __future__ import annotations

import json
import os
import sys
import types

from . import exchange

_state: dict = {"host": "", "digests": {}}


def _namespace():  # type: ignore[no-untyped-def]
    from IPython import get_ipython

    return get_ipython().user_ns


def _cloudpickle():  # type: ignore[no-untyped-def]
    if _state["host"] != "{}.{}".format(*sys.version_info[:2]):
        return None
    try:
        import cloudpickle
    except ImportError:
        return None
    return cloudpickle


def setup(host_minor):  # type: ignore[no-untyped-def]
    """Called once when the child starts; returns facts the notebook needs."""
    _state["host"] = host_minor
    return json.dumps(
        {
            "python": "{}.{}.{}".format(*sys.version_info[:3]),
            "executable": sys.executable,
            "cloudpickle": _cloudpickle() is not None,
            "pid": os.getpid(),
        }
    )


def load(path, candidates):  # type: ignore[no-untyped-def]
    """Decode the inputs in ``path`` (if any) into the namespace, all or nothing.

    ``candidates`` are inputs the cell may change in place: their fingerprints are taken now,
    to be compared by :func:`dump`.
    """
    namespace = _namespace()
    if path:
        try:
            exchange.Unpacked(path).apply(namespace)
        except exchange.CrossError as error:
            return json.dumps({"errors": {error.name: [error.type_name, error.reason]}})
    digests = _state["digests"]
    digests.clear()
    for name in candidates:
        if name in namespace:
            digests[name] = exchange.fingerprint(namespace[name])
    return json.dumps({"loaded": True})


def dump(path, names, candidates, deletes):  # type: ignore[no-untyped-def]
    """Encode the cell's outputs into ``path``; returns a JSON summary.

    ``names`` are bound by the cell; ``candidates`` are inputs it may have changed in place,
    sent back only if their fingerprint changed; ``deletes`` are names it may have deleted.
    """
    namespace = _namespace()
    values = {}
    unchanged = []
    for name in names:
        if name in namespace and not isinstance(namespace[name], types.ModuleType):
            values[name] = namespace[name]
    for name in candidates:
        if name in values or name not in namespace:
            continue
        before = _state["digests"].get(name)
        if before is not None and before == exchange.fingerprint(namespace[name]):
            unchanged.append(name)
        else:
            values[name] = namespace[name]
    try:
        exchange.pack(path, values, _cloudpickle(), namespace)
    except exchange.CrossError as error:
        return json.dumps({"errors": {error.name: [error.type_name, error.reason]}})
    absent = [name for name in deletes if name not in namespace]
    return json.dumps({"written": sorted(values), "unchanged": unchanged, "deleted": absent})
