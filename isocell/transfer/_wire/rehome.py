"""Notebook code that cloudpickle rebuilt gets the namespace it came from as its globals.

cloudpickle rebuilds a function defined in ``__main__`` (and the methods of such a class)
with a globals dictionary of its own, holding only the globals its code names, as they were
when it was pickled. Locally a notebook function reads the notebook's namespace: a global
rebound later, or read through ``eval('df')``, is the namespace's. So each rebuilt function
gets the receiving namespace as its globals, and the values it carried go into that
namespace: replacing what is there in the child (they are the notebook's current values),
only where missing in the notebook (whose own values are the current ones).

This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

import sys
import types

__all__ = ["rehome"]


def rehome(value, namespace, replace):  # type: ignore[no-untyped-def]
    """``value`` with its notebook functions' globals made ``namespace`` (a function is
    rebuilt; a class's methods are replaced in it). ``replace``: the globals the functions
    carried replace the namespace's values of those names; else only missing ones are set."""
    if isinstance(value, types.FunctionType):
        return _function(value, namespace, replace)
    if isinstance(value, type) and value.__module__ == "__main__":
        for key, member in list(vars(value).items()):
            rebuilt = _member(member, namespace, replace)
            if rebuilt is not member:
                setattr(value, key, rebuilt)
    return value


def _member(member, namespace, replace):  # type: ignore[no-untyped-def]
    if isinstance(member, types.FunctionType):
        return _function(member, namespace, replace)
    if isinstance(member, (staticmethod, classmethod)):
        inner = _function(member.__func__, namespace, replace)
        return member if inner is member.__func__ else type(member)(inner)
    if isinstance(member, property):
        old = (member.fget, member.fset, member.fdel)
        parts = [_member(p, namespace, replace) if p else p for p in old]
        if all(a is b for a, b in zip(parts, old)):
            return member
        return property(*parts, member.__doc__)
    return member


def _function(function, namespace, replace):  # type: ignore[no-untyped-def]
    carried = function.__globals__
    if carried is namespace or function.__module__ != "__main__":
        return function
    if carried is getattr(sys.modules.get("__main__"), "__dict__", None):
        return function  # the real __main__'s: not a dictionary cloudpickle made
    for name, value in carried.items():
        if not name.startswith("__") and (replace or name not in namespace):
            namespace[name] = value
    rebuilt = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )
    rebuilt.__kwdefaults__ = function.__kwdefaults__
    rebuilt.__dict__.update(function.__dict__)
    for attribute in ("__qualname__", "__doc__", "__module__", "__annotations__"):
        setattr(rebuilt, attribute, getattr(function, attribute))
    return rebuilt
