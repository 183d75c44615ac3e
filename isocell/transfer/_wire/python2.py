"""The child's side of a cell on Python 2.7: the agent's calls, for plain data only.

A Python 2.7 child (ipykernel 4.10, the last for Python 2) runs this module from source as
``__isocell__.agent``, in place of :mod:`agent`, whose codec needs Python 3. It answers the
same calls (``setup``, ``load``, ``dump``, ``advance``, ``fetch``, ``last_error``) with the
same JSON summaries, and reads and writes the same payload file (:mod:`payload_file`'s
layout, without out-of-band buffers), pickled with protocol 2, the highest Python 2 reads.

Only plain data crosses: None, bool, int and long, float, complex, str, unicode, bytearray,
and lists, tuples, dicts, sets and frozensets of them. Strings map as a Python 3 user of the
notebook expects: the notebook's ``str`` arrives as ``unicode`` and its ``bytes`` as ``str``;
a Python 2 ``unicode`` returns as ``str``, and a Python 2 ``str`` as ``str`` when it is
UTF-8 text (a non-ASCII literal of the cell, which IPython compiles as UTF-8), else as
``bytes``. A ``long`` returns as ``int``. Any other value stays in the child, named in the
summary's ``held`` as a Python 3 child's unpicklable values are; an input of another kind is
refused by the notebook.

Runs on Python 2.7 (and, for the notebook's linters, on Python 3): no f-strings, no
annotations.
"""

import hashlib
import json
import os
import pickle
import struct
import sys
import types

try:
    from . import iteration, rebinding
except (ImportError, ValueError):  # run as a script, beside them (an exported task's child)
    import iteration  # type: ignore[no-redef]
    import rebinding  # type: ignore[no-redef]

PROTOCOL = 2
_MAGIC = b"ISOCELL1"
_PREFIX = struct.Struct("<8sQ")
_TEXT = type(b"".decode("ascii"))  # unicode on Python 2
_LONG = type(2**64)  # long on Python 2
_SCALARS = (type(None), bool, int, _LONG, float, complex, _TEXT, bytes, bytearray)
_CONTAINERS = (list, tuple, set, frozenset)
_state = {"secrets": [], "digests": {}}  # type: dict
_BEFORE = rebinding.Before()


class NotPlain(Exception):
    """A value holds something other than plain data."""


def _namespace():  # type: ignore[no-untyped-def]
    from IPython import get_ipython

    return get_ipython().user_ns


def setup(host_minor):  # type: ignore[no-untyped-def]
    """Called once when the child starts: what :func:`agent.setup` answers."""
    from IPython import get_ipython

    shell = get_ipython()
    shell.show_usage_error = lambda error: None
    shell.events.register("pre_run_cell", _before_cell)
    _mask_streams()
    return json.dumps(
        {
            "python": "%d.%d.%d" % tuple(sys.version_info[:3]),
            "executable": sys.executable,
            "cloudpickle": False,
            "pid": os.getpid(),
            "inline": False,
        }
    )


def _before_cell(*_):  # type: ignore[no-untyped-def]
    _BEFORE.keep(_namespace(), None)


def _to_notebook(value, depth=0):  # type: ignore[no-untyped-def]
    """``value`` with every Python 2 ``str`` that is UTF-8 text made ``unicode``.

    Raises
    ------
    NotPlain
        For anything but plain data.
    """
    if depth > 200:
        raise NotPlain("it is nested deeper than 200 levels")
    kind = type(value)
    if kind is bytes and bytes is str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if kind in _SCALARS:
        return value
    if kind is dict:
        return dict(
            (_to_notebook(k, depth + 1), _to_notebook(v, depth + 1)) for k, v in value.items()
        )
    if kind in _CONTAINERS:
        return kind(_to_notebook(item, depth + 1) for item in value)
    raise NotPlain(
        "only plain data crosses from Python 2 (None, bool, int, float, complex, str, "
        "unicode, bytearray and lists, tuples, dicts and sets of them); this holds a %s.%s"
        % (kind.__module__, kind.__name__)
    )


def _type_name(value):  # type: ignore[no-untyped-def]
    kind = type(value)
    module = "builtins" if kind.__module__ == "__builtin__" else kind.__module__
    return "%s.%s" % (module, kind.__name__)


def _u(text):  # type: ignore[no-untyped-def]
    """``text`` as unicode on Python 2 (a Python 3 reader then gets ``str``, not ``bytes``)."""
    return text.decode("utf-8") if isinstance(text, bytes) else text


def _header(items):  # type: ignore[no-untyped-def]
    return {_u("items"): items, _u("globals"): {}, _u("definitions"): []}


def _read(path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as handle:
        data = handle.read()
    magic, length = _PREFIX.unpack_from(data, 0)
    if magic != _MAGIC:
        raise ValueError("not an isocell payload (magic %r)" % (magic,))
    header = pickle.loads(data[_PREFIX.size : _PREFIX.size + length])
    return header["items"]


def _write(path, items):  # type: ignore[no-untyped-def]
    header = {_u("items"): items, _u("buffers"): []}
    data = pickle.dumps(header, PROTOCOL)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(_PREFIX.pack(_MAGIC, len(data)))
        handle.write(data)


def _pack(path, values, held):  # type: ignore[no-untyped-def]
    items = {}
    for name, value in values.items():
        key = _u(name)
        if isinstance(value, types.ModuleType):
            items[key] = [_u("module"), _u(value.__name__), False]
            continue
        try:
            items[key] = [_u("value"), pickle.dumps(_to_notebook(value), PROTOCOL), False]
        except NotPlain as error:
            held[name] = [_type_name(value), str(error)]
    _write(path, _header(items))


def _fingerprint(value):  # type: ignore[no-untyped-def]
    try:
        return hashlib.sha256(pickle.dumps(value, PROTOCOL)).hexdigest()
    except Exception:
        return None


def follow(changes):  # type: ignore[no-untyped-def]
    """Follow the notebook's working folder, environment variables and forgotten names."""
    if changes.get("cwd"):
        try:
            os.chdir(changes["cwd"])
        except OSError:
            pass
    for name, value in changes.get("set", {}).items():
        os.environ[str(name)] = value.encode("utf-8") if isinstance(value, _TEXT) else value
    for name in changes.get("unset", []):
        os.environ.pop(str(name), None)
    namespace = _namespace()
    for name in changes.get("forget", []):
        namespace.pop(name, None)


def load(path, candidates, secrets=(), changes=None):  # type: ignore[no-untyped-def]
    """Decode the inputs in ``path`` (if any) into the namespace, all or nothing; take the
    fingerprints of ``candidates``; hide ``secrets`` from the child's output from now on."""
    _state["secrets"] = sorted(set(_state["secrets"]) | set(secrets), key=len, reverse=True)
    follow(changes or {})
    namespace = _namespace()
    if path:
        namespace.update(_decoded(_read(path)))
    digests = _state["digests"]
    digests.clear()
    for name in candidates:
        if name in namespace:
            digests[name] = _fingerprint(namespace[name])
    _BEFORE.keep(namespace, None)
    return json.dumps({"loaded": True})


def _decoded(items):  # type: ignore[no-untyped-def]
    """The values of a payload's ``items`` (see :mod:`exchange`), by name."""
    decoded = {}
    for name, (kind, data, _late) in items["items"].items():
        if kind == "module":
            decoded[str(name)] = __import__(str(data), fromlist=["_"])
        elif kind == "value":
            decoded[str(name)] = pickle.loads(data)
    for name, (kind, other, _late) in items["items"].items():
        if kind == "same":
            decoded[str(name)] = decoded[str(other)]
    return decoded


def dump(path, names, candidates, deletes, fallback="", star_modules=(), failed=False):  # type: ignore[no-untyped-def]
    """Encode the cell's outputs into ``path``: :func:`agent.dump`'s summary; a value that is
    not plain data is ``held`` (it stays here)."""
    namespace = _namespace()
    values, unchanged = rebinding.outputs(
        _BEFORE, namespace, names, candidates, _state["digests"], _fingerprint, failed
    )
    held = {}
    _pack(path, values, held)
    summary = {
        "written": sorted(name for name in values if name not in held),
        "unchanged": unchanged,
        "deleted": [name for name in deletes if name not in namespace],
        "held": held,
        "kept": {},
        "settings": {},
        "views": {},
        "path": path,
        "secrets": [],
    }
    return json.dumps(summary)


def advance(path, name, mode):  # type: ignore[no-untyped-def]
    """One step of iterating over the value held here as ``name``: :func:`agent.advance`."""
    iterations = _state.setdefault("iterations", {})
    item, answer = iteration.step(_namespace(), iterations, name, mode)
    if answer is not None:
        return json.dumps(answer)
    held = {}
    _pack(path, {"item": item}, held)
    return json.dumps({"held": held})


def fetch(path, names):  # type: ignore[no-untyped-def]
    """Nothing is kept here for later (a Python 2 child keeps no figures): all ``missing``."""
    _write(path, _header({}))
    return json.dumps({"missing": list(names)})


def last_error(path):  # type: ignore[no-untyped-def]
    """The class of the exception of the cell that just failed (``module``, ``qualname``,
    ``bases``), a builtin one under ``builtins`` as in Python 3; the exception itself is
    not sent (``packed`` false): the notebook makes one of that class from its message."""
    error = getattr(sys, "last_value", None)
    if error is None:
        return json.dumps({})

    def named(kind):  # type: ignore[no-untyped-def]
        module = kind.__module__
        return ("builtins" if module in ("exceptions", "__builtin__") else module), kind.__name__

    module, name = named(type(error))
    bases = ["%s.%s" % named(kind) for kind in type(error).__mro__]
    return json.dumps({"module": module, "qualname": name, "bases": bases, "packed": False})


class _MaskedStream(object):
    """A stream that writes the secrets the notebook sent as ``***`` (Airflow's masking)."""

    def __init__(self, stream):  # type: ignore[no-untyped-def]
        self._stream = stream

    def write(self, text):  # type: ignore[no-untyped-def]
        for secret in _state["secrets"]:
            if len(secret) >= 5 and secret in text:
                text = text.replace(secret, "***")
        return self._stream.write(text)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._stream, name)


def _mask_streams():  # type: ignore[no-untyped-def]
    if not isinstance(sys.stdout, _MaskedStream):
        sys.stdout = _MaskedStream(sys.stdout)
    if not isinstance(sys.stderr, _MaskedStream):
        sys.stderr = _MaskedStream(sys.stderr)


def main(arguments):  # type: ignore[no-untyped-def]
    """An exported task's child on Python 2.7 (``python python2.py IN SCRIPT OUT WHERE
    NAME...``, see ``isocell_runtime.legacy``): load the inputs of the payload ``IN``, run the
    cell in ``SCRIPT`` (UTF-8, compiled as ``WHERE``), write the ``NAME``s it bound to the
    payload ``OUT``. Exit status 1 if the cell raised (its traceback on stderr), 2 if a value
    is not plain data."""
    import io
    import traceback

    sent, script, returned, where = arguments[:4]
    namespace = {"__name__": "__main__"}
    namespace.update(_decoded(_read(sent)))
    with io.open(script, encoding="utf-8") as handle:  # open() has no encoding on 2.7
        code = compile(handle.read(), where, "exec")
    try:
        exec(code, namespace)
    except BaseException:
        traceback.print_exc()
        return 1
    held = {}
    _pack(returned, dict((n, namespace[n]) for n in arguments[4:] if n in namespace), held)
    for name, (kind, reason) in sorted(held.items()):
        sys.stderr.write("isocell: %s (%s) cannot leave Python 2: %s\n" % (name, kind, reason))
    return 2 if held else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
