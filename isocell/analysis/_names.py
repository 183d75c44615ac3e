"""Which notebook names a cell reads, binds, deletes and may mutate.

``%%isolated`` ships the names a cell reads into the child kernel and ships back the names
it binds or mutates, so that afterwards the notebook looks as if the cell had run locally.
The analysis is static and errs on the side of listing too much: an extra name costs only
transfer time, a missing one leaves the notebook wrong.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from isocell.analysis._python2 import as_python3, parse_cell
from isocell.analysis._scopes import names_bound_by
from isocell.analysis._statements import CellWalker

__all__ = ["CellNames", "analyze_cell", "bind_last_expression", "bound_in_order"]

_PARSE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


@dataclass(frozen=True)
class CellNames:
    """The notebook (module-level) names one cell uses. Every tuple is sorted and unique.

    Attributes
    ----------
    reads : tuple of str
        Names the cell may read from the notebook namespace before binding them itself,
        builtins included (the caller filters by presence in the namespace).
    binds : tuple of str
        Names the cell may bind at module level, directly or through ``global``.
    imports : tuple of str
        The subset of ``binds`` bound only by ``import`` statements.
    deletes : tuple of str
        Names deleted by a module-level ``del`` and not bound again later in source order.
        The ``del`` may sit on a path that does not run, so check the child's namespace.
    mutates : tuple of str
        The subset of ``reads`` whose object the cell may change in place.
    star_import : bool
        The cell runs ``from module import *`` at module level, so ``binds`` is incomplete.
    star_modules : tuple of str
        The modules of those star imports (absolute ones), in order: what they bind is
        known only where they run (the module's ``__all__``, else its public names).
    modules : tuple of str
        The modules the cell imports at module level (absolute ones, dotted: ``import a.b``
        and ``from a.b import c`` give ``a.b``), in order.
    """

    reads: tuple[str, ...] = ()
    binds: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    mutates: tuple[str, ...] = ()
    star_import: bool = False
    star_modules: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()


def analyze_cell(source: str) -> CellNames:
    """Find the notebook names a cell reads, binds, deletes and may mutate.

    Parameters
    ----------
    source : str
        The cell as plain Python; IPython magics must already be transformed away.
        Top-level ``await``, ``async for`` and ``async with`` are accepted, as IPython does.

    Returns
    -------
    CellNames
        The names, with Python's scoping rules applied ("Execution model: naming and
        binding" in the language reference). A cell that does not parse gives an empty
        result: the child kernel reports the ``SyntaxError`` itself.

    Notes
    -----
    A module-level name is read when some read site may run before the cell binds it on
    every path. Reads in function bodies, lambdas and generator expressions always count,
    since they may run at any time; class bodies and list, set and dict comprehensions run
    at once, so they see what is bound at that point. A name may be mutated when it is the
    base of an attribute or item store or delete, the receiver of a method call, an
    argument of any call, a context manager, a base class, the target of an augmented
    assignment, or an alias (plain, item, attribute or loop-target) of such a name. Being
    iterated over (``for row in rows``) does not count by itself.

    ``except E as e`` binds ``e`` only for the handler (Python deletes it afterwards), so
    ``e`` is neither in ``binds`` nor in ``deletes``. A deferred read or bind made through
    ``global`` in a function counts whether or not the function is ever called.
    """
    tree = _parse(source)
    if tree is None:
        return CellNames()
    walker = CellWalker()
    try:
        walker.walk(tree.body)
    except RecursionError:
        return _coarse(tree)
    imports = [name for name, kinds in walker.bind_kinds.items() if kinds == {"import"}]
    return CellNames(
        reads=tuple(sorted(walker.reads)),
        binds=tuple(sorted(walker.bind_kinds)),
        imports=tuple(sorted(imports)),
        deletes=tuple(sorted(walker.deleted)),
        mutates=tuple(sorted(walker.mutated_module_names() & walker.reads)),
        star_import=walker.star_import,
        star_modules=tuple(dict.fromkeys(walker.star_modules)),
        modules=tuple(dict.fromkeys(walker.modules)),
    )


def _parse(source: str) -> ast.Module | None:
    """The cell's tree; a cell in Python 2 (a ``--python 2.7`` cell's ``print "x"``) is read
    through its Python 3 rewrite (:func:`as_python3`), with the same names."""
    tree = _compile(source)
    if tree is None:
        rewritten = as_python3(source)
        tree = None if rewritten is None else _compile(rewritten)
    return tree


def _compile(source: str) -> ast.Module | None:
    try:
        tree = compile(source, "<cell>", "exec", flags=_PARSE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, RecursionError):
        return None
    return tree  # type: ignore[no-any-return]


def _coarse(tree: ast.AST) -> CellNames:
    """Over-approximate without scopes, for trees nested too deep to walk recursively."""
    names: set[str] = set()
    bound: set[str] = set()
    star_import = False
    for node in ast.walk(tree):  # iterative, so it copes with any depth
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            star_import |= any(alias.name == "*" for alias in node.names)
        bound.update(names_bound_by(node))
    reads = tuple(sorted(names))
    return CellNames(reads, tuple(sorted(bound)), (), (), reads, star_import)


def bound_in_order(source: str, binds: Iterable[str]) -> list[str]:
    """The names of ``binds`` in the order the code first stores them (line, then column).

    Gives a cell's task id (its first bound name) to the export and to the notebook's
    branches alike.

    Raises
    ------
    SyntaxError
        If ``source`` does not parse.
    """
    wanted = set(binds)
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(parse_cell(source)):  # a Python 2 cell too
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in wanted:
            found.append((node.lineno, node.col_offset, node.id))
    return list(dict.fromkeys(name for _, _, name in sorted(found)))


def bind_last_expression(code: str, name: str, parsed: str | None = None) -> str | None:
    """``code`` with its last statement, an expression, also stored in ``name``: ``x`` →
    ``name = (x)``, its lines unmoved (tracebacks keep the cell's line numbers); None when
    ``code`` does not end with an expression.

    ``parsed`` is the same code as plain Python, when ``code`` holds IPython syntax that
    keeps its lines (IPython's transformed cell); default: ``code``.

    Raises
    ------
    SyntaxError
        If the code does not parse.
    """
    tree = ast.parse(parsed if parsed is not None else code)
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr):
        return None
    node = last.value
    lines = [line.encode("utf-8") for line in code.split("\n")]  # ast offsets are in bytes
    first, final = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    end = node.end_col_offset if node.end_col_offset is not None else len(lines[final])
    lines[final] = lines[final][:end] + b")" + lines[final][end:]
    start = node.col_offset
    lines[first] = lines[first][:start] + f"{name} = (".encode() + lines[first][start:]
    return b"\n".join(lines).decode("utf-8")
