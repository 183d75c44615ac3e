"""Names in expressions: the state of the walk behind :func:`isocell.analysis.analyze_cell`.

The walk keeps, for the current scope, the set of names bound on every path so far
(``Scope.definite``); branches walk from a copy and join by intersection. It records
module-level reads and binds, and for mutation a graph of aliases between variables
(``y = x`` or ``for row in rows``: changing y's or row's object changes x's or rows'), so
that a change made through an alias is traced back to the notebook name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from isocell.analysis._embedded import embedded_code
from isocell.analysis._scopes import Scope, bindings_of, owner_of, param_names, roots

__all__ = ["ExpressionWalker", "Key"]

Key = tuple[int, str]  # a variable: (identity of the scope that owns it, its name)


class ExpressionWalker(ast.NodeVisitor):
    """Walk expressions in evaluation order, tracking scopes and the names bound so far.

    :class:`isocell.analysis._statements.CellWalker` adds the statements.
    """

    def __init__(self) -> None:
        self.module = Scope("module")
        self.scope = self.module
        self.reads: set[str] = set()
        self.bind_kinds: dict[str, set[str]] = {}
        self.deleted: set[str] = set()
        self.star_import = False
        self.star_modules: list[str] = []
        self.modules: list[str] = []
        self.mutated: set[Key] = set()
        self.called: set[Key] = set()
        self.aliases: dict[Key, set[Key]] = {}
        self.subjects: list[set[Key]] = []

    def mutated_module_names(self) -> set[str]:
        """Return the module-level names whose objects the cell may change in place."""
        # Calling an alias of a bound method (`add = seen.add; add(x)`) mutates its owner.
        pending = list(self.mutated)
        for key in self.called:
            pending.extend(self.aliases.get(key, ()))
        seen: set[Key] = set()
        while pending:
            key = pending.pop()
            if key not in seen:
                seen.add(key)
                pending.extend(self.aliases.get(key, ()))
        return {name for ident, name in seen if ident == self.module.ident}

    # -- scopes and flow -----------------------------------------------------------------

    def walk(self, nodes: Iterable[ast.AST]) -> None:
        for node in nodes:
            self.visit(node)

    def _branch(self, start: set[str], nodes: Iterable[ast.AST]) -> set[str]:
        """Walk ``nodes`` from the bound-names state ``start``; return the state at the end."""
        self.scope.definite = set(start)
        self.walk(nodes)
        return self.scope.definite

    @contextmanager
    def _inside(self, scope: Scope) -> Iterator[None]:
        outer, self.scope = self.scope, scope
        try:
            yield
        finally:
            self.scope = outer

    def _function_scope(self, args: ast.arguments, body: Iterable[ast.AST]) -> Scope:
        bound, declared_global, declared_nonlocal = bindings_of(body)
        bound |= param_names(args)
        return Scope(
            "function",
            self.scope,
            bound=frozenset(bound - declared_global - declared_nonlocal),
            globals=frozenset(declared_global),
            nonlocals=frozenset(declared_nonlocal),
            deferred=True,
        )

    # -- name events -----------------------------------------------------------------------

    def _key(self, name: str) -> Key:
        return (owner_of(name, self.scope).ident, name)

    def _sources(self, expr: ast.AST | None) -> set[Key]:
        return {self._key(node.id) for node in roots(expr)}

    def _alias(self, key: Key, sources: set[Key]) -> None:
        if sources:
            self.aliases.setdefault(key, set()).update(sources)

    def _mutate(self, expr: ast.AST | None) -> None:
        self.mutated.update(self._sources(expr))

    def _load(self, name: str) -> None:
        owner = owner_of(name, self.scope)
        if owner is self.module and (self.scope.deferred or name not in owner.definite):
            self.reads.add(name)

    def _store(
        self,
        name: str,
        kind: str = "assign",
        sources: Iterable[Key] = (),
        scope: Scope | None = None,
    ) -> None:
        scope = scope or self.scope
        owner = owner_of(name, scope, store=True)
        self._alias((owner.ident, name), set(sources))
        if owner is scope and scope is self.scope:
            scope.definite.add(name)
        if owner is self.module:
            self.bind_kinds.setdefault(name, set()).add(kind)
            self.deleted.discard(name)

    def _delete(self, name: str) -> None:
        owner = owner_of(name, self.scope, store=True)
        if owner is self.module:
            # Deleting a name the cell has not bound deletes the notebook's value.
            if self.scope.deferred or name not in owner.definite:
                self.reads.add(name)
            if self.scope is self.module:
                self.deleted.add(name)
        owner.definite.discard(name)

    def _bind_target(self, target: ast.AST, sources: set[Key]) -> None:
        if isinstance(target, ast.Name):
            self._store(target.id, sources=sources)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element, sources)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, sources)
        else:  # attribute or item store: the base object now holds the value
            self.visit(target)
            for key in self._sources(target):
                self._alias(key, sources)

    def _note_call(self, func: ast.AST) -> None:
        if isinstance(func, ast.Name):
            self.called.add(self._key(func.id))
        elif isinstance(func, ast.Attribute):
            self._mutate(func.value)

    def _visit_defaults(self, args: ast.arguments) -> dict[str, set[Key]]:
        """Visit default values (evaluated now, in this scope); map parameters to sources."""
        positional = [*args.posonlyargs, *args.args]
        pairs = list(
            zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
        )
        pairs += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        ]
        sources: dict[str, set[Key]] = {}
        for param, default in pairs:
            self.visit(default)
            sources[param.arg] = self._sources(default)
        return sources

    def _alias_params(self, scope: Scope, defaults: dict[str, set[Key]]) -> None:
        # `def remember(key, cache=CACHE): cache[key] = ...` mutates CACHE.
        for name, sources in defaults.items():
            self._alias((scope.ident, name), sources)

    # -- expressions -----------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._load(node.id)
        elif isinstance(node.ctx, ast.Store):
            self._store(node.id)
        else:
            self._delete(node.id)

    def visit_Attribute(self, node: ast.Attribute | ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._mutate(node.value)
        self.generic_visit(node)

    visit_Subscript = visit_Attribute

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        self._note_call(node.func)
        for arg in node.args:
            self._mutate(arg)
        for keyword in node.keywords:
            self._mutate(keyword.value)
        code = embedded_code(node)
        if code is not None:  # `%timeit f(x)`, `x?`, `eval("x + 1")`: as if in the cell
            self.walk(code.body)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        # Walk left-nested chains (`a + b + c + ...`) in a loop: long ones exceed the
        # recursion limit otherwise.
        rights: list[ast.expr] = []
        left: ast.expr = node
        while isinstance(left, ast.BinOp):
            rights.append(left.right)
            left = left.left
        self.visit(left)
        self.walk(reversed(rights))

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        # Operands after the first may not run, so what they bind is not definite.
        self.visit(node.values[0])
        start = set(self.scope.definite)
        self.walk(node.values[1:])
        self.scope.definite = start

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.visit(node.test)
        start = self.scope.definite
        self.scope.definite = self._branch(start, [node.body]) & self._branch(start, [node.orelse])

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        scope = self.scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        self._store(node.target.id, sources=self._sources(node.value), scope=scope)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        defaults = self._visit_defaults(node.args)
        scope = self._function_scope(node.args, [node.body])
        self._alias_params(scope, defaults)
        with self._inside(scope):
            self.visit(node.body)

    def _visit_comprehension(self, node: ast.AST, parts: list[ast.expr]) -> None:
        generators: list[ast.comprehension] = node.generators  # type: ignore[attr-defined]
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        first_sources = self._sources(generators[0].iter)
        targets = {n.id for g in generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        deferred = self.scope.deferred or isinstance(node, ast.GeneratorExp)
        scope = Scope("comprehension", self.scope, bound=frozenset(targets), deferred=deferred)
        with self._inside(scope):
            for index, generator in enumerate(generators):
                if index:
                    self.visit(generator.iter)
                sources = self._sources(generator.iter) if index else first_sources
                self._bind_target(generator.target, sources)
                self.walk(generator.ifs)
            self.walk(parts)

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        self._visit_comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._visit_comprehension(node, [node.key, node.value])
