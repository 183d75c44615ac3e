"""A plain cell's iteration over a value an isolated cell left in its child (``list(G)``).

Each step runs in the child (``next`` there) and the item crosses to the notebook as any
value does, so a generator advances once per item, as a local one would, whichever kind of
cell iterates it. What the generator prints shows in the notebook (the pool's sink).
"""

from __future__ import annotations

from typing import Any

from isocell.errors import TransferError
from isocell.kernel import execute
from isocell.runner._held import HeldInChild
from isocell.runner._payloads import read_outputs
from isocell.runner._pool import KernelPool, PooledKernel
from isocell.transfer import payload_path, protocol

__all__ = ["ask_agent", "holder", "step_in_child"]


def step_in_child(pool: KernelPool, held: HeldInChild, mode: str) -> Any:
    """One step of iterating over ``held`` in its child (:data:`~isocell.runner._held.Step`).

    Raises
    ------
    StopIteration
        At the end of the iteration.
    TransferError
        If the child that holds the value has ended, or an item cannot cross.
    RuntimeError
        What the iteration raised in the child (its class and message).
    """
    child = holder(pool, held)
    with payload_path("out") as outbox:
        expressions = protocol.advance_expressions(outbox, held.name, mode)
        answer = ask_agent(pool, child, expressions)
        if answer.get("stop"):
            raise StopIteration
        if answer.get("error"):
            kind, message = answer["error"]
            raise RuntimeError(f"{kind}: {message} (iterating {held.name} in its child kernel)")
        if mode == "start":
            return None
        if answer.get("held"):
            raise TransferError(
                held.name, held.type_name, "an item it gave cannot come to the notebook"
            )
        unpacked = read_outputs(child, answer, outbox)
        return unpacked.apply({}, bind=False, child=False)["item"]


def ask_agent(pool: KernelPool, child: PooledKernel, expressions: dict[str, str]) -> Any:
    """The answer of ``child``'s agent to the one call of ``expressions``, asked in a silent
    request of its own between cells (what the child prints meanwhile goes to the pool's
    sink).

    Raises
    ------
    IsocellError
        If the child did not answer or the agent raised (``protocol.answer``).
    """
    reply = execute(
        child.kernel,
        "",
        pool.between,
        silent=True,
        store_history=False,
        user_expressions=expressions,
    )
    (key,) = expressions
    return protocol.answer(reply.user_expressions, key, child.environment.label, reply)


def holder(pool: KernelPool, held: HeldInChild) -> PooledKernel:
    """The child of ``pool`` that holds ``held``'s value.

    Raises
    ------
    TransferError
        If that child has ended (the value with it).
    """
    for key in pool:
        pooled = pool.get_kernel(key)
        if pooled.kernel.pid == held.child_pid and pooled.environment.label == held.environment:
            return pooled
    raise held.error("its child kernel has ended, and the value with it")
