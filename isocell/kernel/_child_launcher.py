"""Start an ipykernel whose own packages come after the environment's (isocell's launcher).

Run by a child kernel's interpreter as a script, never imported by isocell::

    python _child_launcher.py LAYER_SITE_PACKAGES [ipykernel's arguments]

It does what ``python -m ipykernel_launcher`` does, after two steps:

1. the kernel layer's site-packages goes at the *end* of ``sys.path`` (``site.addsitedir``,
   which also reads its ``.pth`` files), so the environment's own packages win where both
   have one, as in the exported task that has only the environment's;
2. a guard makes the cell's own imports (code whose globals are the notebook namespace,
   ``__main__``: the cells and the functions they define) of a package that only the layer
   has fail with ``ModuleNotFoundError`` naming the ``--req`` that adds it: the cell would
   work here and its task fail in Airflow. ``IPython`` stays importable (its display API,
   which the export replaces), and packages import what they like: a library's optional
   import of a kernel package finds it here, where the task would not (README, "what
   differs"). ``import`` statements go through ``builtins.__import__`` (also for modules
   already loaded), ``importlib.import_module`` is wrapped too.

Runs on every Python isocell supports in a child: no f-strings, no annotations.
"""

import sys

#: Top-level packages of the layer a cell may import all the same.
ALLOWED = frozenset(["IPython"])


def _layer_modules(layer):
    """Top-level module names in the layer, and the distribution that provides each."""
    import os
    import pkgutil

    names = set(name for _, name, _ in pkgutil.iter_modules([layer]))
    provider = {}
    for entry in os.listdir(layer):
        if not entry.endswith(".dist-info"):
            continue
        distribution = entry[: -len(".dist-info")].rsplit("-", 1)[0]
        tops = os.path.join(layer, entry, "top_level.txt")
        record = os.path.join(layer, entry, "RECORD")
        found = []
        if os.path.exists(tops):
            with open(tops) as stream:
                found = [line.strip() for line in stream if line.strip()]
        elif os.path.exists(record):
            with open(record) as stream:
                for line in stream:
                    top = line.split(",", 1)[0].split("/", 1)[0]
                    if top.endswith(".py"):
                        top = top[:-3]
                    if top and not top.endswith((".dist-info", ".pth", ".data")):
                        found.append(top.split(".")[0])
        for top in found:
            provider.setdefault(top, distribution.replace("_", "-"))
    return names, provider


def _kernel_only(layer):
    """{module: distribution} of the layer's top-level modules that nothing else on
    ``sys.path`` (the environment, the standard library, the working folder) provides."""
    import os
    import pkgutil

    mine, provider = _layer_modules(layer)
    real = os.path.realpath(layer)
    others = [path or os.getcwd() for path in sys.path if os.path.realpath(path or ".") != real]
    theirs = set(name for _, name, _ in pkgutil.iter_modules(others))
    theirs |= set(sys.builtin_module_names)
    return dict((name, provider.get(name, name)) for name in mine - theirs - ALLOWED)


def _install_guard(layer):
    try:
        import builtins
    except ImportError:  # Python 2
        import __builtin__ as builtins  # type: ignore[no-redef]
    import importlib

    missing = getattr(builtins, "ModuleNotFoundError", ImportError)
    known = {}
    launcher_globals = globals()

    def refused(name, caller):
        if not caller or caller is launcher_globals or caller.get("__name__") != "__main__":
            return None
        if "names" not in known:
            known["names"] = _kernel_only(layer)
        top = name.partition(".")[0]
        distribution = known["names"].get(top)
        if distribution is None:
            return None
        error = missing(
            "No module named %r in this environment: it is there only for the child kernel, "
            "and the exported task would not have it; add --req %s" % (top, distribution)
        )
        error.name = top
        return error

    original_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        __tracebackhide__ = True  # IPython shows the cell's line, not this frame
        if level == 0:
            error = refused(name, globals)
            if error is not None:
                raise error
        return original_import(name, globals, locals, fromlist, level)

    original_import_module = importlib.import_module

    def import_module(name, package=None):
        __tracebackhide__ = True
        if not name.startswith("."):
            error = refused(name, sys._getframe(1).f_globals)
            if error is not None:
                raise error
        return original_import_module(name, package)

    import_module.__doc__ = original_import_module.__doc__
    builtins.__import__ = guarded_import
    importlib.import_module = import_module


def main():
    # Not "__main__" once started: warnings raised through the guard's frames are then
    # filtered as a library's (Python shows DeprecationWarning only for __main__), and the
    # cells are the only __main__ code.
    globals()["__name__"] = "isocell_child_launcher"
    layer = sys.argv.pop(1)
    # This file's folder, which Python put first on sys.path (IPython puts the working
    # folder there for the cells, as under ipykernel_launcher).
    del sys.path[0]
    import site

    site.addsitedir(layer)
    _install_guard(layer)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
