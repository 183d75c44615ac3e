"""Process-wide settings of the libraries a notebook uses, which both kernels follow as one.

One kernel runs a local notebook, so ``plt.style.use('classic')``, ``pd.set_option(...)``,
``np.set_printoptions(...)``, ``np.random.seed(0)`` or ``random.seed(0)`` in one cell hold
for every later cell. The notebook and a child are two processes: before each isolated cell
the child takes the notebook's settings that changed, and after it the notebook takes those
the cell changed. Sections:

* ``matplotlib``: ``rcParams`` (the backend stays each kernel's own);
* ``pandas``: every option (``pd.options``);
* ``numpy print``: ``np.get_printoptions()``;
* ``numpy random``: the state of the global generator of ``np.random.*`` (legacy MT19937);
* ``random``: the state of Python's ``random`` module.

Values travel as JSON carries them, as a ``matplotlibrc`` file holds them (a cycler as its
``cycler(...)`` text), so they cross library versions; a key the other side does not know,
or a value it refuses, is left out there. A section whose library a side has not imported
waits there until it is, except matplotlib's, pandas' and numpy's (a figure, a table or a
number drawn in the cell that imports them must follow them), whose library is then
imported, where installed. Settings are compared with the library's defaults where known
(matplotlib, pandas), so the child imports them only for settings the notebook changed.

This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

import importlib.util
import json
import sys
import warnings

__all__ = ["apply", "apply_pending", "changed", "changed_by_cell", "current", "defaults"]

# Which backend draws is each kernel's own (the child draws inline images).
_OWN = frozenset({"backend", "backend_fallback", "interactive"})
_SIMPLE = (str, int, float, bool)
_MISSING = object()
_pending: dict = {}


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


def _read_matplotlib(matplotlib):  # type: ignore[no-untyped-def]
    params = matplotlib.rcParams
    # dict's own items: RcParams' would resolve the automatic backend (imports, ~0.2 s)
    items = dict.items(params) if isinstance(params, dict) else params.items()
    return {key: _plain(value) for key, value in items if key not in _OWN}


def _write_matplotlib(matplotlib, values):  # type: ignore[no-untyped-def]
    for key, value in values.items():
        try:
            matplotlib.rcParams[key] = value
        except Exception:  # unknown here, or a value this version refuses
            pass


def _read_pandas(pandas):  # type: ignore[no-untyped-def]
    found = {}

    def walk(prefix, node):  # type: ignore[no-untyped-def]
        for key in dir(node):
            value = getattr(node, key)
            if type(value).__name__ == "DictWrapper":
                walk(prefix + key + ".", value)
            elif value is None or type(value) in _SIMPLE:
                found[prefix + key] = value

    walk("", pandas.options)
    return found


def _write_pandas(pandas, values):  # type: ignore[no-untyped-def]
    for key, value in values.items():
        try:
            pandas.set_option(key, value)
        except Exception:  # unknown here, or a value this version refuses
            pass


def _read_numpy_print(numpy):  # type: ignore[no-untyped-def]
    options = numpy.get_printoptions()
    return {k: v for k, v in options.items() if v is None or type(v) in _SIMPLE}


def _write_numpy_print(numpy, values):  # type: ignore[no-untyped-def]
    for key, value in values.items():
        try:
            numpy.set_printoptions(**{key: value})
        except Exception:  # unknown here, or a value this version refuses
            pass


def _read_numpy_random(random):  # type: ignore[no-untyped-def]
    name, keys, position, has_gauss, gauss = random.get_state()
    return {"state": [name, keys.tolist(), int(position), int(has_gauss), float(gauss)]}


def _write_numpy_random(random, values):  # type: ignore[no-untyped-def]
    name, keys, position, has_gauss, gauss = values["state"]
    numpy = sys.modules["numpy"]
    random.set_state((name, numpy.array(keys, dtype=numpy.uint32), position, has_gauss, gauss))


def _read_random(random):  # type: ignore[no-untyped-def]
    version, internal, gauss = random.getstate()
    return {"state": [version, list(internal), gauss]}


def _write_random(random, values):  # type: ignore[no-untyped-def]
    version, internal, gauss = values["state"]
    random.setstate((version, tuple(internal), gauss))


#: section -> (module, read, write, import the module to apply it)
_SECTIONS = {
    "matplotlib": ("matplotlib", _read_matplotlib, _write_matplotlib, True),
    "pandas": ("pandas", _read_pandas, _write_pandas, True),
    "numpy print": ("numpy", _read_numpy_print, _write_numpy_print, True),
    "numpy random": ("numpy.random", _read_numpy_random, _write_numpy_random, True),
    "random": ("random", _read_random, _write_random, False),
}


def current():  # type: ignore[no-untyped-def]
    """This process's settings, by section, for the libraries it has imported."""
    found = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated options
        for section, (name, read, _write, _eager) in _SECTIONS.items():
            module = sys.modules.get(name)
            if module is not None:
                try:
                    found[section] = read(module)
                except Exception:  # a version that reads otherwise: not followed
                    pass
    return found


def defaults():  # type: ignore[no-untyped-def]
    """The settings a new process has before any cell changes them, for the libraries
    imported here whose defaults are known: matplotlib's (its defaults and the user's
    matplotlibrc) and pandas' (each option's registered default)."""
    found = {}
    matplotlib = sys.modules.get("matplotlib")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if getattr(matplotlib, "rc_params", None) is not None:
            params = matplotlib.rc_params()
            found["matplotlib"] = {k: _plain(v) for k, v in params.items() if k not in _OWN}
        if "pandas" in sys.modules:
            try:  # pandas keeps them with the options it registers (pandas._config)
                registered = sys.modules["pandas"]._config.config._registered_options
                found["pandas"] = {k: _plain(o.defval) for k, o in registered.items()}
            except Exception:  # a pandas that keeps them otherwise: all are sent once
                pass
    return found


def changed(before, after):  # type: ignore[no-untyped-def]
    """The entries of ``after`` (by section) that ``before`` does not have as they are."""
    found = {}
    for section, values in (after or {}).items():
        known = (before or {}).get(section) or {}
        differing = {k: v for k, v in values.items() if known.get(k, _MISSING) != v}
        if differing:
            found[section] = differing
    return found


def changed_by_cell(before):  # type: ignore[no-untyped-def]
    """What a cell changed of the settings that were ``before`` (:func:`current` then). A
    library the cell imported counts from its defaults where they are known (matplotlib's,
    pandas'); others from the next cell on."""
    known = dict(before)
    now = current()
    if any(section not in known for section in now):
        known = {**defaults(), **known}
    return changed(known, {k: v for k, v in now.items() if k in known})


def apply(changes):  # type: ignore[no-untyped-def]
    """Set ``changes`` (by section) here; a section whose library is not imported waits
    (:func:`apply_pending`), except matplotlib's, pandas' and numpy's, whose library is
    imported if installed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for section, values in (changes or {}).items():
            if section not in _SECTIONS:
                continue
            name, _read, write, eager = _SECTIONS[section]
            module = sys.modules.get(name)
            if module is None and eager:
                module = _imported(name)
            if module is None:
                _pending.setdefault(section, {}).update(values)
                continue
            _pending.pop(section, None)
            try:
                write(module, values)
            except Exception:  # a version that takes them otherwise: not followed
                pass


def _imported(name):  # type: ignore[no-untyped-def]
    """The module ``name``, imported where its package is installed; else None."""
    try:
        if importlib.util.find_spec(name.split(".")[0]) is None:
            return None
        return importlib.import_module(name)
    except Exception:  # not importable here (a refused or broken package): it waits
        return None


def apply_pending():  # type: ignore[no-untyped-def]
    """Set what waited for a library that has been imported since."""
    ready = {s: v for s, v in _pending.items() if _SECTIONS[s][0] in sys.modules}
    if ready:
        apply(ready)
