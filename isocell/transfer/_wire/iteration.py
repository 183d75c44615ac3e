"""One step of a plain cell's iteration over a value a child holds: the agents' ``advance``.

A plain cell that iterates over a value held in a child (``for row in cursor``, ``next(G)``)
runs each step in the child; both agents (:mod:`agent`, :mod:`python2`) take it from here.

Runs in every child, Python 2.7 included: no f-strings, no annotations.
"""

__all__ = ["step"]


def step(namespace, iterations, name, mode):  # type: ignore[no-untyped-def]
    """One step over ``namespace[name]``: ``mode`` ``"start"`` keeps ``iter(value)`` in
    ``iterations`` (a dict kept between calls), ``"continue"`` takes its next item,
    ``"next"`` the value's own.

    Returns
    -------
    tuple
        ``(item, None)`` for an item to send, or ``(None, answer)``: ``{}`` once started,
        ``{"stop": True}`` at the end, ``{"error": [class name, message]}`` for what the
        iteration raised (for the plain cell to raise).
    """
    try:
        if mode == "start":
            iterations[name] = iter(namespace[name])
            return None, {}
        source = iterations[name] if mode == "continue" else namespace[name]
        return next(source), None
    except StopIteration:
        iterations.pop(name, None)
        return None, {"stop": True}
    except Exception as error:  # the generator's own error, for the plain cell to raise
        return None, {"error": [type(error).__name__, str(error)]}
