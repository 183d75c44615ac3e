"""What happens to a child kernel while a request runs: the interrupt, timeout and kill policy.

The message loop (:func:`isocell.kernel._messages.exchange`) only reports: each pass it tells
the :class:`Supervisor` the time and whether the child was quiet, and it passes on the
notebook's interrupt. The supervisor decides: the notebook's interrupt or the timeout
interrupts the child (which keeps its state, as Jupyter's own interrupt does); no answer
within the grace period, or a second interrupt, kills it; a child found dead ends the wait.
"""

from __future__ import annotations

from typing import Protocol

from isocell.errors import ChildDiedError

__all__ = ["INTERRUPT_GRACE", "LIVENESS_PERIOD", "Supervised", "Supervisor"]

#: How long an interrupted or timed-out child gets to answer before it is killed (seconds).
INTERRUPT_GRACE = 10.0
#: How often to check that a quiet child still lives (seconds).
LIVENESS_PERIOD = 0.5


class Supervised(Protocol):
    """What the supervisor needs of a child (:class:`~isocell.kernel.ChildKernel` has it)."""

    label: str

    def interrupt(self) -> None: ...

    def stop(self, now: bool = False) -> None: ...

    def is_alive(self) -> bool: ...

    def exit_detail(self) -> str: ...


class Supervisor:
    """The policy for one request to ``child``.

    Parameters
    ----------
    child : Supervised
        The child running the request.
    started : float
        When the request was sent (``time.monotonic()`` seconds).
    timeout : float or None
        Seconds before the request is interrupted; None for no limit.
    grace : float
        Seconds an interrupted child gets before it is killed.
    """

    def __init__(
        self,
        child: Supervised,
        started: float,
        timeout: float | None = None,
        grace: float = INTERRUPT_GRACE,
    ) -> None:
        self.child = child
        self.deadline = started + timeout if timeout else None
        self.grace = grace
        self.interrupted_at: float | None = None
        self.last_check = started
        #: The notebook's interrupt or the timeout stopped the request.
        self.interrupted = False
        #: The timeout ran out.
        self.timed_out = False

    def tick(self, now: float, quiet: bool) -> None:
        """One pass of the message loop at ``now``; ``quiet``: no message arrived.

        Raises
        ------
        ChildDiedError
            If the child was killed (no answer within the grace period) or is found dead.
        """
        if self.deadline is not None and now > self.deadline and self.interrupted_at is None:
            self.timed_out = self.interrupted = True
            self.interrupted_at = now
            self.child.interrupt()
        if self.interrupted_at is not None and now - self.interrupted_at > self.grace:
            self.child.stop(now=True)
            raise ChildDiedError(
                self.child.label, f"it did not stop within {self.grace:.0f} s and was killed"
            )
        if quiet and now - self.last_check > LIVENESS_PERIOD:
            self.last_check = now
            if not self.child.is_alive():
                detail = self.child.exit_detail()
                self.child.stop(now=True)
                raise ChildDiedError(self.child.label, detail)

    def interrupt(self, now: float) -> None:
        """The notebook was interrupted (``KeyboardInterrupt``) at ``now``.

        Raises
        ------
        ChildDiedError
            On a second interrupt: the child is killed, the user wants out now.
        """
        if self.interrupted_at is not None:
            self.child.stop(now=True)
            raise ChildDiedError(self.child.label, "interrupted twice and killed")
        self.interrupted = True
        self.interrupted_at = now
        self.child.interrupt()
