"""The notebook side of the transfer: the wire package for children, and one codec per child.

Scope, stated as cloudpickle states its own:

* numpy arrays, pandas objects and pyarrow tables cross between any versions of those
  libraries and of Python, as metadata plus raw buffers (``_wire.arrays``, ``_wire.pandas_codec``);
  a type the receiver lacks arrives as its closest equivalent and returns as it left;
* other values cross as pickle protocol 5 when their classes exist on both sides (plain data,
  datetime, Decimal, UUID, Path, Enum, dataclass and namedtuple instances);
* functions and classes defined in the notebook cross as cloudpickle bytes between equal
  Python versions, and as source (with the globals they read) between different ones;
* anything else raises :class:`~isocell.errors.TransferError` naming the variable.

Payloads are files in the notebook kernel's private scratch folder (:mod:`._scratch`: in
``/dev/shm``, memory, where the system has it; on disk when that has no room), never inside a
Jupyter message; the notebook side creates and removes each one, and removes those left by
notebook kernels that died.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from isocell.errors import TransferError
from isocell.transfer import _wire
from isocell.transfer._scratch import NO_ROOM, remove_stale, scratch
from isocell.transfer._wire import exchange

__all__ = [
    "PYTHON2_SOURCES",
    "WIRE_MODULES",
    "WIRE_SOURCES",
    "Codec",
    "host_minor",
    "payload_path",
    "remove_stale_payloads",
]

#: The wire modules in the order they import each other; each child runs them from source,
#: and an export copies all but ``agent`` into the DAG folder's ``isocell_runtime``.
WIRE_MODULES = (
    "payload_file",
    "arrays",
    "restore",
    "pandas_columns",
    "pandas_encoding",
    "pandas_codec",
    "source",
    "codec",
    "in_place",
    "rehome",
    "exchange",
    "masking",
    "variables",
    "settings",
    "views",
    "rebinding",
    "kept",
    "iteration",
    "agent",
)
WIRE_SOURCES = [
    (name, (Path(_wire.__file__).parent / f"{name}.py").read_text(encoding="utf-8"))
    for name in WIRE_MODULES
]
#: What a Python 2 child runs instead: ``python2`` as its agent, plain data only.
PYTHON2_SOURCES = [
    ("rebinding", dict(WIRE_SOURCES)["rebinding"]),
    ("iteration", dict(WIRE_SOURCES)["iteration"]),
    ("agent", (Path(_wire.__file__).parent / "python2.py").read_text(encoding="utf-8")),
]
#: The kinds of plain data a Python 2 child takes (``_wire.python2``); containers are looked into.
_PLAIN = (type(None), bool, int, float, complex, str, bytes, bytearray)
_PLAIN_CONTAINERS = (list, tuple, dict, set, frozenset)


@contextlib.contextmanager
def payload_path(purpose: str) -> Iterator[Path]:
    """A fresh path for one payload file in the private scratch folder, removed on exit
    whatever happened (and its twin on disk, see :meth:`ScratchSpace.twin`)."""
    path = scratch.payload(purpose)
    try:
        yield path
    finally:
        scratch.discard(path)


def remove_stale_payloads() -> list[Path]:
    """Delete the scratch folders of notebook kernels that no longer run (:func:`remove_stale`)."""
    return remove_stale()


def host_minor() -> str:
    """The notebook's Python ``major.minor``."""
    return "{}.{}".format(*sys.version_info[:2])


def _transfer_error(error: exchange.CrossError, what: str) -> TransferError:
    return TransferError(error.name, error.type_name, f"it {what}: {error.reason}")


class Codec:
    """Encodes inputs for one child and reads back what it returns.

    Parameters
    ----------
    child_python : str
        The child's Python version (``"3.9.18"``).
    child_has_cloudpickle : bool
        Whether cloudpickle imports in the child.
    """

    def __init__(self, child_python: str, child_has_cloudpickle: bool) -> None:
        self.child_minor = ".".join(child_python.split(".")[:2])
        self.same_python = self.child_minor == host_minor()
        #: A Python 2 child takes plain data only, pickled with protocol 2.
        self.python2 = child_python.startswith("2.")
        self.protocol = 2 if self.python2 else exchange.codec.PROTOCOL
        self.cloudpickle: Any = None
        if self.same_python and child_has_cloudpickle:
            import cloudpickle

            self.cloudpickle = cloudpickle

    def write_inputs(
        self, path: Path, values: Mapping[str, Any], namespace: Mapping[str, Any]
    ) -> Path:
        """Encode ``values`` into the payload file ``path``, or into its twin on disk when
        ``path``'s file system has no room; the path written.

        Raises
        ------
        TransferError
            Naming the first variable that cannot cross, and why; or the variables, when
            there is no room for them anywhere.
        """
        if self.python2:
            for name, value in values.items():
                _check_plain(name, value)
        try:
            try:
                return self._pack(path, values, namespace)
            except OSError as error:
                if error.errno not in NO_ROOM:
                    raise
            return self._pack(scratch.twin(path), values, namespace)
        except exchange.CrossError as error:
            raise _transfer_error(error, "cannot be sent to the child") from None
        except OSError as error:
            if error.errno not in NO_ROOM:
                raise
            raise TransferError(
                ", ".join(sorted(values)),
                "payload",
                f"there is no room to send it, in memory or on disk ({error.strerror or error})."
                " Free space there, set ISOCELL_SCRATCH_DIR (memory) or TMPDIR (disk) to a "
                "larger folder, or send less (--in)",
            ) from None

    def _pack(self, path: Path, values: Mapping[str, Any], namespace: Mapping[str, Any]) -> Path:
        """Write the payload at ``path``; a half-written file is removed."""
        try:
            exchange.pack(path, dict(values), self.cloudpickle, namespace, None, self.protocol)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def read_outputs(self, path: Path) -> exchange.Unpacked:
        """Map the payload ``path``; decode it into a namespace later with :func:`apply_outputs`."""
        return exchange.Unpacked(path)


def _check_plain(name: str, value: Any) -> None:
    """Raise :class:`TransferError` unless ``value`` is plain data a Python 2 child takes:
    None, bool, int, float, complex, str, bytes, bytearray, or lists, tuples, dicts, sets and
    frozensets of them (exact types: a subclass's class may not exist in Python 2), or a
    module (imported there by name)."""
    if isinstance(value, ModuleType):
        return
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind in _PLAIN:
            continue
        if kind in _PLAIN_CONTAINERS:
            if id(item) not in seen:  # a container holding itself is walked once
                seen.add(id(item))
                pending.extend([*item, *item.values()] if kind is dict else item)
            continue
        what = f"{kind.__module__}.{kind.__qualname__}"
        raise TransferError(
            name,
            f"{type(value).__module__}.{type(value).__qualname__}",
            f"it cannot be sent to a Python 2 child, which takes plain data only (None, bool, "
            f"int, float, complex, str, bytes, bytearray and lists, tuples, dicts and sets of "
            f"them); it holds a {what}. Convert it in the notebook (.tolist(), "
            f".to_dict()), or leave it out with --in",
        )


def apply_outputs(
    unpacked: exchange.Unpacked,
    namespace: dict[str, Any],
    held: dict[str, list[str]] | None = None,
    changed: Collection[str] = (),
) -> dict[str, Any]:
    """Decode and bind everything in ``unpacked``, all or nothing; the values of ``changed``
    (changed in place by the cell) update the notebook's objects in place where they can.

    ``held``, a dict, receives ``name: [what, reason]`` for each value that does not load in
    the notebook (its class or module is only on the child's side), which is left out and
    stays in the child; with ``held`` None that is an error.

    Raises
    ------
    TransferError
        Naming the first variable that cannot be loaded in the notebook; the namespace is
        as it was.
    """
    try:
        with warnings.catch_warnings():
            # numpy 2 loads numpy 1 pickles through deprecated aliases and warns each time.
            warnings.simplefilter("ignore", DeprecationWarning)
            return unpacked.apply(namespace, held=held, changed=frozenset(changed), child=False)
    except exchange.CrossError as error:
        raise TransferError(
            error.name,
            error.type_name,
            f"it cannot be loaded in the notebook ({error.reason}). Convert it to plain data "
            "in the cell, or leave it out with --out",
        ) from None
