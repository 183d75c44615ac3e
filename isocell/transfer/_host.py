"""The notebook side of the transfer: encode inputs for a child, decode what it returns.

Scope (stated as cloudpickle states its own): plain Python data (numbers, strings, bytes,
lists, dicts, tuples, sets, None, datetime values, and instances of importable classes)
crosses between any two CPython versions >= 3.8 as pickle protocol 5. Functions and classes
defined in the notebook cross only between equal Python ``major.minor`` versions, as
cloudpickle bytes. Modules cross by name and are imported on the other side. Anything else
raises :class:`~isocell.errors.TransferError` naming the variable.

Payloads travel as files in ``/dev/shm`` (memory, where the system has it; else the
temporary folder), never inside a Jupyter message; the notebook side creates and removes
every one of them.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from isocell.errors import TransferError
from isocell.transfer import _agent

__all__ = ["AGENT_SOURCE", "Codec", "payload_path"]

#: The source of the child-side module, sent to each child at start.
AGENT_SOURCE = Path(_agent.__file__).read_text(encoding="utf-8")

_counter = itertools.count()


def _scratch_dir() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base


@contextmanager
def payload_path(purpose: str) -> Iterator[Path]:
    """A fresh path for one payload file, removed on exit whatever happened.

    Named ``isocell-<pid>-<n>-<purpose>`` so that leftovers of a killed notebook kernel can be
    told apart and cleaned.
    """
    path = _scratch_dir() / f"isocell-{os.getpid()}-{next(_counter)}-{purpose}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class Codec:
    """Encodes and decodes values for one child.

    Parameters
    ----------
    child_python : str
        The child's Python version (``"3.9.18"``).
    child_has_cloudpickle : bool
        Whether cloudpickle imports in the child.
    """

    def __init__(self, child_python: str, child_has_cloudpickle: bool) -> None:
        self.child_minor = ".".join(child_python.split(".")[:2])
        self.same_python = _agent.same_python(self.child_minor)
        self.cloudpickle: Any = None
        if self.same_python and child_has_cloudpickle:
            import cloudpickle

            self.cloudpickle = cloudpickle

    def write_inputs(self, path: Path, values: Mapping[str, Any]) -> None:
        """Encode ``values`` into the payload file ``path``.

        Raises
        ------
        TransferError
            Naming the first variable that cannot cross, and why.
        """
        items = {}
        for name, value in values.items():
            try:
                items[name] = _agent.encode(value, self.same_python, self.cloudpickle)
            except _agent.NotPortable as error:
                raise TransferError(name, _agent._type_name(value), str(error)) from None
            except Exception as error:
                raise TransferError(
                    name, _agent._type_name(value), f"{type(error).__name__}: {error}"
                ) from None
        _agent.write_payload(path, items)

    def read_outputs(self, path: Path) -> dict[str, Any]:
        """Decode every value in ``path``; all or nothing.

        Raises
        ------
        TransferError
            Naming the first variable that cannot be loaded here (for example its module is
            not installed in the notebook's environment).
        """
        items = _agent.read_payload(path)
        values = {}
        for name, (kind, data) in items.items():
            try:
                with warnings.catch_warnings():
                    # numpy 2 loads numpy 1 pickles through its deprecated ``numpy.core``
                    # aliases and warns each time: the user did nothing to act on.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    values[name] = _agent.decode(kind, data)
            except Exception as error:
                raise TransferError(
                    name,
                    kind,
                    f"it cannot be loaded in the notebook ({type(error).__name__}: {error}). "
                    "Convert it to plain data in the cell, or leave it out with --out",
                ) from None
        return values


def host_minor() -> str:
    """The notebook's Python ``major.minor``."""
    return "{}.{}".format(*sys.version_info[:2])
