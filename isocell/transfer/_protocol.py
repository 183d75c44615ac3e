"""The host's half of the agent protocol: what drives the child's agent, and its answers.

The child's half is :mod:`isocell.transfer._wire.agent`, run from source. The host installs it
with :func:`bootstrap_code` plus :func:`setup_expressions`, then asks it to load inputs
(:func:`load_expressions`, or metadata on the cell's own request, :func:`inline_load`) and to
dump outputs (:func:`dump_expressions`). Each call is a Jupyter ``user_expressions`` entry
evaluated after the request's code (Jupyter messaging protocol, ``execute_request``); its
result is a JSON string that :func:`answer` decodes. This module sends nothing itself: the
cell runner executes what it returns, through :mod:`isocell.kernel`.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from isocell.errors import IsocellError
from isocell.transfer._host import PYTHON2_SOURCES, WIRE_SOURCES, host_minor

__all__ = [
    "advance_expressions",
    "answer",
    "bootstrap_code",
    "cell_metadata",
    "dump_expressions",
    "error_expressions",
    "inline_load",
    "load_expressions",
    "setup_expressions",
]

_AGENT = "__import__('__isocell__').agent"


def bootstrap_code(child_python: str = "3") -> str:
    """Code that makes the wire modules the package ``__isocell__`` in the child, whose
    Python is ``child_python`` (``"3.9.18"``): a Python 2 child gets its own agent
    (``_wire.python2``, plain data only).

    Nothing enters the user's namespace: the outer ``exec`` gets a dictionary of its own.
    """
    sources = PYTHON2_SOURCES if child_python.startswith("2.") else WIRE_SOURCES
    return (
        "exec('import sys, types\\n"
        'pkg = types.ModuleType("__isocell__")\\n'
        "pkg.__path__ = []\\n"
        'sys.modules["__isocell__"] = pkg\\n'
        "for name, text in SOURCES:\\n"
        '    m = types.ModuleType("__isocell__." + name)\\n'
        '    m.__package__ = "__isocell__"\\n'
        "    sys.modules[m.__name__] = m\\n"
        "    setattr(pkg, name, m)\\n"
        '    exec(compile(text, "<isocell " + name + ">", "exec"), m.__dict__)\\n\', '
        f"{{'SOURCES': {sources!r}}})"
    )


def setup_expressions() -> dict[str, str]:
    """The agent's setup, after :func:`bootstrap_code`: answers ``python`` (the child's
    ``major.minor``), ``cloudpickle`` (bool) and ``inline`` (whether inputs may ride on the
    cell's own request)."""
    return {"setup": f"{_AGENT}.setup({host_minor()!r})"}


def load_expressions(
    path: str,
    candidates: Sequence[str],
    secrets: Sequence[str] = (),
    changes: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Load the payload at ``path`` (``""``: none) and fingerprint ``candidates`` (names the
    cell may change in place); the child's output hides ``secrets`` (the notebook's, which an
    input may hold) from then on; first the child follows ``changes`` of the notebook's
    process state (``isocell.runner._state``). Answers ``errors`` by name."""
    call = f"{_AGENT}.load({path!r}, {list(candidates)!r}, {list(secrets)!r}, {changes or {}!r})"
    return {"load": call}


def inline_load(
    path: str,
    candidates: Sequence[str],
    secrets: Sequence[str] = (),
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``execute_request`` metadata that makes the agent load inputs as the cell's first
    act (it fails the cell with ``TransferFailed`` or ``LoadInterrupted``); ``secrets`` and
    ``changes`` as in :func:`load_expressions`. The secrets travel in the request only,
    never in a file."""
    task = {"path": path, "candidates": list(candidates), "secrets": list(secrets)}
    return {"isocell_load": {**task, "follow": dict(changes or {})}}


def cell_metadata(binds: Sequence[str]) -> dict[str, Any]:
    """The ``execute_request`` metadata of every isolated cell: the names it binds, whose
    values the agent keeps a reference to before it runs, so that after a failure only those
    it rebound are returned (``dump_expressions(failed=True)``)."""
    return {"isocell_binds": list(binds)}


def dump_expressions(
    outbox: Path,
    outputs: Sequence[str],
    candidates: Sequence[str],
    deletes: Sequence[str],
    fallback: Path | None = None,
    star_modules: Sequence[str] = (),
    failed: bool = False,
) -> dict[str, str]:
    """Write ``outputs`` (and the names the ``star_modules`` bind), and the ``candidates``
    that changed, to the payload ``outbox``; answers ``errors``, ``deleted``, ``unchanged``,
    ``held`` (values that cannot leave the child), ``kept`` (values that stay there until
    fetched, :func:`fetch_expressions`), ``secrets`` (those read in the child, which an
    output may hold) and ``path``: ``outbox``, or ``fallback`` (on disk) when ``outbox``'s
    file system had no room. After a cell that ``failed``: only the outputs it rebound
    before its error, as a local cell leaves them bound."""
    call = (
        f"{_AGENT}.dump({str(outbox)!r}, {list(outputs)!r}, {list(candidates)!r}, "
        f"{list(deletes)!r}, {str(fallback or '')!r}, {list(star_modules)!r}, {failed!r})"
    )
    return {"dump": call}


def advance_expressions(outbox: Path, name: str, mode: str) -> dict[str, str]:
    """One step of iterating over the value the child holds as ``name`` (``mode``: ``start``,
    ``continue``, ``next``); the item is written to the payload ``outbox``. Answers ``stop``,
    ``held`` or ``error`` ([class name, message])."""
    return {"advance": f"{_AGENT}.advance({str(outbox)!r}, {name!r}, {mode!r})"}


def fetch_expressions(outbox: Path, names: Sequence[str]) -> dict[str, str]:
    """Write the values the child kept under ``names`` (a figure: ``dump`` answered them as
    ``kept``) to the payload ``outbox`` as one item, ``kept``, a dict of them; answers
    ``missing``, the names the child no longer has."""
    return {"fetch": f"{_AGENT}.fetch({str(outbox)!r}, {list(names)!r})"}


def error_expressions(outbox: Path) -> dict[str, str]:
    """After a cell failed: describe its exception (``module``, ``qualname``, ``bases``) and
    write the exception itself to the payload ``outbox`` where it can be (``packed``)."""
    return {"error": f"{_AGENT}.last_error({str(outbox)!r})"}


def answer(expressions: dict[str, Any], key: str, label: str, reply: Any) -> dict[str, Any]:
    """Decode the agent's answer to the call ``key`` from a reply's ``user_expressions``.

    Raises
    ------
    IsocellError
        If the child did not answer (its request failed first) or the agent raised.
    """
    value = expressions.get(key)
    if value is None:
        raise IsocellError(
            f"the child kernel ({label}) did not answer ({reply.status}: {reply.evalue})"
        )
    if value.get("status") != "ok":
        raise IsocellError(
            f"isocell's agent failed in the child kernel ({label}): "
            f"{value.get('ename')}: {value.get('evalue')}"
        )
    text = value["data"]["text/plain"]
    return dict(json.loads(ast.literal_eval(text)))
