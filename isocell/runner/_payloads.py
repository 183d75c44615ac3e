"""The payload files of one isolated cell, as the runner writes and reads them."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from isocell.runner._cell import CellPlan
from isocell.runner._pool import PooledKernel
from isocell.transfer import array_views, lookups, protocol, scratch

__all__ = ["bind_views", "dump_call", "read_outputs", "remember_sent", "write_inputs"]


def write_inputs(
    child: PooledKernel, inbox: Path, sent: Mapping[str, Any], namespace: Mapping[str, Any]
) -> str:
    """Write ``sent`` into the payload file ``inbox``; the path for the child's agent (``""``
    when there is nothing to send)."""
    if not sent:
        return ""
    for name in sent:
        child.holds.pop(name, None)
    return str(child.codec.write_inputs(inbox, sent, namespace))  # or its twin on disk


def remember_sent(child: PooledKernel, sent: Mapping[str, Any], plan: CellPlan) -> None:
    """Once the child has loaded them: the inputs it now holds as they were sent."""
    for name, value in sent.items():
        if name not in plan.candidates and name not in plan.binds:
            child.remember(name, value)


def dump_call(plan: CellPlan, outbox: Path, failed: bool = False) -> dict[str, str]:
    """The agent's call that writes the cell's outputs to ``outbox`` (those it rebound before
    its error, if it ``failed``)."""
    return protocol.dump_expressions(
        outbox,
        plan.outputs,
        plan.candidates,
        plan.deletes,
        scratch.twin(outbox),
        plan.star_modules,
        failed,
    )


def read_outputs(child: PooledKernel, summary: dict[str, Any], outbox: Path) -> Any:
    """The outputs the agent wrote: to ``outbox``, or its twin on disk (no room there);
    mapped, so the file can go next. The secrets read in the child are hidden here too from
    now on (an output may hold one)."""
    lookups.remember_secrets(summary.get("secrets", []))
    twin = scratch.twin(outbox)
    written = twin if summary.get("path") == str(twin) else outbox
    return child.codec.read_outputs(written)


def bind_views(
    child: PooledKernel,
    places: Mapping[str, list[Any]],
    values: dict[str, Any],
    namespace: MutableMapping[str, Any],
) -> None:
    """Bind as a view of the notebook's array each returned NumPy view that the child made of
    an array it holds as the notebook has it (``places``: the agent's hints,
    :mod:`isocell.transfer.array_views`); others stay the arrays they arrived as."""
    for name, hints in places.items():
        for hint in hints if name in values else ():
            base = hint[0]
            if base in values or base not in namespace:
                continue
            if not child.unchanged(base, namespace[base]):
                continue
            view = array_views.view_of(namespace[base], hint, values[name])
            if view is not None:
                namespace[name] = values[name] = view
                break
