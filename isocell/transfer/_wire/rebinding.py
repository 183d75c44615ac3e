"""Which names a cell rebound before it failed: what a failed isolated cell returns.

A local cell that fails leaves bound what it bound before its error. Before an isolated cell
runs (and again once its inputs are loaded), the child refers to the values of the names the
cell may bind; after an error, a name bound to another object than then was rebound by the
cell. References are weak where the value allows, so a large frame the cell rebinds is freed
as it would be locally; others (a list, a dict) are held until the cell's end.

This module runs on both sides, on any CPython from 2.7 (a Python 2 child runs it too), with
the standard library alone.
"""

import weakref

__all__ = ["Before", "outputs"]


class Before:
    """The values some names referred to before a cell ran."""

    def __init__(self):  # type: ignore[no-untyped-def]
        self.references = {}

    def keep(self, namespace, names):  # type: ignore[no-untyped-def]
        """Refer to the values of ``names`` (every name of ``namespace`` when None)."""
        self.references = {}
        for name in list(namespace) if names is None else names:
            if name in namespace:
                value = namespace[name]
                try:
                    self.references[name] = (weakref.ref(value), True)
                except TypeError:
                    self.references[name] = (value, False)

    def rebound(self, name, namespace):  # type: ignore[no-untyped-def]
        """Whether ``name`` is bound to another object than it was (or bound anew)."""
        kept = self.references.get(name)
        if kept is None:
            return True
        reference, weak = kept
        value = reference() if weak else reference
        if weak and value is None:
            return True  # what it referred to is gone, so the name was rebound
        return value is not namespace[name]

    def clear(self):  # type: ignore[no-untyped-def]
        """Let go of every value."""
        self.references = {}


def outputs(before, namespace, names, candidates, digests, fingerprint, failed):  # type: ignore[no-untyped-def]
    """What a cell returns, and lets go of ``before`` (a :class:`Before`): the values of
    ``names`` it bound (after a cell that ``failed``, only those it rebound before its error),
    and of the ``candidates`` (inputs it may have changed in place) whose ``fingerprint`` is
    no longer the one in ``digests``. Returns ``(values, unchanged)``: a dict by name, and
    the candidates left as they came."""
    values = {}
    unchanged = []
    for name in names:
        if name in namespace and (not failed or before.rebound(name, namespace)):
            values[name] = namespace[name]
    before.clear()
    for name in candidates:
        if name in values or name not in namespace:
            continue
        digest = digests.get(name)
        if digest is not None and digest == fingerprint(namespace[name]):
            unchanged.append(name)
        else:
            values[name] = namespace[name]
    return values, unchanged
