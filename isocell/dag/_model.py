"""From notebook cells to tasks: bodies, inputs, outputs and dependencies by dataflow.

A cell becomes a task when it does work; a plain cell that only imports modules or defines
functions and classes does not: its imports and definitions go into the bodies of the tasks
that use them (an Airflow task body must be self-contained, and ``@task.virtualenv`` ships
only the function's own source). A task depends on the tasks whose outputs it reads, so
independent cells may run in parallel, and a task returns only what later tasks read.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from isocell.analysis import analyze_cell, parse_cell
from isocell.dag._collect import NotebookCell
from isocell.dag._params import RUN_VALUES, Parameter
from isocell.dag._secrets import Recipe, check_recipe, lookup_classes, secret_recipes
from isocell.dag._task_ids import named_cells, task_id_of
from isocell.errors import ExportError

__all__ = ["Task", "build_tasks", "shows_only"]

# Names Airflow fills from the task context when a task parameter has them (Airflow's
# ``KNOWN_CONTEXT_KEYS``): never used as parameter names for data.
CONTEXT_KEYS = frozenset(
    """conf conn dag dag_run data_interval_end data_interval_start ds ds_nodash execution_date
    expanded_ti_count inlet_events inlets logical_date macros map_index_template next_ds
    next_ds_nodash next_execution_date outlet_events outlets params prev_data_interval_end_success
    prev_data_interval_start_success prev_ds prev_ds_nodash prev_end_date_success
    prev_execution_date prev_execution_date_success prev_start_date_success run_id start_date
    task task_instance task_instance_key_str task_reschedule_count templates_dict test_mode ti
    tomorrow_ds tomorrow_ds_nodash triggering_asset_events triggering_dataset_events ts
    ts_nodash ts_nodash_with_tz var yesterday_ds yesterday_ds_nodash""".split()
)
# What a task body finds without any cell defining it: Python's builtins (``__name__`` and
# the like included) and the values of the run's context that tasks are given.
# IPython's ``display``, which every notebook has without an import, comes from the runtime.
_PROVIDED = frozenset(dir(builtins)) | frozenset(RUN_VALUES) | {"display"}
# Methods of builtin containers that change them in place. Across tasks a value changes only
# through these, ``inplace=True``, or a store into it: a task that calls any other method on
# an input does not make it an output, so readers of the original need not wait for it.
MUTATORS = frozenset(
    "append extend insert pop remove clear update setdefault popitem sort reverse add "
    "discard difference_update intersection_update symmetric_difference_update".split()
)


@dataclass
class Task:
    """One task of the DAG.

    Attributes
    ----------
    task_id : str
        From ``--name``, else from what the cell binds (see :func:`build_tasks`).
    cell : NotebookCell
        Where it comes from.
    code : str
        The cell's code (plain Python).
    preamble : list of str
        Import statements and definitions from other cells that the code uses, in order.
    inputs : list of str
        Variables it reads that earlier tasks produce (its parameters).
    outputs : list of str
        Variables it produces that later tasks read (its return value).
    upstream : dict
        Input name → the task id that produces it.
    run_values : list of str
        Names it reads from the run rather than from a task: the DAG's params and values of
        the run's context (``ds``, ``logical_date``, ...).
    recomputed : list of str
        Code of earlier cells that computes again what it reads from Variables and
        Connections (:mod:`isocell.dag._secrets`), dependencies first.
    secrets : dict
        Name → :class:`~isocell.dag._secrets.Recipe`, for the names it leaves holding a value
        from a Variable or Connection: never among its outputs.
    trigger_rule : str or None
        Airflow's trigger rule, where not the default (the tasks after a branch's targets:
        :mod:`isocell.dag._branches`).
    texts : list of str
        Outputs whose text it also returns as a plain XCom, for the per-run requirements of
        later tasks (:mod:`isocell.dag._requirements`).
    """

    task_id: str
    cell: NotebookCell
    code: str
    preamble: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    upstream: dict[str, str] = field(default_factory=dict)
    run_values: list[str] = field(default_factory=list)
    recomputed: list[str] = field(default_factory=list)
    secrets: dict[str, Recipe] = field(default_factory=dict)
    trigger_rule: str | None = None
    texts: list[str] = field(default_factory=list)

    def parameter(self, name: str) -> str:
        """The parameter name for input ``name``: itself, unless Airflow would fill it."""
        return f"{name}_value" if name in CONTEXT_KEYS else name


@dataclass
class _Scope:
    imports: dict[str, str] = field(default_factory=dict)  # name -> import statement
    definitions: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    producers: dict[str, Task] = field(default_factory=dict)
    params: set[str] = field(default_factory=set)


def _segment(source: str, node: ast.stmt) -> str:
    text = ast.get_source_segment(source, node, padded=False) or ""
    decorators = getattr(node, "decorator_list", [])
    if decorators:
        first = min(d.lineno for d in decorators)
        lines = source.splitlines()[first - 1 : node.end_lineno]
        text = "\n".join(lines)
    return text


def _split(cell: NotebookCell) -> tuple[list[tuple[str, str]], list[tuple[str, str]], bool]:
    """(imports as (name, statement), definitions as (name, source), does work)."""
    try:
        tree = parse_cell(cell.source)
    except SyntaxError as error:
        raise ExportError(cell.index, error.lineno, f"syntax error: {error.msg}") from None
    imports, definitions, work = [], [], False
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    raise ExportError(cell.index, node.lineno, "star imports cannot be exported")
                name = alias.asname or alias.name.split(".")[0]
                # One name a statement: a task that needs ``pd`` of ``import pandas as pd, sys``
                # gets ``import pandas as pd`` alone.
                one: ast.stmt = (
                    ast.Import(names=[alias])
                    if isinstance(node, ast.Import)
                    else ast.ImportFrom(module=node.module, names=[alias], level=node.level)
                )
                imports.append((name, ast.unparse(one)))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions.append((node.name, _segment(cell.source, node)))
        elif not (isinstance(node, ast.Expr) and shows_only(node.value)):
            work = True
    return imports, definitions, work


def shows_only(value: ast.expr) -> bool:
    """Whether an expression statement only shows a value in a notebook and does nothing in a
    task: a constant (a docstring), a name, ``a.b``, or a tuple of these."""
    if isinstance(value, (ast.Constant, ast.Name)):
        return True
    if isinstance(value, ast.Attribute):
        return shows_only(value.value)
    if isinstance(value, ast.Tuple):
        return all(shows_only(item) for item in value.elts)
    return False


def _base_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def mutated(source: str, names: set[str]) -> set[str]:
    """Which of ``names`` the code changes in place: stores or deletes into them
    (``frame["x"] = ...``, ``obj.a = ...``, ``del d[k]``, ``x[0] += 1``), container methods
    (``items.append(...)``) and pandas' ``inplace=True``."""
    found: set[str] = set()
    for node in ast.walk(parse_cell(source)):
        targets: list[ast.expr] = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                found.add(_base_name(target) or "")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            inplace = any(
                k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords
            )
            if node.func.attr in MUTATORS or inplace:
                found.add(_base_name(node.func.value) or "")
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
    return found & names


def _closure(reads: set[str], scope: _Scope, own: set[str]) -> tuple[list[str], set[str]]:
    """Definitions (from other cells) that code reading ``reads`` needs, dependencies first,
    and every name that code and those definitions read."""
    needed: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in own or name not in scope.definitions:
            return
        seen.add(name)
        for used in sorted(scope.definitions[name][1]):
            visit(used)
        needed.append(name)

    for name in sorted(reads):
        visit(name)
    names = set(reads)
    for name in needed:
        names |= scope.definitions[name][1]
    return needed, names


def _refuse_undefined(cell: NotebookCell, reads: set[str], scope: _Scope, own: set[str]) -> None:
    """An export error for the first name the cell (or a function it calls) reads that no
    earlier cell, its own imports, Python's builtins or Airflow's context defines: the task
    would fail with ``NameError`` under Airflow."""
    known = own | set(scope.imports) | set(scope.definitions) | set(scope.producers)
    known |= scope.params
    undefined = sorted(reads - known - _PROVIDED)
    if not undefined:
        return
    name = undefined[0]
    lines = [
        node.lineno
        for node in ast.walk(parse_cell(cell.source))
        if isinstance(node, ast.Name) and node.id == name
    ]
    line = min(lines) if lines else None  # None: read by a function the cell calls
    offset = cell.offset  # a cell magic's line comes first in the notebook
    if name in CONTEXT_KEYS:
        raise ExportError(
            cell.index,
            line + offset if line is not None else None,
            f"{name!r} is in Airflow's context, but only {', '.join(RUN_VALUES)} reach an "
            "exported task; read one of those, or compute the value from them",
        )
    others = f" (nor {', '.join(map(repr, undefined[1:4]))})" if len(undefined) > 1 else ""
    raise ExportError(
        cell.index,
        line + offset if line is not None else None,
        f"{name!r}{others} is read here but defined by no cell above it, nor by an import, "
        "Python's builtins or Airflow's context: its task would fail with NameError under "
        "Airflow. Define it in an earlier cell, or import it",
    )


def build_tasks(cells: list[NotebookCell], parameters: tuple[Parameter, ...] = ()) -> list[Task]:
    """The tasks of a notebook, in cell order, with their dataflow.

    A task's id is the cell's ``--name``, else the first name the cell binds (in source order)
    that no other task has, else that name with 6 hex digits of the cell's source hash, or
    ``cell_<hash>`` for a cell that binds nothing: never the cell's position, so inserting,
    deleting or moving another cell renames no task (Airflow keys run history by task id).

    ``parameters`` are the DAG's params (:func:`~isocell.dag._params.read_parameters` of the
    same cells): the cell tagged ``parameters`` is no task, and what it assigns comes from
    the run.

    Raises
    ------
    ExportError
        For an invalid task id or one two cells would have (naming both), a cell that does
        not parse, or a cell that reads a name nothing defines.
    """
    scope = _Scope()
    tasks: list[Task] = []
    declared = {parameter.name for parameter in parameters}
    named = named_cells(cells)
    classes = lookup_classes([cell.source for cell in cells])
    for cell in cells:
        if cell.holds_parameters:
            # Not a task: its names are the DAG's params, which every run gives.
            scope.params |= declared
            for name in declared:
                scope.producers.pop(name, None)
            continue
        imports, definitions, work = _split(cell)
        names = analyze_cell(cell.source)
        if work or cell.isolated or cell.branch:
            task_id = task_id_of(cell, names.binds, named, {t.task_id: t.cell for t in tasks})
            task = Task(task_id, cell, cell.source)
            own = {name for name, _ in imports} | {name for name, _ in definitions}
            wanted = set(names.reads) | set(cell.requirement_names)  # per-run requirements
            needed, reads = _closure(wanted, scope, own)
            _refuse_undefined(cell, reads, scope, own)
            given, recipe_reads = _recompute_secrets(task, reads - own, scope)
            if given:
                needed, reads = _closure((reads - given) | recipe_reads, scope, own)
            for name in sorted(reads - given):
                producer = scope.producers.get(name)
                if producer is not None and name not in own:
                    task.inputs.append(name)
                    task.upstream[name] = producer.task_id
                    if name not in producer.outputs:
                        producer.outputs.append(name)
                elif (
                    name not in own and name not in scope.imports and name not in scope.definitions
                ):
                    if name in scope.params or name in RUN_VALUES:
                        task.run_values.append(name)
            statements: list[str] = []
            for name in sorted(reads - own - set(task.inputs)):
                statement = scope.imports.get(name)
                if statement is not None and statement not in statements:
                    statements.append(statement)
            task.preamble = statements + [scope.definitions[name][0] for name in needed]
            task.secrets = secret_recipes(cell.source, classes, frozenset(given))
            tasks.append(task)
            produced = set(names.binds) - {n for n, _ in imports} - {n for n, _ in definitions}
            for name in sorted(produced | mutated(cell.source, set(task.inputs))):
                scope.producers[name] = task
        for name, statement in imports:
            scope.imports[name] = statement
        for name, text in definitions:
            scope.definitions[name] = (text, frozenset(analyze_cell(text).reads) - {name})
            scope.producers.pop(name, None)
    return tasks


def _recompute_secrets(task: Task, reads: set[str], scope: _Scope) -> tuple[set[str], set[str]]:
    """Put into ``task.recomputed`` the recipes of the secrets it reads (and of the secrets
    those recipes read), earliest cell first.

    Returns
    -------
    (set of str, set of str)
        The names the task thus computes itself, and what the recipes read besides.

    Raises
    ------
    ExportError
        If a recipe would do more than compute values (``check_recipe``).
    """
    chosen: dict[str, tuple[Task, Recipe]] = {}
    pending = sorted(reads)
    while pending:
        name = pending.pop()
        producer = scope.producers.get(name)
        if name in chosen or producer is None or name not in producer.secrets:
            continue
        recipe = producer.secrets[name]
        offset = producer.cell.offset
        shifted = Recipe(recipe.statements, tuple(n + offset for n in recipe.lines), recipe.reads)
        check_recipe(shifted, name, producer.cell.index, task.cell.index)
        chosen[name] = (producer, recipe)
        pending += sorted(recipe.reads)
    by_cell: dict[int, tuple[Task, dict[int, str]]] = {}
    for producer, recipe in chosen.values():
        _, lines = by_cell.setdefault(producer.cell.index, (producer, {}))
        lines.update(zip(recipe.lines, recipe.statements, strict=True))
    for index in sorted(by_cell):
        producer, lines = by_cell[index]
        task.recomputed.append(
            f"# Fetched again, as cell {index + 1} fetched it (values from Variables and "
            "Connections are never stored):\n" + "\n".join(lines[n] for n in sorted(lines))
        )
    recipe_reads = set().union(*(recipe.reads for _, recipe in chosen.values()))
    return set(chosen), recipe_reads - set(chosen)
