"""Scopes of a cell's code and the names each one binds, decided the way CPython's compiler does.

The rules are those of the language reference, "Execution model: naming and binding": a name
bound anywhere in a function body is local to the whole body unless declared ``global`` or
``nonlocal``; class bodies are skipped when a nested function resolves a free name; a
comprehension's loop targets are local to it while ``:=`` binds in the enclosing function or
module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count
from typing import Literal

__all__ = [
    "Scope",
    "bindings_of",
    "names_bound_by",
    "owner_of",
    "param_names",
    "roots",
    "unbound_by",
]

_identities = count()


@dataclass(eq=False)
class Scope:
    """One scope of the cell: the module, a class body, a function or a comprehension.

    ``bound``, ``globals`` and ``nonlocals`` are static, as the compiler sees them.
    ``definite`` is flow state, meaningful for bodies walked in execution order (module and
    class bodies): the names bound on every path that reaches the statement being walked.
    ``deferred`` is true when the code runs at some later, unknown time (function bodies,
    generator expressions), so a module-level name it reads may be unbound by then.
    """

    kind: Literal["module", "class", "function", "comprehension"]
    parent: Scope | None = None
    bound: frozenset[str] = frozenset()
    globals: frozenset[str] = frozenset()
    nonlocals: frozenset[str] = frozenset()
    deferred: bool = False
    definite: set[str] = field(default_factory=set)
    ident: int = field(default_factory=lambda: next(_identities))


def owner_of(name: str, scope: Scope, *, store: bool = False) -> Scope:
    """Return the scope whose variable ``name`` denotes when used (or stored, if ``store``)
    in ``scope``."""
    current = scope
    innermost = True
    while current.parent is not None:
        if name in current.globals:
            break
        if current.kind == "class":
            # Only code directly in the class body sees its namespace; there a load falls
            # back to globals (LOAD_NAME), never to an enclosing function's variable.
            if innermost and name not in current.nonlocals:
                if store or name in current.definite:
                    return current
                if name in current.bound:
                    break
        elif name in current.bound:
            return current
        innermost = False
        current = current.parent
    while current.parent is not None:
        current = current.parent
    return current


def bindings_of(body: Iterable[ast.AST]) -> tuple[set[str], set[str], set[str]]:
    """Return the names a scope's body binds, declares ``global`` and declares ``nonlocal``.

    Nested function and class bodies are not entered (their names, decorators, defaults and
    bases are), nor are comprehension loop targets; ``:=`` targets inside comprehensions are
    included because they bind in this scope.
    """
    bound: set[str] = set()
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            declared_nonlocal.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend([*node.bases, *node.keywords])
            else:
                stack.append(node.args)
        elif isinstance(node, ast.Lambda):
            stack.append(node.args)
        elif isinstance(node, ast.comprehension):
            stack.extend([node.iter, *node.ifs])
        else:
            bound.update(names_bound_by(node))
            stack.extend(ast.iter_child_nodes(node))
    return bound - declared_global - declared_nonlocal, declared_global, declared_nonlocal


def names_bound_by(node: ast.AST) -> list[str]:
    """Return the names ``node`` itself binds (not those bound by its children), other than
    function and class names."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [node.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.partition(".")[0] for a in node.names if a.name != "*"]
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def param_names(args: ast.arguments) -> set[str]:
    """Return the names of every parameter in ``args``."""
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {p.arg for p in params if p is not None}


def unbound_by(nodes: Iterable[ast.AST]) -> set[str]:
    """Return the names that ``del`` or the implicit delete after ``except ... as`` may
    unbind somewhere inside ``nodes``."""
    names: set[str] = set()
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Del):
                names.add(node.id)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
    return names


def roots(expr: ast.AST | None) -> list[ast.Name]:
    """Return the names whose objects ``expr`` may evaluate to, or reach into.

    ``frame.loc[0]`` gives ``frame``; ``[a, *b]`` gives ``a`` and ``b``; ``x or y`` gives
    both. A call or an operator gives nothing: its result is a new object as far as this
    analysis is concerned (its arguments and receiver are accounted for at the call).
    """
    found: list[ast.Name] = []
    stack = [] if expr is None else [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            found.append(node)
        elif isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred, ast.NamedExpr)):
            stack.append(node.value)
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            stack.extend(node.elts)
        elif isinstance(node, ast.Dict):
            stack.extend([k for k in node.keys if k is not None])
            stack.extend(node.values)
        elif isinstance(node, ast.IfExp):
            stack.extend([node.body, node.orelse])
        elif isinstance(node, ast.BoolOp):
            stack.extend(node.values)
    return found
