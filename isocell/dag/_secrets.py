"""Values read from Variables and Connections are fetched again where they are used, never
stored: the recipe of each name that holds one.

A task returns its outputs as payload files under the DAG's data location, which is no place
for a password. So when a later task reads a name whose value came from ``Variable.get`` or
``Connection.get`` (the value itself, a Connection, an attribute or method result of one, or
a string, container or f-string built from one), the exported task does not load it: it runs
again the producing cell's statements that compute it (its backward slice), so the value is
fetched from Airflow in that task. Every Variable counts, not only those Airflow masks: the
notebook cannot know which ones a deployment keeps secret, and fetching one twice in a run
gives the same value.

Any other function of a secret (``len(token)``, ``requests.get(url, auth=...)``,
``pd.read_sql(query, conn.get_uri())``) is not taken for a secret: its result is stored like
any value, and the work that made it (a query, a request) is not done twice. Only what keeps
the secret's text counts: builtins such as ``str``, ``dict`` and ``list``, string methods,
f-strings and ``%``, and the standard library's serializers and encoders (``json.dumps``,
``base64.b64encode``, ``urllib.parse.urlencode``, ...).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from isocell.analysis import parse_cell
from isocell.errors import ExportError

__all__ = ["Recipe", "check_recipe", "lookup_classes", "secret_recipes"]

# Calls whose result holds their arguments' text: a secret passed in stays in the result
# (builtins, str methods, and the serializers and encoders of the standard library).
_KEEPING_CALLS = frozenset("str repr format dict list tuple set frozenset bytes".split())
_KEEPING_METHODS = frozenset(
    """format join encode decode copy dumps b64encode urlsafe_b64encode b32encode b16encode
    a85encode b85encode hexlify urlencode quote quote_plus urlunsplit urlunparse""".split()
)
_MUTATORS = frozenset("append extend insert update setdefault add".split())


@dataclass(frozen=True)
class Recipe:
    """How a task computes again a name that holds a secret.

    Attributes
    ----------
    statements : tuple of str
        The producing cell's statements that compute it, in order.
    lines : tuple of int
        Their first lines in that cell's code.
    reads : frozenset of str
        The names those statements read and do not bind themselves (the recipe's inputs).
    """

    statements: tuple[str, ...]
    lines: tuple[int, ...]
    reads: frozenset[str]


def lookup_classes(sources: list[str]) -> frozenset[str]:
    """The names under which cells import isocell's ``Variable`` and ``Connection``."""
    found = set()
    for source in sources:
        try:
            tree = parse_cell(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "isocell" and not node.level:
                found |= {a.asname or a.name for a in node.names if a.name in _CLASSES}
    return frozenset(found)


_CLASSES = ("Variable", "Connection")


def _carries(node: ast.AST, secret: set[str], classes: frozenset[str]) -> bool:
    """Whether the value of expression ``node`` may hold a secret's value."""
    if isinstance(node, ast.Name):
        return node.id in secret
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.attr == "get" and func.value.id in classes:
                return True
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if isinstance(func, ast.Attribute):
            if _carries(func.value, secret, classes):
                return True  # a method of a secret: conn.get_uri(), token.strip()
            if func.attr in _KEEPING_METHODS:
                return any(_carries(a, secret, classes) for a in arguments)
        if isinstance(func, ast.Name) and func.id in _KEEPING_CALLS:
            return any(_carries(a, secret, classes) for a in arguments)
        return False
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return _carries(node.value, secret, classes)
    if isinstance(node, (ast.Compare, ast.Lambda)):
        return False
    return any(_carries(child, secret, classes) for child in ast.iter_child_nodes(node))


def _base(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        return list(statement.targets)
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        return [statement.target]
    return []


def _binds(statement: ast.stmt) -> tuple[set[str], set[str]]:
    """(names the statement rebinds whole, names it changes in place)."""
    whole: set[str] = set()
    changed: set[str] = set()
    for target in _targets(statement):
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                (changed if isinstance(statement, ast.AugAssign) else whole).add(node.id)
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            changed.add(_base(target) or "")
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        if isinstance(func, ast.Attribute) and func.attr in _MUTATORS:
            changed.add(_base(func.value) or "")
    if isinstance(statement, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
        # What a block binds or changes anywhere inside counts as changed (it may not run).
        for inner in ast.walk(statement):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                changed.add(inner.id)
            elif isinstance(inner, ast.stmt) and inner is not statement:
                changed |= set().union(*_binds(inner))
    return whole - {""}, changed - {""}


def _reads(statement: ast.stmt) -> set[str]:
    return {
        node.id
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def secret_recipes(
    source: str, classes: frozenset[str], given: frozenset[str] = frozenset()
) -> dict[str, Recipe]:
    """The names that hold a secret at the end of ``source`` (a cell's code), each with the
    recipe that computes it again.

    Parameters
    ----------
    source : str
        Valid Python.
    classes : frozenset of str
        From :func:`lookup_classes`.
    given : frozenset of str
        Names that hold a secret when the cell starts (secrets of earlier cells it reads).
    """
    body = parse_cell(source).body
    secret: set[str] = set(given)
    bound_here: set[str] = set()
    for statement in body:
        whole, changed = _binds(statement)
        bound_here |= whole | changed
        if isinstance(statement, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            carried = _touches(statement, secret, classes)  # a block: anything inside counts
        else:
            carried = any(_carries(node, secret, classes) for node in _values(statement))
        if carried:
            secret |= whole | changed
        else:
            secret -= whole
    recipes = {}
    for name in sorted(secret & bound_here):
        chosen = _slice(body, name)
        statements = tuple(ast.get_source_segment(source, body[i]) or "" for i in chosen)
        bound: set[str] = set()
        reads: set[str] = set()
        for i in chosen:
            reads |= _reads(body[i]) - bound
            whole, changed = _binds(body[i])
            bound |= whole | changed
        lines = tuple(body[i].lineno for i in chosen)
        recipes[name] = Recipe(statements, lines, frozenset(reads))
    return recipes


def _touches(block: ast.stmt, secret: set[str], classes: frozenset[str]) -> bool:
    """Whether a block looks a Variable or Connection up, or reads a secret, anywhere."""
    for node in ast.walk(block):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in secret:
            return True
        if isinstance(node, ast.Call) and _carries(node, set(), classes):
            return True
    return False


def _values(statement: ast.stmt) -> list[ast.AST]:
    """The expressions whose values a simple statement stores."""
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return [statement.value] if statement.value is not None else []
    if isinstance(statement, ast.Expr):
        call = statement.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            return [*call.args, *(k.value for k in call.keywords)]
        return []
    return []


def _slice(body: list[ast.stmt], name: str) -> list[int]:
    """The indexes of the top-level statements that compute ``name`` at the end of ``body``:
    those that bind or change it, and, before each, those that compute what it reads."""
    wanted = {name}
    chosen: list[int] = []
    for index in range(len(body) - 1, -1, -1):
        statement = body[index]
        if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            continue  # the model's imports and definitions reach the task apart
        whole, changed = _binds(statement)
        if not (whole | changed) & wanted:
            continue
        chosen.append(index)
        wanted -= whole
        wanted |= changed | _reads(statement)
    return sorted(chosen)


def check_recipe(recipe: Recipe, name: str, producer: int, reader: int) -> None:
    """Refuse a recipe that would do more than compute values again.

    Raises
    ------
    ExportError
        If a statement of the recipe is not an assignment, an ``if`` of assignments or an
        in-place change (``d.update(...)``): running it again could print, write or call
        out a second time.
    """
    for text, line in zip(recipe.statements, recipe.lines, strict=True):
        statement = ast.parse(text).body[0]
        if not _recomputable(statement):
            raise ExportError(
                producer,
                line,
                f"{name!r} holds a value from a Variable or Connection and cell {reader + 1} "
                "reads it: the exported task reading it fetches it again (such values are "
                f"never stored), by running again the lines that compute it, but line {line} "
                "does more than compute a value. Read the Variable or Connection in the cell "
                "that uses it, or compute the value there",
            )


def _recomputable(statement: ast.stmt) -> bool:
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        return isinstance(func, ast.Attribute) and func.attr in _MUTATORS
    if isinstance(statement, ast.If):
        return all(_recomputable(s) for s in [*statement.body, *statement.orelse])
    return False
