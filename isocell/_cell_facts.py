"""Where an isolated cell ran, told to the frontend: the environment, its Python, its lock,
whether it was built for this cell, and the child kernel.

The JupyterLab extension shows it as a compact header on the cell and saves the lasting part
(:func:`lasting`) in the cell's metadata under ``isocell``; ``isocell run`` saves that too,
and ``isocell export`` warns when a cell's recorded lock is no longer its environment's. It
travels as a comm the notebook's kernel opens and closes at once (target ``isocell.cell``,
Jupyter messaging protocol, "Custom Messages"): nothing is added to the cell's outputs, so
tools that read them (nbclient, papermill, a local-vs-isolated comparison) see what a local
cell gives, and a frontend without the extension drops the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from isocell.envs import Environment

__all__ = [
    "COMM_TARGET",
    "LASTING",
    "announce",
    "lasting",
    "tell_where",
    "where_it_ran",
]

#: The comm target the facts travel on.
COMM_TARGET = "isocell.cell"

#: The facts saved in the notebook (the rest, such as the child's process id, last only as
#: long as the kernel).
LASTING = ("environment", "id", "python", "interpreter", "lock")


def where_it_ran(
    environment: Environment, built: bool, kernel_pid: int | None, ok: bool
) -> dict[str, Any]:
    """What the frontend is told of one isolated cell.

    Returns
    -------
    dict
        ``environment`` (its label), ``name`` (registered name or None), ``id`` (its key:
        the spec's content address, or the interpreter), ``python`` (``"3.9.18"``),
        ``interpreter`` (path), ``lock`` (``Environment.lock_hash``), ``packages`` (count),
        ``built`` (built for this cell, else reused), ``kernel`` (the child's process id) and
        ``ok`` (the cell succeeded).
    """
    return {
        "environment": environment.label,
        "name": environment.name,
        "id": environment.key,
        "python": environment.python_version,
        "interpreter": str(environment.python),
        "lock": environment.lock_hash,
        "packages": len(environment.lock),
        "built": built,
        "kernel": kernel_pid,
        "ok": ok,
    }


def lasting(facts: dict[str, Any]) -> dict[str, Any]:
    """The part of ``facts`` a notebook keeps in the cell's metadata."""
    return {key: facts.get(key) for key in LASTING}


def announce(facts: dict[str, Any]) -> None:
    """Tell the frontend (a comm opened with ``facts`` and closed at once); outside a kernel,
    nothing."""
    try:
        import comm

        told = comm.create_comm(target_name=COMM_TARGET, data=facts)
        told.close()
    except Exception:  # no kernel, or a frontend gone: the facts were only informative
        pass


def tell_where(
    environment: Environment | None, kernels: Iterable[Any], built: bool, ok: bool
) -> None:
    """Tell the frontend where a cell ran (:func:`announce`): in ``environment`` (None: the
    cell failed before it had one, and nothing is told), whose child is among ``kernels``
    (the pool's records); ``built``: it was built for the cell; ``ok``: the cell succeeded."""
    if environment is None:
        return
    pids = [r.pid for r in kernels if r.key == environment.key]
    announce(where_it_ran(environment, built, pids[0] if pids else None, ok))
