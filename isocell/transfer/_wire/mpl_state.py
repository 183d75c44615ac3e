"""matplotlib's settings (``rcParams``), which both kernels follow as one process would.

``plt.style.use('classic')``, ``%matplotlib inline`` or ``mpl.rcParams[...] = ...`` in one
cell changes how every later cell draws and saves figures, in the notebook and in its
isolated cells alike. The settings travel as text and plain values, as a ``matplotlibrc``
file holds them (a cycler as its ``cycler(...)`` text), so they cross matplotlib versions;
a key the other side does not know, or a value it refuses, is left out there.

This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

from __future__ import annotations

import json
import sys
import warnings

__all__ = ["apply", "changed", "current", "defaults"]

# Which backend draws is each kernel's own (the child draws inline images).
_OWN = frozenset({"backend", "backend_fallback", "interactive"})
_SIMPLE = (str, int, float, bool)


def _plain(value):  # type: ignore[no-untyped-def]
    """``value`` as JSON can carry it, or its text (what a matplotlibrc file would say)."""
    if value is None or type(value) in _SIMPLE:
        return value
    if isinstance(value, (list, tuple)) and all(type(v) in _SIMPLE for v in value):
        return list(value)
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value) if type(value).__name__ == "Cycler" else str(value)


def _settings(params):  # type: ignore[no-untyped-def]
    # dict's own items: RcParams' would resolve the automatic backend (imports, ~0.2 s)
    items = dict.items(params) if isinstance(params, dict) else params.items()
    return {key: _plain(value) for key, value in items if key not in _OWN}


def current():  # type: ignore[no-untyped-def]
    """This process's settings, or None while matplotlib is not imported here."""
    matplotlib = sys.modules.get("matplotlib")
    params = getattr(matplotlib, "rcParams", None)
    return None if params is None else _settings(params)


def defaults():  # type: ignore[no-untyped-def]
    """The settings a process starts with (matplotlib's defaults and the user's
    matplotlibrc), or None where matplotlib is not imported here."""
    matplotlib = sys.modules.get("matplotlib")
    if getattr(matplotlib, "rc_params", None) is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _settings(matplotlib.rc_params())


def changed(before, after):  # type: ignore[no-untyped-def]
    """The entries of ``after`` that ``before`` does not have as they are."""
    return {key: value for key, value in (after or {}).items() if (before or {}).get(key) != value}


def apply(changes):  # type: ignore[no-untyped-def]
    """Set ``changes`` here, importing matplotlib if it is installed and not imported yet;
    nothing where it is not installed."""
    if not changes:
        return
    try:
        import matplotlib
    except ImportError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated keys of another version
        for key, value in changes.items():
            try:
                matplotlib.rcParams[key] = value
            except Exception:  # unknown here, or a value this version refuses
                pass
