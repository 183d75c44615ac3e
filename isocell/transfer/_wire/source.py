"""Functions and classes defined in a notebook travel as source between Python versions.

cloudpickle's bytes hold code objects, which do not load on another Python version, so a
function or class defined in a cell (module ``__main__``) crosses as the text of its
definition, which the other side executes in its own namespace (as if the definition cell had
run there). The globals such a definition reads go along: modules by name, code by source
(recursively), values encoded as any value.

Where the text comes from: IPython keeps every cell's source in ``linecache``, so
``inspect.getsource`` finds a function's; a class (for which ``inspect`` cannot find a
``__main__`` source) is found by parsing the cells in ``linecache``, newest first, for a
top-level ``class`` statement of that name, preferring the one that holds its methods' code.

Lambdas and closures are refused: their text is not a definition that can run on its own.
This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

import ast
import builtins
import inspect
import linecache
import sys
import textwrap
import types

# Code executed from source gets a linecache entry of its own, so that tracebacks show its
# lines and it can be sent back again.
_FILENAME = "<isocell source {}>"
_counter = [0]


class NoSource(Exception):
    """A notebook-defined function or class whose definition text cannot be shipped.

    ``name`` is the function's or class's name.
    """

    def __init__(self, name, message):  # type: ignore[no-untyped-def]
        super().__init__(name, message)
        self.name, self.message = name, message

    def __str__(self):  # type: ignore[no-untyped-def]
        return self.message


def is_notebook_code(obj):  # type: ignore[no-untyped-def]
    """True for a function or class defined in the notebook (module ``__main__``)."""
    return isinstance(obj, (types.FunctionType, type)) and getattr(obj, "__module__", "") == (
        "__main__"
    )


def _cell_sources():  # type: ignore[no-untyped-def]
    for filename in reversed(list(linecache.cache)):
        if (
            filename.startswith("<ipython-input-")
            or filename.startswith("<isocell source")
            or "ipykernel_" in filename
        ):
            entry = linecache.cache.get(filename)
            if entry and len(entry) >= 3 and entry[2]:
                yield filename, "".join(entry[2])


def _methods_files(cls):  # type: ignore[no-untyped-def]
    files = set()
    for value in vars(cls).values():
        function = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
        code = getattr(function, "__code__", None)
        if code is not None:
            files.add(code.co_filename)
    return files


def _class_source(cls):  # type: ignore[no-untyped-def]
    wanted = _methods_files(cls)
    fallback = None
    for filename, text in _cell_sources():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            # ``class X: ...``, or a class made by a call: ``X = namedtuple("X", ...)``.
            made = isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                isinstance(target, ast.Name) and target.id == cls.__name__
                for target in getattr(node, "targets", [getattr(node, "target", None)])
            )
            if made or (isinstance(node, ast.ClassDef) and node.name == cls.__name__):
                decorators = getattr(node, "decorator_list", [])
                first = min([node.lineno] + [d.lineno for d in decorators])
                lines = text.splitlines(True)[first - 1 : node.end_lineno]  # type: ignore[attr-defined]
                found = "".join(lines)
                if not wanted or filename in wanted:
                    return found
                if fallback is None:
                    fallback = found
    if fallback is not None:
        return fallback
    raise NoSource(
        cls.__name__,
        f"the definition of class {cls.__qualname__!r} was not found in the notebook's cells",
    )


def source_of(obj):  # type: ignore[no-untyped-def]
    """The definition text of a notebook function or class, dedented.

    Raises
    ------
    NoSource
        For lambdas, closures, nested definitions, and definitions whose text is gone.
    """
    name = obj.__qualname__
    if "<locals>" in name or "." in name:
        raise NoSource(name, f"{name!r} is defined inside another function or class")
    if isinstance(obj, type):
        return textwrap.dedent(_class_source(obj))
    if obj.__name__ == "<lambda>":
        raise NoSource(name, "a lambda has no definition of its own; define it with def")
    if obj.__closure__:
        raise NoSource(name, f"function {name!r} is a closure; its captured values have no source")
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as error:
        raise NoSource(
            name, f"the source of function {name!r} is not available ({error})"
        ) from None


def _names_read(source):  # type: ignore[no-untyped-def]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            names.add(node.id)
    return names


def collect(roots, namespace):  # type: ignore[no-untyped-def]
    """Definitions and globals needed to rebuild ``roots`` on the other side.

    Parameters
    ----------
    roots : list of (name, obj)
        Notebook functions or classes, under the names the other side should bind.
    namespace : dict
        The namespace they were defined in (``__main__``'s).

    Returns
    -------
    tuple
        ``(definitions, values)``: ``definitions`` is a list of ``(name, source)`` in an
        order that defines what a definition needs (decorators, base classes) before it;
        ``values`` maps other global names read by the definitions to their values.
    """
    definitions = []
    values = {}
    done = set()
    visiting = set()
    builtin_names = set(vars(builtins))

    def visit(name, obj):  # type: ignore[no-untyped-def]
        if name in done or name in visiting:
            return
        visiting.add(name)
        source = source_of(obj)
        for used in sorted(_names_read(source)):
            if used == name or used not in namespace or used.startswith("__"):
                continue
            if used in builtin_names and namespace[used] is getattr(builtins, used, None):
                continue
            value = namespace[used]
            if is_notebook_code(value):
                visit(used, value)
            elif used not in values:
                values[used] = value
        visiting.discard(name)
        done.add(name)
        definitions.append((name, source))

    for name, obj in roots:
        visit(name, obj)
    return definitions, values


def unchanged(existing, text):  # type: ignore[no-untyped-def]
    """True if ``existing`` is notebook code whose definition text is ``text``."""
    if not is_notebook_code(existing):
        return False
    try:
        return source_of(existing) == text
    except NoSource:
        return False


def define(name, source, namespace):  # type: ignore[no-untyped-def]
    """Execute a definition's ``source`` in ``namespace``; returns the object bound to ``name``."""
    _counter[0] += 1
    filename = _FILENAME.format(_counter[0])
    lines = source.splitlines(True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    code = compile(source, filename, "exec")
    exec(code, namespace)
    return namespace[name]


def main_namespace():  # type: ignore[no-untyped-def]
    """The namespace ``__main__`` names resolve in (the notebook's, in IPython)."""
    return vars(sys.modules["__main__"])
