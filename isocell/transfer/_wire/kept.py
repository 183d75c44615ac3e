"""Which values an isolated cell keeps in its child until the notebook needs them.

A matplotlib figure and everything drawn on it (its axes, lines, texts, and containers of
them such as the array ``plt.subplots`` gives) is one object graph that pickles slowly: a
drawn 2x3 grid takes ~65 ms to pickle here and ~30 ms to unpickle, so a cell that only adds
a text to an axes was 8x slower isolated than plain (``bench/figures.py``). Such a value stays
in the child, which draws it; the notebook binds a stand-in and fetches the real object,
with every other value kept from that child in one pickle (so ``fig`` and ``ax[0, 0].figure``
arrive as one figure), when a plain cell reads it or another environment needs it.

This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

import sys

# How far into lists, tuples, dicts and object arrays to look, and how many items of each.
_DEPTH = 3
_ITEMS = 1000


def _artist_class():  # type: ignore[no-untyped-def]
    """matplotlib's ``Artist`` where matplotlib is imported already (never imported here)."""
    module = sys.modules.get("matplotlib.artist")
    return getattr(module, "Artist", None)


def _items(value):  # type: ignore[no-untyped-def]
    """The items of a plain container (list, tuple, set, dict values, NumPy object array),
    else None."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return value
    if isinstance(value, dict):
        return value.values()
    dtype = getattr(value, "dtype", None)
    if getattr(dtype, "hasobject", False) and type(value).__module__ == "numpy":
        try:
            return value.ravel()
        except Exception:
            return None
    return None


def keeps(value, artist=None, depth=_DEPTH):  # type: ignore[no-untyped-def]
    """Whether ``value`` stays in the child: a matplotlib artist (a ``Figure``, an
    ``Axes``, a ``Line2D``...) or a container of one, looked into ``depth`` levels deep.
    False wherever matplotlib is not imported."""
    if artist is None:
        artist = _artist_class()
        if artist is None:
            return False
    if isinstance(value, artist):
        return True
    if depth <= 0:
        return False
    items = _items(value)
    if items is None:
        return False
    for count, item in enumerate(items):
        if count >= _ITEMS:
            break
        if keeps(item, artist, depth - 1):
            return True
    return False
