"""The notebook side of the transfer: the wire package for children, and one codec per child.

Scope, stated as cloudpickle states its own:

* numpy arrays, pandas objects and pyarrow tables cross between any versions of those
  libraries and of Python, as metadata plus raw buffers (``_wire.arrays``, ``_wire.frames``);
  a type the receiver lacks arrives as its closest equivalent and returns as it left;
* other values cross as pickle protocol 5 when their classes exist on both sides (plain data,
  datetime, Decimal, UUID, Path, Enum, dataclass and namedtuple instances);
* functions and classes defined in the notebook cross as cloudpickle bytes between equal
  Python versions, and as source (with the globals they read) between different ones;
* anything else raises :class:`~isocell.errors.TransferError` naming the variable.

Payloads are files in ``/dev/shm`` (memory, where the system has it; else the temporary
folder), never inside a Jupyter message; the notebook side creates and removes each one, and
removes those left by notebook kernels that died.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from isocell.errors import TransferError
from isocell.transfer import _wire
from isocell.transfer._wire import exchange

__all__ = ["WIRE_SOURCES", "Codec", "host_minor", "payload_path", "remove_stale_payloads"]

# The wire modules in the order they import each other; each child runs them from source.
_WIRE_ORDER = (
    "framing",
    "arrays",
    "restore",
    "frames",
    "source",
    "codec",
    "exchange",
    "variables",
    "agent",
)
WIRE_SOURCES = [
    (name, (Path(_wire.__file__).parent / f"{name}.py").read_text(encoding="utf-8"))
    for name in _WIRE_ORDER
]

_counter = itertools.count()
_PREFIX = "isocell-"


def _scratch_dir() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


@contextlib.contextmanager
def payload_path(purpose: str) -> Iterator[Path]:
    """A fresh path for one payload file, removed on exit whatever happened.

    Named ``isocell-<pid>-<n>-<purpose>``: :func:`remove_stale_payloads` tells a dead
    notebook kernel's leftovers by the pid.
    """
    path = _scratch_dir() / f"{_PREFIX}{os.getpid()}-{next(_counter)}-{purpose}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def remove_stale_payloads() -> list[Path]:
    """Delete payload files whose notebook kernel no longer runs; returns what was removed."""
    removed = []
    for path in _scratch_dir().glob(f"{_PREFIX}*-*-*"):
        try:
            pid = int(path.name[len(_PREFIX) :].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            removed.append(path)
        except (ValueError, PermissionError, OSError):
            continue
    return removed


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
        self.cloudpickle: Any = None
        if self.same_python and child_has_cloudpickle:
            import cloudpickle

            self.cloudpickle = cloudpickle

    def write_inputs(
        self, path: Path, values: Mapping[str, Any], namespace: Mapping[str, Any]
    ) -> None:
        """Encode ``values`` into the payload file ``path``.

        Raises
        ------
        TransferError
            Naming the first variable that cannot cross, and why.
        """
        try:
            exchange.pack(path, dict(values), self.cloudpickle, namespace)
        except exchange.CrossError as error:
            raise _transfer_error(error, "cannot be sent to the child") from None

    def read_outputs(self, path: Path) -> exchange.Unpacked:
        """Map the payload ``path``; decode it into a namespace later with :func:`apply_outputs`."""
        return exchange.Unpacked(path)


def apply_outputs(unpacked: exchange.Unpacked, namespace: dict[str, Any]) -> dict[str, Any]:
    """Decode and bind everything in ``unpacked``, all or nothing.

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
            return unpacked.apply(namespace)
    except exchange.CrossError as error:
        raise TransferError(
            error.name,
            error.type_name,
            f"it cannot be loaded in the notebook ({error.reason}). Convert it to plain data "
            "in the cell, or leave it out with --out",
        ) from None
