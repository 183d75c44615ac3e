"""Values an isolated cell kept in its child (a matplotlib figure, its axes): the notebook's
stand-ins for them, and fetching the real objects when the notebook needs them.

Such values pickle slowly (the child's ``kept`` wire module says which), and a notebook that
draws in isolated cells rarely needs them anywhere else; so they stay in the child, which
draws them, and later isolated cells there use them where they are. The notebook binds a
:class:`KeptInChild` and fetches the real objects when a plain cell is about to read one
(:func:`fetch_read_kept`) or a cell of another environment reads one:
every value kept from that child comes in one pickle, so objects they share arrive shared.
If the child has ended by then, the values went with it: using the stand-in says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

from isocell.analysis import analyze_cell
from isocell.errors import IsocellError
from isocell.runner._cell import CellPlan, CellRequest, implicit_reads, plan_cell
from isocell.runner._held import HeldInChild, Step
from isocell.runner._iteration import ask_agent, holder
from isocell.runner._payloads import read_outputs
from isocell.runner._pool import KernelPool, PooledKernel
from isocell.transfer import payload_path, protocol

__all__ = [
    "KeptInChild",
    "fetch_before_restart",
    "fetch_kept",
    "fetch_read_kept",
    "plan_around_kept",
    "standins",
]

KEPT_REASON = "kept there until the notebook needs it"


class KeptInChild(HeldInChild):
    """The notebook's stand-in for a value kept in its child until needed (a figure).

    A plain cell that reads it gets the real object first (:class:`FetchKept`); the stand-in
    itself is used only when its child has ended, and then says so.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return (
            f"<{self.type_name} kept in the child kernel of {self.environment}: isolated "
            "cells there use it; a plain cell that reads it gets it>"
        )

    def error(self, what: str) -> Any:
        """The error for using the stand-in: its child ended before it was fetched."""
        return super().error(f"its child kernel ended before it came here, and it with it; {what}")


def fetch_kept(pool: KernelPool, namespace: MutableMapping[str, Any], names: Iterable[str]) -> None:
    """Bind in ``namespace``, in place of their stand-ins, the values kept in children that
    ``names`` are bound to, with every other value kept by the same children (one pickle per
    child). A stand-in whose child has ended, or whose value cannot come, is left as it is:
    using it then raises the reason."""
    children = {
        (value.environment, value.child_pid)
        for value in (namespace.get(name) for name in names)
        if isinstance(value, KeptInChild)
    }
    for label, pid in children:
        standins = {
            name: value
            for name, value in namespace.items()
            if isinstance(value, KeptInChild)
            and (value.environment, value.child_pid) == (label, pid)
        }
        try:
            child = holder(pool, next(iter(standins.values())))
            values = _fetch(pool, child, list(standins))
        except IsocellError:
            continue
        for name, value in values.items():
            if namespace.get(name) is standins[name]:
                namespace[name] = value
                child.remember(name, value)


def _fetch(pool: KernelPool, child: PooledKernel, names: list[str]) -> dict[str, Any]:
    with payload_path("out") as outbox:
        ask_agent(pool, child, protocol.fetch_expressions(outbox, names))
        unpacked = read_outputs(child, {}, outbox)
        return dict(unpacked.apply({}, bind=False, child=False)["kept"])


def fetch_read_kept(pool: KernelPool, source: str, namespace: MutableMapping[str, Any]) -> None:
    """Before the plain cell ``source`` (Python, IPython's transformations applied) runs:
    fetch the values kept in children that it reads, directly, through the notebook
    functions it calls, or in the strings it evaluates (:func:`fetch_kept`)."""
    reads = analyze_cell(source).reads
    reads = (*reads, *implicit_reads(reads, source, namespace))
    fetch_kept(pool, namespace, reads)


def _here(value: Any, child: PooledKernel) -> bool:
    """Whether ``value`` is the stand-in of a value ``child`` holds."""
    return isinstance(value, HeldInChild) and (value.environment, value.child_pid) == (
        child.environment.label,
        child.kernel.pid,
    )


def plan_around_kept(
    pool: KernelPool,
    child: PooledKernel,
    request: CellRequest,
    namespace: MutableMapping[str, Any],
    hidden: Callable[[str], bool] | None,
) -> CellPlan:
    """:func:`~isocell.runner._cell.plan_cell`, once the values other children kept that the
    cell reads are fetched (they are then sent as any value); the candidates ``child`` holds
    itself behind a stand-in are left out (its object is the one the cell changes, and it
    stays there)."""
    plan = plan_cell(request, namespace, hidden)
    elsewhere = [
        name
        for name, value in plan.inputs.items()
        if isinstance(value, KeptInChild) and not _here(value, child)
    ]
    if elsewhere:
        fetch_kept(pool, namespace, elsewhere)
        plan = plan_cell(request, namespace, hidden)
    candidates = [name for name in plan.candidates if not _here(plan.inputs[name], child)]
    return dataclasses.replace(plan, candidates=candidates)


def fetch_before_restart(
    pool: KernelPool, namespace: MutableMapping[str, Any], target: str | None
) -> None:
    """Before the child whose environment's label or name is ``target`` (every child: None)
    is stopped or restarted: fetch what it kept (the new child starts afresh; the notebook
    keeps its values)."""
    labels = {
        record.environment
        for record in pool.records()
        if target is None or target in (record.environment, record.name, record.key)
    }
    names = [
        name
        for name, value in namespace.items()
        if isinstance(value, KeptInChild) and value.environment in labels
    ]
    fetch_kept(pool, namespace, names)


def standins(
    child: PooledKernel, summary: Mapping[str, Any], held: Mapping[str, list[str]], step: Step
) -> dict[str, HeldInChild]:
    """The stand-ins of what a cell left in ``child``: the values it kept (``summary["kept"]``,
    name -> type) and those that cannot cross (``held``, name -> [type, reason])."""
    label, pid = child.environment.label, child.kernel.pid
    made: dict[str, HeldInChild] = {}
    for name, (type_name, reason) in held.items():
        made[name] = HeldInChild(name, type_name, reason, label, pid, step)
    for name, type_name in summary.get("kept", {}).items():
        made[name] = KeptInChild(name, type_name, KEPT_REASON, label, pid, step)
    return made
