"""Render tasks as an Airflow DAG file, as a maintainer would write it, byte for byte stable.

The file follows Airflow's own examples and best practices: ``airflow.sdk`` decorators (or
``airflow.decorators`` for Airflow 2), an explicit ``schedule``, a static tz-aware
``start_date``, ``catchup=False``, imports inside task bodies, nothing at top level but the DAG
definition. It is formatted with ruff, so the same notebook always gives the same bytes.
"""

from __future__ import annotations

import functools
import keyword
import re
import subprocess
import textwrap
from dataclasses import dataclass, field
from typing import Any

from isocell.analysis import analyze_cell
from isocell.dag._legacy import legacy_body
from isocell.dag._literals import one_line_strings
from isocell.dag._lookups import LOOKUPS_ARGUMENT, Lookups, find_lookups, lookup_templates
from isocell.dag._model import Task
from isocell.dag._params import RUN_VALUES, Parameter
from isocell.dag._task_code import (
    DATA_DIR_ARGUMENT,
    docstring,
    task_code,
    task_parts,
    task_returns,
)
from isocell.envs import redact_text
from isocell.errors import ExportError

__all__ = ["DagOptions", "TaskEnvironment", "render_dag"]


@dataclass(frozen=True)
class TaskEnvironment:
    """Where a task runs.

    Attributes
    ----------
    kind : str
        ``"python"`` (the Airflow host's environment), ``"virtualenv"``,
        ``"external_python"``, ``"kubernetes"`` (a pod) or ``"legacy"`` (a Python older than
        Airflow's virtualenv tasks run, 3.6 or 2.7: ``python`` runs the cell from a task in
        Airflow's own environment).
    python_version : str
        ``major.minor``, for ``virtualenv``.
    requirements : tuple of str
        Pinned requirements, for ``virtualenv``.
    python : str
        The interpreter, for ``external_python`` and ``legacy``.
    variable : str
        The environment variable that overrides ``python`` (``ASTRO_PYENV_<name>``).
    index_urls : tuple of str
        Package indexes, for ``virtualenv``.
    image : str
        The pod's image, for ``kubernetes``.
    """

    kind: str = "python"
    python_version: str = ""
    requirements: tuple[str, ...] = ()
    python: str = ""
    variable: str = ""
    index_urls: tuple[str, ...] = ()
    image: str = ""


@dataclass(frozen=True)
class DagOptions:
    """What ``isocell export`` was asked for."""

    dag_id: str
    notebook: str
    schedule: str | None = None
    start_date: tuple[int, int, int] = (2024, 1, 1)
    airflow: int = 3
    data_dir: str = "dag"
    environments: dict[str, TaskEnvironment] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    #: The pods' namespace and resources (name, quantity), for ``kubernetes`` tasks.
    namespace: str = "default"
    resources: tuple[tuple[str, str], ...] = ()
    #: The Kubernetes Secret each pod takes its environment variables from.
    pod_secret: str = ""

    def run_value(self, name: str) -> tuple[str, str]:
        """The template and the kind of value of ``name``, a param or a context value."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter.template, "json"
        return RUN_VALUES[name]


def _identifier(task_id: str) -> str:
    name = re.sub(r"\W", "_", task_id)
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "task_" + name
    return name


def _lookups(task: Task, environment: TaskEnvironment, airflow: int) -> Lookups:
    """The Variables and Connections that reach ``task`` as a templated argument: those of an
    isolated task, or of any task for Airflow 2 (which has no ``Connection.get``)."""
    if environment.kind == "python" and airflow == 3:
        return Lookups()
    return find_lookups(task_code(task), task.cell.index)


def _body(task: Task, options: DagOptions, lookups: Lookups) -> str:
    """The task function's body: imports first, then what the task is given (lookups, run
    values, inputs), then its code, then what it returns."""
    decoded = [n for n in task.run_values if options.run_value(n)[1] != "text"]
    used = [
        name
        for name, wanted in (("load", task.inputs), ("run_value", decoded), ("store", task.outputs))
        if wanted
    ]
    lines = [f"from isocell_runtime import {', '.join(used)}"] if used else []
    environment = options.environments.get(task.task_id, TaskEnvironment())
    if environment.kind == "legacy":
        run = [f"{n} = run_value({n}, {options.run_value(n)[1]!r})" for n in decoded]
        python = (environment.python_version, environment.python, environment.variable)
        return legacy_body(task, lines, run, python)
    if lookups:
        lines.append("from isocell_runtime.variables import provide")
        rewrite = r"\1from isocell_runtime.variables import \2"
    elif environment.kind == "python":
        # Airflow 3's own Variable and Connection (same call shapes), masking what they return
        # in what the task prints (isocell.dag.runtime.airflow_lookups).
        rewrite = r"\1from isocell_runtime.airflow_lookups import \2"
    else:
        rewrite = r"\g<0>"  # left as it is
    imports, rest = task_parts(task)
    imports = [_displays(_ISOCELL_IMPORT.sub(rewrite, part)) for part in imports]
    rest = _displays(_ISOCELL_IMPORT.sub(rewrite, rest))
    if "display" in analyze_cell(rest).reads and not any(
        "display" in analyze_cell(part).binds for part in imports
    ):  # IPython's display(), which notebooks have without an import
        imports.append(f"{_DISPLAY_MODULE} import display")
    escaped = one_line_strings(rest)
    literal = escaped is None
    if literal:
        code = "\n\n".join(part for part in ["\n".join(imports), rest] if part)
    else:
        lines += imports
        rest = escaped or ""
    given = [f"provide({LOOKUPS_ARGUMENT})"] if lookups else []
    given += [f"{n} = run_value({n}, {options.run_value(n)[1]!r})" for n in decoded]
    given += [f"{name} = load({task.parameter(name)})" for name in task.inputs]
    lines += ["", *given] if given and lines else given
    if literal:
        # An f-string of the cell spans lines: indented into the task it would change, and
        # Airflow drops its lines that start with "#": the code goes as one string literal
        # instead, run in a namespace that starts with the task's inputs.
        where = f"<cell {task.cell.index + 1}>"
        lines.append(
            "# Run from a string: an f-string here spans lines, which the task's indentation "
            "would change."
        )
        lines.append("cell = dict(locals())")
        lines.append(f"exec(compile({code!r}, {where!r}, 'exec'), cell)")
    elif rest:
        lines += ["", rest] if lines else [rest]
    if task.cell.markdown:
        lines[:0] = [docstring(task.cell.markdown), ""]
    lines += task_returns(task, literal)
    return "\n".join(lines) if lines else "pass"


# ``from isocell import Variable, Connection`` in a cell (isocell.transfer._wire.variables).
_ISOCELL_IMPORT = re.compile(r"^(\s*)from isocell import (.+)$", re.MULTILINE)
# IPython's display API: the task prints what the cell displayed (isocell_runtime.display).
_IPYTHON_DISPLAY = re.compile(r"^(\s*)from IPython(?:\.core)?\.display import ", re.MULTILINE)
_DISPLAY_MODULE = "from isocell_runtime.display"


def _displays(code: str) -> str:
    """``code`` with its imports from ``IPython.display`` taken from the runtime instead."""
    return _IPYTHON_DISPLAY.sub(rf"\1{_DISPLAY_MODULE} import ", code)


def _render_task(task: Task, options: DagOptions) -> dict[str, Any]:
    """What the template needs of one task: its function's name, decorator, parameters,
    body, and the call that wires it to its upstream results."""
    environment = options.environments.get(task.task_id, TaskEnvironment())
    name = _identifier(task.task_id)
    # Context keys last, with a default: Airflow 2's TaskFlow gives them None defaults, and
    # a parameter without one may not follow them.
    context = [n for n in task.run_values if n in RUN_VALUES]
    plain = [task.parameter(n) for n in task.inputs]
    plain += [n for n in task.run_values if n not in RUN_VALUES]
    lookups = _lookups(task, environment, options.airflow)
    if lookups and environment.kind == "legacy":
        raise ExportError(
            task.cell.index,
            1,
            f"{task.cell.magic_line}: a cell on Python {environment.python_version} cannot "
            "read Airflow's Variables and Connections in its task: read them in another cell",
        )
    if lookups:
        plain.append(LOOKUPS_ARGUMENT)
    if task.outputs:
        plain.append(DATA_DIR_ARGUMENT)
    parameters = ", ".join([*plain, *(f"{n}=None" for n in context)])
    call = ", ".join(
        [
            *(
                f"{task.parameter(n)}={_identifier(task.upstream[n])}_result[{n!r}]"
                for n in task.inputs
            ),
            *(f"{n}={options.run_value(n)[0]!r}" for n in task.run_values),
            *([f"{LOOKUPS_ARGUMENT}={lookup_templates(lookups)!r}"] if lookups else []),
            *([f"{DATA_DIR_ARGUMENT}=DATA_DIR"] if task.outputs else []),
        ]
    )
    return {
        "name": name,
        # task_id= only where it is not the function's name (``--name a-b``)
        "task_id": None if name == task.task_id else task.task_id,
        "environment": environment,
        "parameters": parameters,
        "body": textwrap.indent(_body(task, options, lookups), "        "),
        "call": call,
        "cell": task.cell.index,
        "magic": redact_text(task.cell.magic_line),  # an --index-url's credentials
        # a pod's name: a DNS subdomain (the provider adds a random suffix)
        "pod_name": re.sub(r"[^a-z0-9-]+", "-", task.task_id.lower()).strip("-")[:50] or "task",
        "dropped": task.cell.dropped,
        "kind": environment.kind,
        "assign": bool(task.outputs),
        # a branch task returns the ids of its targets, its direct downstream tasks
        "branch": [_identifier(target) for target in task.cell.branch],
        "trigger_rule": task.trigger_rule,
    }


@functools.cache
def templates() -> Any:
    """The jinja2 environment of the templates in ``isocell/dag/templates`` (the DAG file, the
    Dockerfile); ``pyrepr`` writes a value as a Python literal, ``docstring`` escapes text for
    a docstring."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    jinja = Environment(
        loader=PackageLoader("isocell.dag", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # Text from the user inside the module docstring: no quote or backslash may end it early.
    jinja.filters["docstring"] = lambda text: str(text).replace("\\", "\\\\").replace('"', '\\"')
    jinja.filters["pyrepr"] = repr
    return jinja


def render_dag(tasks: list[Task], options: DagOptions) -> str:
    """The DAG file's text, formatted with ruff.

    Raises
    ------
    ExportError
        If the rendered file does not format (which would be an isocell bug) or ruff is
        missing.
    """
    jinja = templates()
    rendered = [_render_task(task, options) for task in tasks]
    targets = {target for task in rendered for target in task["branch"]}
    for task in rendered:  # the calls of a branch and its targets are named, for ">>"
        task["handle"] = bool(task["assign"] or task["branch"] or task["name"] in targets)
    text = jinja.get_template("dag.py.j2").render(
        options=options,
        tasks=rendered,
        uses_external=any(t["kind"] == "external_python" for t in rendered),
        uses_virtualenv=any(t["kind"] == "virtualenv" for t in rendered),
        uses_pods=any(t["kind"] == "kubernetes" for t in rendered),
        uses_legacy=any(t["kind"] == "legacy" for t in rendered),
        uses_data=any(t["assign"] for t in rendered),
        function=_identifier(options.dag_id),
        params=options.parameters,
        pod_secret=options.pod_secret,
    )
    return _format(text)


def _format(text: str) -> str:
    try:
        from ruff.__main__ import find_ruff_bin

        ruff = find_ruff_bin()
    except Exception as error:
        raise ExportError(None, None, f"ruff is needed to format the DAG: {error}") from None
    # Imports sorted (ruff's isort rules, in each task body too), then ruff's formatter.
    for command, ok in ((["check", "--select", "I", "--fix", "--exit-zero"], 0), (["format"], 0)):
        done = subprocess.run(
            [ruff, *command, "--isolated", "--stdin-filename", "dag.py", "-"],
            input=text,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != ok:
            raise ExportError(None, None, f"the generated DAG does not format: {done.stderr}")
        text = done.stdout
    return text
