"""Statements in execution order: the second half of the walk behind ``analyze_cell``.

Module and class bodies run once, now, so their flow decides which names are definitely bound
when a read happens. Function bodies are walked with the same code, but their reads of
module-level names always count, since the function may run at any time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager

from isocell.analysis._expressions import ExpressionWalker
from isocell.analysis._scopes import Scope, bindings_of, unbound_by

__all__ = ["CellWalker"]


class CellWalker(ExpressionWalker):
    """Walk a cell's statements; the results are left in the walker's attributes."""

    @contextmanager
    def _type_params(self, node: ast.AST) -> Iterator[None]:
        # PEP 695 parameters live in their own scope around the def, class or alias.
        params = getattr(node, "type_params", None) or []
        if not params:
            yield
            return
        outer = self.scope
        scope = Scope("function", outer, bound=frozenset(p.name for p in params), deferred=True)
        with self._inside(scope):
            for param in params:  # bounds and defaults are evaluated lazily
                for value in (getattr(param, "bound", None), getattr(param, "default_value", None)):
                    if value is not None:
                        self.visit(value)
            scope.deferred = outer.deferred  # annotations and bases are evaluated now
            yield

    # -- match patterns --------------------------------------------------------------------

    def _capture(self, name: str | None) -> None:
        if name is not None:
            self._store(name, sources=self.subjects[-1] if self.subjects else set())

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self.generic_visit(node)
        self._capture(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        self._capture(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        self._capture(node.rest)

    # -- definitions -----------------------------------------------------------------------

    def _visit_decorators(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    ) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
            self._note_call(decorator)  # `@registry.add` calls registry.add(function)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._visit_decorators(node)
        defaults = self._visit_defaults(node.args)
        with self._type_params(node):
            args = node.args
            params = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
            annotations = [p.annotation for p in params if p is not None] + [node.returns]
            self.walk(a for a in annotations if a is not None)
            scope = self._function_scope(node.args, node.body)
            self._alias_params(scope, defaults)
            with self._inside(scope):
                self.walk(node.body)
        self._store(node.name, "def")

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_decorators(node)
        with self._type_params(node):
            for base in [*node.bases, *(k.value for k in node.keywords)]:
                self.visit(base)
                self._mutate(base)  # the metaclass and __init_subclass__ see the bases
            bound, declared_global, declared_nonlocal = bindings_of(node.body)
            scope = Scope(
                "class",
                self.scope,
                bound=frozenset(bound),
                globals=frozenset(declared_global),
                nonlocals=frozenset(declared_nonlocal),
                deferred=self.scope.deferred,
                definite={"__module__", "__qualname__"},
            )
            with self._inside(scope):
                self.walk(node.body)
        self._store(node.name, "class")

    def visit_TypeAlias(self, node: ast.AST) -> None:
        name: ast.Name = node.name  # type: ignore[attr-defined]
        self._store(name.id, "type")
        with self._type_params(node):
            with self._inside(Scope("function", self.scope, deferred=True)):  # lazy value
                self.visit(node.value)  # type: ignore[attr-defined]

    # -- simple statements -----------------------------------------------------------------

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star_import |= self.scope is self.module
                module = getattr(node, "module", None)
                if self.scope is self.module and module and not getattr(node, "level", 0):
                    self.star_modules.append(module)
            else:
                self._store(alias.asname or alias.name.partition(".")[0], "import")
        if self.scope is self.module and not getattr(node, "level", 0):
            module = getattr(node, "module", None)
            self.modules.extend([module] if module else [alias.name for alias in node.names])

    visit_ImportFrom = visit_Import

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        sources = self._sources(node.value)
        for target in node.targets:
            self._bind_target(target, sources)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            # `x += [1]` reads x and, for a list, changes that very object.
            self._load(target.id)
            self.mutated.add(self._key(target.id))
            self.visit(node.value)
            self._store(target.id)
        else:
            self.visit(target)
            self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.visit(node.annotation)
            self._bind_target(node.target, self._sources(node.value))
            return
        # A bare annotation binds nothing, but an attribute or item target is evaluated.
        self.visit(node.annotation)
        target = node.target
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            self.visit(target.value)
        if isinstance(target, ast.Subscript):
            self.visit(target.slice)

    # -- compound statements ---------------------------------------------------------------

    def visit_If(self, node: ast.If) -> None:
        ends: list[set[str]] = []
        while True:  # an elif chain, walked in a loop rather than by recursion
            self.visit(node.test)
            after_test = self.scope.definite
            ends.append(self._branch(after_test, node.body))
            self.scope.definite = after_test
            if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                node = node.orelse[0]
                continue
            ends.append(self._branch(after_test, node.orelse))
            break
        self.scope.definite = set.intersection(*ends)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        sources = self._sources(node.iter)
        # The body may run zero times, or again after deleting names.
        entry = self.scope.definite - unbound_by([*node.body, *node.orelse])
        self.scope.definite = set(entry)
        self._bind_target(node.target, sources)
        self.walk(node.body)
        self._branch(entry, node.orelse)
        self.scope.definite = entry

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        entry = self.scope.definite - unbound_by([*node.body, *node.orelse])
        after_test = self._branch(entry, [node.test])  # the test runs at least once
        self._branch(after_test, node.body)
        self._branch(after_test, node.orelse)
        self.scope.definite = set(after_test)

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            self._mutate(item.context_expr)  # __enter__ and __exit__ are method calls
            if item.optional_vars is not None:
                self._bind_target(item.optional_vars, self._sources(item.context_expr))
        self.walk(node.body)

    visit_AsyncWith = visit_With

    def visit_Try(self, node: ast.Try) -> None:
        before = set(self.scope.definite)
        self.walk(node.body)
        body_end = self.scope.definite
        # A handler may start anywhere in the body: only what was bound before is definite.
        caught = before - unbound_by(node.body)
        ends: list[set[str]] = []
        for handler in node.handlers:
            self.scope.definite = set(caught)
            if handler.type is not None:
                self.visit(handler.type)
            if handler.name:
                # Bound for the handler only: Python deletes it when the handler ends, so
                # it is not a bind of the cell.
                self.scope.definite.add(handler.name)
            self.walk(handler.body)
            if handler.name:
                self.scope.definite.discard(handler.name)
            ends.append(self.scope.definite)
        ends.append(self._branch(body_end, node.orelse))
        after = set.intersection(*ends)
        if node.finalbody:
            start = before - unbound_by([*node.body, *node.handlers, *node.orelse])
            finally_end = self._branch(start, node.finalbody)
            after = finally_end | (after - unbound_by(node.finalbody))
        self.scope.definite = after

    visit_TryStar = visit_Try

    def visit_Match(self, node: ast.Match) -> None:
        self.visit(node.subject)
        start = set(self.scope.definite)
        self.subjects.append(self._sources(node.subject))
        for case in node.cases:
            self.scope.definite = set(start)
            self.visit(case.pattern)
            if case.guard is not None:
                self.visit(case.guard)
            self.walk(case.body)
        self.subjects.pop()
        # No case may match, so nothing a case binds is definite afterwards.
        self.scope.definite = start - unbound_by(node.cases)
