"""The exception of a failed isolated cell, as the notebook raises it: the child's own.

A cell that fails in the child must fail in the notebook as it would have locally: with the
exception's own class (what ``except``, nbclient, papermill and every tool reading the error
output's ``ename`` see), its own message (``evalue``) and the child's traceback. The child's
agent describes the exception and writes it to a payload where it can
(:func:`isocell.transfer.protocol.error_expressions`); here it becomes an exception object:

1. the exception itself, decoded: its class resolved by reference in the notebook (built-in,
   importable, or the notebook's own class of that name);
2. else an instance of that class made from the message, when the class resolves here;
3. else a stand-in: a class of the same name (and module) deriving from the nearest built-in
   exception class of the child's, so ``except ValueError`` still catches a child's
   ``pandas.errors.ParserError``, whose message is the child's.

IPython shows an exception's ``_render_traceback_`` instead of a traceback through isocell's
code (IPython's ``InteractiveShell.showtraceback``); each exception gets one that returns the
child's traceback, its ``In[N]`` numbers made the notebook's.
"""

from __future__ import annotations

import builtins
import importlib
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from isocell.errors import CellError

__all__ = ["ChildException", "cell_exception", "notebook_traceback"]


class ChildException:
    """Mixed into the stand-in class of a child's exception that the notebook cannot make
    (its module is not importable here, or its instance not rebuilt): its name and module are
    the child's, its message the child's ``evalue``."""

    isocell_evalue = ""

    def __str__(self) -> str:
        return self.isocell_evalue


_IN = re.compile(r"In\[(\d+)\]")


def notebook_traceback(lines: list[str], counts: Mapping[int, int]) -> list[str]:
    """The child's traceback ``lines`` with each ``In[N]`` of a child cell that ran for a
    notebook cell (``counts``: child's execution count -> notebook's) renumbered."""

    def renumber(match: re.Match[str]) -> str:
        number = counts.get(int(match.group(1)))
        return match.group(0) if number is None else f"In[{number}]"

    return [_IN.sub(renumber, line) for line in lines]


def cell_exception(
    error: CellError,
    described: Mapping[str, Any],
    decode: Callable[[], Any] | None,
    namespace: Mapping[str, Any],
) -> BaseException:
    """The exception the notebook raises for ``error`` (the child's ``ename``, ``evalue`` and
    traceback, already renumbered).

    Parameters
    ----------
    error : CellError
        What the child's reply said.
    described : mapping
        The agent's description (``module``, ``qualname``, ``bases``: the class and those it
        derives from, nearest first); empty when it had none.
    decode : callable or None
        Decodes the exception the agent wrote (None: it could not write it); may raise.
    namespace : mapping
        The notebook namespace, where a class defined in the notebook is found by name.
    """
    if error.ename == "UsageError":  # IPython prints it as one line (show_usage_error)
        from IPython.core.error import UsageError

        return UsageError(error.evalue)
    module, qualname = described.get("module", ""), described.get("qualname", "")
    if qualname.rsplit(".", 1)[-1] != error.ename:  # stale or missing description
        module, qualname = "", error.ename
    kind = _class_here(module, qualname, namespace)
    exception = _decoded(decode, kind, error.ename)
    if exception is None and kind is not None:
        exception = _from_message(kind, error.evalue)
    if exception is None:
        exception = _stand_in(module, qualname, described.get("bases", ()), error.evalue)
    return _with_traceback(exception, error.traceback)


def _class_here(
    module: str, qualname: str, namespace: Mapping[str, Any]
) -> type[BaseException] | None:
    """The exception class ``module.qualname`` as the notebook has it, or None. A class of
    the child's ``__main__`` is the notebook's class of that name (a cell defined it)."""
    if module in ("", "builtins"):
        found: Any = getattr(builtins, qualname, None)
    elif module == "__main__":
        found = namespace.get(qualname)
    else:
        loaded = sys.modules.get(module)
        if loaded is None:
            try:
                loaded = importlib.import_module(module)
            except Exception:  # not importable here (another environment's package)
                return None
        found = loaded
        for part in qualname.split("."):
            found = getattr(found, part, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return found
    return None


def _decoded(
    decode: Callable[[], Any] | None, kind: type[BaseException] | None, ename: str
) -> BaseException | None:
    """The exception the agent wrote, as an instance of ``kind`` where the notebook has that
    class (cloudpickle copies a class of the child's ``__main__``: the notebook's own is used
    instead, so ``except MyError`` catches it)."""
    if decode is None:
        return None
    try:
        value = decode()
    except Exception:  # its class or a value of it does not load here
        return None
    if not isinstance(value, BaseException) or type(value).__name__ != ename:
        return None
    if kind is None or isinstance(value, kind):
        return value
    try:
        rebuilt = kind.__new__(kind, *value.args)
        rebuilt.args = value.args
        rebuilt.__dict__.update(vars(value))
    except Exception:
        return None
    return rebuilt


def _from_message(kind: type[BaseException], evalue: str) -> BaseException | None:
    """An instance of ``kind`` whose message is ``evalue``, made without running the class's
    ``__init__`` (a notebook class's may do anything), or None where its text differs."""
    try:
        exception: BaseException = kind.__new__(kind)
        exception.args = (evalue,)
        return exception if str(exception) == evalue else None
    except Exception:  # a __str__ that needs what __init__ sets
        return None


def _stand_in(module: str, qualname: str, bases: Any, evalue: str) -> BaseException:
    base: type = Exception
    for name in bases:
        found = getattr(builtins, name[len("builtins.") :], None)
        if name.startswith("builtins.") and isinstance(found, type):
            base = found
            break
    name = qualname.rsplit(".", 1)[-1]
    attributes = {"__module__": module or "builtins", "__qualname__": qualname}
    try:
        kind: type[BaseException] = type(name, (ChildException, base), attributes)
    except TypeError:  # a built-in base that cannot be mixed
        kind = type(name, (ChildException, Exception), attributes)
    exception = kind.__new__(kind)
    exception.args = (evalue,)
    exception.isocell_evalue = evalue  # type: ignore[attr-defined]
    return exception


def _with_traceback(exception: BaseException, lines: list[str]) -> BaseException:
    """``exception`` made to show ``lines`` in IPython (its one line when there are none)."""
    shown = list(lines) or [f"{type(exception).__name__}: {exception}"]
    try:
        exception._render_traceback_ = lambda: shown  # type: ignore[attr-defined]
    except AttributeError:  # an exception class with __slots__ and no __dict__
        pass
    return exception
