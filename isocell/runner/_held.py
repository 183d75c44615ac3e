"""Values that stay in their child kernel: the notebook's stand-in for each.

A cell may bind what no pickle carries (a generator, a thread, a lock, a database
connection, a widget); a local cell keeps such a value in its kernel, and later cells use it.
An isolated cell does the same: the value stays in the child, the cell succeeds, and the
notebook binds a :class:`HeldInChild` that says what the value is and where. Later isolated
cells in that environment read the real object (the child holds it, so it is not sent). A
plain cell may iterate over it (``list(G)``, ``for row in cursor``, ``next(G)``): each step
runs in the child and its item crosses, so a generator advances as a local one would. Sending
the stand-in anywhere else, or using it otherwise in a plain cell (calling, indexing, testing
its truth), raises :class:`~isocell.errors.TransferError` saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from isocell.errors import TransferError

__all__ = ["HeldInChild", "Step", "keep_held"]

#: ``step(held, mode)``: one step of iterating in the child over the value ``held`` stands
#: for; ``mode`` is ``"start"`` (``iter(value)``, kept there), ``"continue"`` (``next`` of
#: that) or ``"next"`` (``next(value)``). Returns the item; raises ``StopIteration`` at the end.
Step = Callable[["HeldInChild", str], Any]


class HeldInChild:
    """The notebook's stand-in for a value that stays in a child kernel.

    Attributes
    ----------
    name : str
        The variable.
    type_name : str
        The value's type, qualified (``"builtins.generator"``).
    reason : str
        Why it cannot come to the notebook (the pickler's error).
    environment : str
        The label of the environment whose child holds it.
    child_pid : int or None
        That child's process id: another child (a restart) does not hold it.
    """

    __slots__ = ("child_pid", "environment", "name", "reason", "step", "type_name")

    def __init__(
        self,
        name: str,
        type_name: str,
        reason: str,
        environment: str,
        child_pid: int | None,
        step: Step | None = None,
    ) -> None:
        self.name, self.type_name, self.reason = name, type_name, reason
        self.environment, self.child_pid = environment, child_pid
        self.step = step

    def __repr__(self) -> str:
        return (
            f"<{self.type_name} held in the child kernel of {self.environment}: isolated "
            f"cells there use it; it cannot come to the notebook ({self.reason})>"
        )

    def error(self, what: str) -> TransferError:
        """The error for using the stand-in as the value: ``what`` happened."""
        return TransferError(
            self.name,
            self.type_name,
            f"it stays in the child kernel of {self.environment} ({self.reason}); {what}. "
            "Use it in an isolated cell of that environment, or turn it there into plain "
            "data (a list, a number, text)",
        )

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise self.error("a plain cell cannot use it")

    def __iter__(self) -> _Iteration:
        if self.step is None:
            self._refuse()
        self.step(self, "start")
        return _Iteration(self)

    def __next__(self) -> Any:
        if self.step is None:
            self._refuse()
        return self.step(self, "next")

    __call__ = __bool__ = _refuse
    __getitem__ = __setitem__ = __delitem__ = __contains__ = _refuse
    __enter__ = __exit__ = __await__ = __aiter__ = __anext__ = _refuse

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):  # IPython's and pickle's probes (_repr_html_, ...)
            raise AttributeError(attribute)
        self._refuse()


class _Iteration:
    """An iteration over a held value, run step by step in its child."""

    def __init__(self, held: HeldInChild) -> None:
        self.held = held

    def __iter__(self) -> _Iteration:
        return self

    def __next__(self) -> Any:
        assert self.held.step is not None
        return self.held.step(self.held, "continue")


def keep_held(sent: dict[str, Any], child_pid: int | None, label: str) -> None:
    """Take out of ``sent`` the stand-ins of values this child holds (it uses its own); raise
    :class:`~isocell.errors.TransferError` for a stand-in of a value it does not hold (another
    environment's, or one held by a child that has ended since)."""
    for name, value in list(sent.items()):
        if not isinstance(value, HeldInChild):
            continue
        if value.environment == label and value.child_pid == child_pid:
            del sent[name]
        elif value.environment == label:
            raise value.error("its child kernel has ended since, and the new one cannot get it")
        else:
            raise value.error(f"this cell runs in {label}, where it cannot be sent")
