"""Change a value in place to equal another: what a cell changed in place stays one object.

A cell that changes an input in place (``items.append(3)``, ``grid[0, 0] = 99``,
``frame["c"] = 1``) changes the very object every other name bound to it sees: ``b = a``
then ``b.append(3)`` shows in ``a``; a NumPy view writes into its base. An isolated cell
changes the child's copy, which comes back as a new object; :func:`update` puts its contents
into the notebook's object instead, so aliases and views see the change as they would locally.

This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

__all__ = ["update"]


def update(old, new):  # type: ignore[no-untyped-def]
    """Make ``old`` equal ``new`` in place, where both are of one type that allows it: a
    list, dict, set or bytearray; a NumPy array of the same shape and dtype (written
    through, so its views and base see it); a pandas object (its ``_update_inplace``, as
    pandas' own ``inplace=True`` methods do); an instance whose state is its ``__dict__``.
    Returns whether it did; False leaves ``old`` as it was."""
    kind = type(old)
    if kind is not type(new) or old is new:
        return False
    try:
        if kind in (list, bytearray):
            old[:] = new
        elif isinstance(old, (dict, set)) and kind.__module__ in ("builtins", "collections"):
            old.clear()
            old.update(new)
        elif kind.__module__.split(".")[0] == "numpy" and hasattr(old, "shape"):
            return _array(old, new)
        elif kind.__module__.split(".")[0] == "pandas" and hasattr(old, "_update_inplace"):
            old._update_inplace(new)
        elif _plain_instance(old, new):
            state = vars(old)
            state.clear()
            state.update(vars(new))
        else:
            return False
    except Exception:  # a value that refuses (read-only, locked): bound anew instead
        return False
    return True


def _array(old, new):  # type: ignore[no-untyped-def]
    import numpy

    if old.shape != new.shape or old.dtype != new.dtype or not old.flags.writeable:
        return False
    numpy.copyto(old, new)
    return True


def _plain_instance(old, new):  # type: ignore[no-untyped-def]
    """An instance of a class defined in Python whose whole state is its ``__dict__``."""
    kind = type(old)
    if not hasattr(old, "__dict__") or getattr(kind, "__slots__", None):
        return False
    return kind.__module__ not in ("builtins",) and "__getstate__" not in vars(kind)
