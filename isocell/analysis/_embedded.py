"""Python code that a cell runs from a string: the argument of a magic that runs code, and
the text given to ``eval`` or ``exec``.

IPython turns ``%timeit f(x)`` into ``get_ipython().run_line_magic('timeit', 'f(x)')``, ``x?``
into ``run_line_magic('pinfo', 'x')`` and ``%%time`` into ``run_cell_magic('time', '',
body)``: the names such code reads are inputs of the cell, and those it binds (``%time y =
f(x)``) outputs, as if written in the cell. Only magics whose argument is Python code are
read (IPython's ``%time``, ``%timeit``, ``%prun``, ``%debug``, ``%capture`` and the object
inspectors ``%pinfo`` and its kin); a string that does not parse adds nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Collection

__all__ = ["embedded_code", "names_in_strings_passed_to"]

_LINE_MAGICS = frozenset(
    {"time", "timeit", "prun", "debug", "pinfo", "pinfo2", "pdef", "pdoc", "psource", "pfile"}
)
_CELL_MAGICS = frozenset({"time", "timeit", "prun", "debug", "capture"})
_MAGIC_CALLS = {"run_line_magic": _LINE_MAGICS, "run_cell_magic": _CELL_MAGICS}


def embedded_code(call: ast.Call) -> ast.Module | None:
    """The code ``call`` runs from string constants, parsed; None when it runs none.

    A line magic's options come first (``%timeit -n 10 -r 3 f(x)``): the longest tail of the
    argument that parses is taken.
    """
    func = call.func
    texts: list[str] = []
    if isinstance(func, ast.Name) and func.id in ("eval", "exec") and call.args:
        texts = _constants(call.args[:1])
    elif isinstance(func, ast.Attribute) and func.attr in _MAGIC_CALLS:
        arguments = _constants(call.args)
        if len(arguments) == len(call.args) >= 2 and arguments[0] in _MAGIC_CALLS[func.attr]:
            texts = arguments[1:]
    body: list[ast.stmt] = []
    for text in texts:
        parsed = _longest_tail(text)
        if parsed is not None:
            body.extend(parsed.body)
    return ast.Module(body=body, type_ignores=[]) if body else None


def _constants(nodes: list[ast.expr]) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _longest_tail(text: str) -> ast.Module | None:
    words = text.split(" ")
    for start in range(min(len(words), 16)):
        tail = " ".join(words[start:]).strip()
        if not tail:
            return None
        try:
            return ast.parse(tail)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None


def names_in_strings_passed_to(source: str, callees: Collection[str]) -> tuple[str, ...]:
    """The names read by the code in the string constants ``source`` passes to calls of
    ``callees``: functions or classes that run their arguments as code (``eval(arg)``
    inside), so ``show('df', "df.groupby('key').std()")`` reads ``df``. Sorted; empty when
    ``source`` does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    texts: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in callees:
                texts += _constants([*node.args, *(k.value for k in node.keywords)])
    names: set[str] = set()
    for text in texts:
        parsed = _longest_tail(text)
        if parsed is not None:
            names.update(
                n.id
                for n in ast.walk(parsed)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            )
    return tuple(sorted(names))
