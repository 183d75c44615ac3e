"""Branches in the notebook, as Airflow runs them: a branch cell chooses, the rest is skipped.

A branch cell (``%%isolated --branch A B`` in a child kernel, ``%%branch A B`` in the
notebook's own) ends with an expression whose value names the cells to run: a name, a list of
names, or None for none of them (Airflow's ``@task.branch`` contract, "BranchPythonOperator"
in Airflow's docs). The cells it names are known by their task id: ``--name``, else the
first name the cell binds, as the export names tasks.

Afterwards, as Airflow's scheduler would:

* a cell the branch did not choose is skipped, with a one-line notice;
* a cell whose every upstream cell (the cells that made what it reads) was skipped is skipped
  too (the trigger rule ``none_failed_min_one_success`` the export gives the tasks after a
  branch); a join that also reads what a chosen cell made runs;
* what a skipped cell would have made is None in the notebook, as a skipped task's XCom is
  None for its downstream tasks (Airflow's ``XComArg.resolve``).

This module reads IPython's AST of plain cells (``InteractiveShell.ast_transformers``); it
imports nothing from the front doors.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from isocell.analysis import analyze_cell, bind_last_expression, bound_in_order
from isocell.errors import BranchError, shown

__all__ = [
    "CHOICE",
    "Branching",
    "CellFacts",
    "SkipPlainCells",
    "bind_choice",
    "cell_facts",
    "run_branch_here",
    "split_choice",
]

#: The name an ``%%isolated --branch`` cell's choice comes back under (then removed).
CHOICE = "__isocell_choice__"


@dataclass(frozen=True)
class CellFacts:
    """What the branches need of one cell.

    Attributes
    ----------
    task_id : str or None
        Its task id: ``--name``, else the first name it makes; None for a cell that makes
        nothing (no task of its own).
    reads : tuple of str
        The names it reads.
    makes : tuple of str
        The names it binds that a later task can read: not its imports, functions or classes.
    """

    task_id: str | None
    reads: tuple[str, ...]
    makes: tuple[str, ...]


def cell_facts(source: str, name: str | None = None) -> CellFacts:
    """The :class:`CellFacts` of plain Python ``source`` (a cell's body); ``name`` its
    ``--name``. A cell that does not parse makes and reads nothing here (Python will say)."""
    try:
        tree = ast.parse(source)
        names = analyze_cell(source)
    except SyntaxError:
        return CellFacts(name, (), ())
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    makes = [n for n in names.binds if n not in names.imports and n not in defined]
    ordered = bound_in_order(source, makes) if makes else []
    return CellFacts(name or (ordered[0] if ordered else None), names.reads, tuple(makes))


def split_choice(source: str, what: str) -> tuple[ast.Module, ast.Expression]:
    """A branch cell's code before its last expression, and that expression.

    Raises
    ------
    BranchError
        If the cell does not end with an expression (``what`` names the cell in the message).
    """
    tree = ast.parse(source)
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        raise BranchError(
            f"{what} must end with an expression that names the cells to run (a name, a "
            "list of names, or None), as a @task.branch function returns them"
        )
    last = tree.body.pop()
    assert isinstance(last, ast.Expr)
    return tree, ast.Expression(last.value)


def bind_choice(cell: str, python_source: str, what: str) -> str:
    """``cell`` (as typed, IPython syntax kept) with its last expression also bound to
    :data:`CHOICE`, and shown as before: line numbers stay the cell's own.

    Raises
    ------
    BranchError
        If the cell does not end with an expression.
    """
    split_choice(python_source, what)  # the error, if it does not end with one
    bound = bind_last_expression(cell, CHOICE, python_source)
    assert bound is not None
    after = ast.parse(python_source).body[-1]
    quiet = cell.split("\n")[(after.end_lineno or after.lineno) - 1].rstrip().endswith(";")
    return bound + f"\n{CHOICE}" + (";" if quiet else "")


def _chosen(value: Any, targets: tuple[str, ...], label: str) -> tuple[str, ...]:
    if value is None:
        chosen: tuple[Any, ...] = ()
    elif isinstance(value, str):
        chosen = (value,)
    elif isinstance(value, (list, tuple, set, frozenset)):
        chosen = tuple(value)
    else:
        chosen = (value,)
    for item in chosen:
        if not isinstance(item, str):
            raise BranchError(
                f"branch {label} chose {shown(repr(value), 200)}: a branch chooses by task id, "
                "a name (str), a list of names, or None for none of them"
            )
        if item not in targets:
            raise BranchError(
                f"branch {label} chose {shown(item, 200)!r}, which is not one of the cells it "
                f"branches over ({', '.join(targets)}); name one of those, or add it to "
                "--branch"
            )
    return tuple(dict.fromkeys(chosen))


@dataclass
class Branching:
    """One notebook's branch decisions and what they skip.

    Attributes
    ----------
    skipped : dict
        Task id → why it is skipped (the decision of the branch that did not choose it).
    ran : dict
        Name → (whether the last cell that made it ran (True) or was skipped (False), the
        decision it came after): what decides whether the cells that read it are skipped.
    decisions : int
        How many branch decisions the notebook has seen.
    """

    skipped: dict[str, str] = field(default_factory=dict)
    ran: dict[str, tuple[bool, int]] = field(default_factory=dict)
    decisions: int = 0

    @property
    def active(self) -> bool:
        """Whether a branch has chosen yet in this notebook (before, nothing is checked)."""
        return bool(self.skipped or self.ran)

    def decide(self, label: str, targets: tuple[str, ...], value: Any) -> tuple[str, ...]:
        """Record branch ``label``'s choice ``value`` among ``targets``; return the chosen.

        Raises
        ------
        BranchError
            If ``value`` is not a name of ``targets``, a list of them, or None.
        """
        chosen = _chosen(value, targets, label)
        self.decisions += 1
        told = ", ".join(chosen) if chosen else "none of them"
        for target in targets:
            if target in chosen:
                self.skipped.pop(target, None)
            else:
                self.skipped[target] = f"branch {label} chose {told}"
        return chosen

    def reason_to_skip(self, facts: CellFacts) -> str | None:
        """Why the cell of ``facts`` is skipped, or None when it runs."""
        if not self.active:
            return None
        if facts.task_id is not None and facts.task_id in self.skipped:
            return self.skipped[facts.task_id]
        upstream = {name: self.ran[name][0] for name in facts.reads if name in self.ran}
        if upstream and not any(upstream.values()):
            return "every cell it reads from was skipped (" + ", ".join(sorted(upstream)) + ")"
        return None

    def record_run(self, makes: Iterable[str]) -> None:
        """A cell that made ``makes`` ran."""
        if self.active:
            for name in makes:
                self.ran[name] = (True, self.decisions)

    def skip(self, facts: CellFacts, reason: str, namespace: MutableMapping[str, Any]) -> str:
        """Skip the cell of ``facts``: what it makes is None in ``namespace`` (as a skipped
        task's XCom is for its downstream tasks); return the one-line notice."""
        for name in facts.makes:
            # Unless a cell chosen since the last decision made it (two alternatives that
            # make one name: the export refuses those, the notebook keeps the chosen value).
            if self.ran.get(name) != (True, self.decisions):
                namespace[name] = None
                self.ran[name] = (False, self.decisions)
        label = f" {facts.task_id}" if facts.task_id else ""
        return f"isocell: skipped{label}: {reason}"


class SkipPlainCells(ast.NodeTransformer):
    """An IPython AST transformer: a plain cell that a branch skips becomes a print of the
    notice (cells of magics, ``%%isolated`` included, decide in their magic)."""

    def __init__(self, branching: Branching, namespace: MutableMapping[str, Any]) -> None:
        self.branching = branching
        self.namespace = namespace

    def visit(self, node: ast.AST) -> Any:
        if not isinstance(node, ast.Module) or not self.branching.active or _is_magic(node):
            return node
        facts = cell_facts(ast.unparse(node))
        reason = self.branching.reason_to_skip(facts)
        if reason is None:
            self.branching.record_run(facts.makes)
            return node
        notice = self.branching.skip(facts, reason, self.namespace)
        return ast.fix_missing_locations(ast.parse(f"print({notice!r})"))


def _is_magic(tree: ast.Module) -> bool:
    """Whether the cell is one cell magic call (``get_ipython().run_cell_magic(...)``)."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return False
    call = tree.body[0].value
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "run_cell_magic"
    )


def run_branch_here(shell: Any, branching: Branching, targets: tuple[str, ...], cell: str) -> Any:
    """Run a ``%%branch`` cell in the notebook's namespace and record its choice.

    Returns
    -------
    object
        The cell's last value (its choice), which IPython shows as the cell's result; None
        when the cell is skipped (its notice is printed).

    Raises
    ------
    BranchError
        If the cell does not end with an expression or chooses no cell of ``targets``.
    Exception
        Whatever the cell's code raises.
    """
    source = shell.transform_cell(cell)
    facts = cell_facts(source)
    reason = branching.reason_to_skip(facts)
    if reason is not None:
        print(branching.skip(facts, reason, shell.user_ns))
        return None
    body, choice = split_choice(source, "a %%branch cell")
    filename = shell.compile.cache(source)  # IPython's tracebacks show the cell's lines
    exec(compile(body, filename, "exec"), shell.user_ns)
    value = eval(compile(choice, filename, "eval"), shell.user_ns)
    branching.decide(facts.task_id or "cell", targets, value)
    branching.record_run(facts.makes)
    return value
