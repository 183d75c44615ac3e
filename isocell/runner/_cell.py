"""One isolated cell: what is asked (:class:`CellRequest`), what crosses (:class:`CellPlan`),
what came back (:class:`CellResult`), and the errors the crossing raises."""

from __future__ import annotations

import importlib
import re
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from isocell.analysis import analyze_cell, names_in_strings_passed_to
from isocell.envs import Environment, EnvRequest
from isocell.errors import CellError, TransferError

__all__ = ["CellPlan", "CellRequest", "CellResult", "implicit_reads", "plan_cell"]

# IPython's own bookkeeping names: never inputs.
_IPYTHON_NAMES = re.compile(r"^(_+|_i+|_i\d+|_\d+|_dh|_oh|_ih|In|Out|get_ipython|exit|quit)$")

INTERRUPTED_LOADING = (
    "interrupted while the inputs were sent to the child kernel; the cell did not run and the "
    "notebook namespace is unchanged"
)


@dataclass(frozen=True)
class CellRequest:
    """One ``%%isolated`` cell.

    Attributes
    ----------
    code : str
        The cell's body, as the user wrote it (magics included; the child runs it).
    environment : EnvRequest
        Which environment to run in.
    python_source : str or None
        The body as plain Python (IPython's input transformations applied) for the analysis;
        default: ``code``.
    inputs, outputs : tuple of str or None
        ``--in`` / ``--out``: replace the inferred names.
    timeout : float or None
        Seconds before the cell is interrupted, then killed.
    restart : bool
        Start a fresh child before running.
    name : str or None
        The cell's name (the task id when exported).
    header : str
        The magic line, shown as the first line of the cell in the child's tracebacks so that
        line numbers match the notebook cell.
    execution_count : int or None
        The notebook's count of the cell (``In[N]``), which the child's tracebacks then show.
    """

    code: str
    environment: EnvRequest = field(default_factory=EnvRequest)
    python_source: str | None = None
    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] | None = None
    timeout: float | None = None
    restart: bool = False
    name: str | None = None
    header: str = "%%isolated"
    execution_count: int | None = None

    def code_with_header(self) -> str:
        """The code the child runs: the magic line as a comment on line 1, so the child's
        tracebacks number lines as the notebook cell does (a cell magic in the body must stay
        on the first line, so then the code as it is)."""
        if self.code.lstrip().startswith("%%"):
            return self.code
        return "# " + self.header.replace("\n", " ") + "\n" + self.code


@dataclass
class CellResult:
    """What a successful cell gave back.

    Attributes
    ----------
    environment : Environment
    sent : list of str
        Input names shipped into the child.
    returned : list of str
        Names set in the notebook namespace.
    deleted : list of str
        Names removed from the notebook namespace.
    display : tuple of (dict, dict) or None
        The cell's ``execute_result`` (mime bundle and metadata), if it had one.
    payload : list of dict
        The child's ``execute_reply`` payloads (the pager's text, ``set_next_input``).
    """

    environment: Environment
    sent: list[str]
    returned: list[str]
    deleted: list[str]
    display: tuple[dict[str, Any], dict[str, Any]] | None = None
    payload: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CellPlan:
    """What crosses for one cell, from the analysis of its code.

    Attributes
    ----------
    inputs : dict
        The notebook values the cell reads, by name.
    outputs : list of str
        The names to return (those the cell binds, or ``--out``).
    candidates : list of str
        Inputs the cell may change in place, returned only if the child saw them change.
    deletes : list of str
        Names the cell deletes.
    binds : tuple of str
        Every name the cell binds.
    star_modules : tuple of str
        Modules the cell star-imports: the names they bind are returned too (the child
        knows them).
    modules : tuple of str
        The modules the cell imports at module level, which the notebook imports too
        (:func:`import_ahead`).
    """

    inputs: dict[str, Any]
    outputs: list[str]
    candidates: list[str]
    deletes: list[str]
    binds: tuple[str, ...]
    star_modules: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()


def plan_cell(
    request: CellRequest, namespace: Mapping[str, Any], hidden: Callable[[str], bool] | None
) -> CellPlan:
    """Analyse the cell's code and pick what crosses.

    Raises
    ------
    TransferError
        If ``--in`` names a variable the notebook does not have.
    """
    source = request.python_source if request.python_source is not None else request.code
    names = analyze_cell(source)
    implicit = implicit_reads(names.reads, source, namespace)
    reads = (*names.reads, *implicit)
    inputs = _inputs(request, reads, namespace, hidden)
    if request.outputs is not None:
        return CellPlan(inputs, list(request.outputs), [], [], names.binds, (), names.modules)
    # Imported names too: the notebook imports a module by name, and a value imported from
    # one (`from math import pi`) crosses as any value; what does not load here stays in the
    # child (runner._held).
    outputs = list(names.binds)
    # what the notebook's functions read they may change too (`def add(x): items.append(x)`)
    mutable = {*names.mutates, *implicit}
    candidates = sorted(n for n in mutable if n in inputs and n not in outputs)
    deletes = list(names.deletes)
    return CellPlan(
        inputs, outputs, candidates, deletes, names.binds, names.star_modules, names.modules
    )


def import_ahead(modules: tuple[str, ...]) -> None:
    """Import in the notebook, while the child runs the cell, the ``modules`` it imports
    that the notebook has not: they come back by name and the notebook imports its own
    (``import matplotlib.pyplot as plt``), so this overlaps what was done after the cell
    (~0.3 s for pyplot and numpy here). A module the notebook cannot import is left to the
    child; one the cell never reached (it failed first) stays imported, unbound."""
    for module in modules:
        if module in sys.modules:
            continue
        try:
            importlib.import_module(module)
        except KeyboardInterrupt:
            raise
        except BaseException:  # not the notebook's module: the child's alone
            pass


def _notebook_code(value: Any) -> list[types.CodeType]:
    """The code objects of a function or class the notebook defined (nested ones included);
    empty for anything else."""
    if getattr(value, "__module__", None) != "__main__":
        return []
    if isinstance(value, type):
        members = [getattr(m, "__func__", m) for m in vars(value).values()]
        members += [
            f
            for m in vars(value).values()
            if isinstance(m, property)
            for f in (m.fget, m.fset, m.fdel)
            if f is not None
        ]
        functions = [f for f in members if isinstance(f, types.FunctionType)]
    elif isinstance(value, types.FunctionType):
        functions = [value]
    else:
        return []
    found, pending = [], [f.__code__ for f in functions]
    while pending:
        code = pending.pop()
        found.append(code)
        pending.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return found


def implicit_reads(
    reads: tuple[str, ...], source: str, namespace: Mapping[str, Any]
) -> tuple[str, ...]:
    """What the notebook functions and classes a cell uses read when they run: the notebook
    globals their code names (a global rebound since the child got the function is then
    sent again), and the code in strings given to one that runs its arguments as code
    (``show('df')`` where ``show`` calls ``eval``)."""
    extra: set[str] = set()
    evaluators = []
    seen: set[str] = set()
    pending = [name for name in reads if name in namespace]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        codes = _notebook_code(namespace.get(name))
        names = {n for code in codes for n in code.co_names}
        if {"eval", "exec"} & names:
            evaluators.append(name)
        found = {n for n in names if n in namespace and n not in reads}
        extra |= found
        pending.extend(found)
    if evaluators:
        extra.update(names_in_strings_passed_to(source, evaluators))
    return tuple(sorted(extra))


def _inputs(
    request: CellRequest,
    reads: tuple[str, ...],
    namespace: Mapping[str, Any],
    hidden: Callable[[str], bool] | None,
) -> dict[str, Any]:
    if request.inputs is not None:
        missing = [name for name in request.inputs if name not in namespace]
        if missing:
            raise TransferError(
                missing[0], "undefined", "--in names a variable the notebook does not have"
            )
        return {name: namespace[name] for name in request.inputs}
    return {
        name: namespace[name]
        for name in reads
        if name in namespace
        and not _IPYTHON_NAMES.match(name)
        and not (hidden is not None and hidden(name))
    }


def raise_load_errors(loaded: dict[str, Any], sent: Mapping[str, Any]) -> None:
    """Raise :class:`TransferError` for the inputs the child could not load, if any."""
    for name, error in loaded.get("errors", {}).items():
        if name in sent:
            kind = type(sent[name])
            error[0] = f"{kind.__module__}.{kind.__qualname__}"
        if "No module named" in error[1]:
            error[1] += "; add the package to the environment's requirements (--req)"
    raise_transfer_errors(loaded, "cannot be loaded in the child")


def raise_transfer_errors(summary: dict[str, Any], what: str) -> None:
    """Raise :class:`TransferError` for the first name of ``summary["errors"]``, if any."""
    errors = summary.get("errors")
    if not errors:
        return
    name = sorted(errors)[0]
    type_name, reason = errors[name]
    others = [n for n in sorted(errors) if n != name]
    more = f" (also: {', '.join(others)})" if others else ""
    raise TransferError(name, type_name, f"it {what}: {reason}{more}")


def interrupted_loading() -> CellError:
    """The error of a cell interrupted while its inputs were loading."""
    return CellError("KeyboardInterrupt", INTERRUPTED_LOADING, [])
