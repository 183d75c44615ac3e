"""Per-run requirements: ``--req pandas=={version}`` as Airflow's templated ``requirements``.

In the notebook, IPython fills ``{version}`` (or ``$version``) in from the notebook's
variables before the magic reads its line (``InteractiveShell.var_expand``), so a cell can
build its environment from a parameter or from a value an earlier cell computed. The
``requirements`` of ``@task.virtualenv`` is one of the operator's templated fields (Airflow's
``PythonVirtualenvOperator.template_fields``; the "install different packages for each run"
pattern of Astronomer's guide), so the export keeps the requirement's shape and templates the
value:

* a parameter: ``pandas=={{ params.version }}``, the run's value of it;
* a value an earlier task makes: ``pandas=={{ ti.xcom_pull(task_ids="pins",
  key="version__text") }}``; that task also returns the value's text (``str``, as IPython's
  expansion formats it) under that key, since its values otherwise travel as payload
  references.

Anything else (a name from an import, a context value, an expression) is an export error
naming the cell and the expansion. Such a task has no lock: its environment depends on the
run, so Airflow resolves it at run time.
"""

from __future__ import annotations

from isocell.dag._collect import expansion_name
from isocell.dag._model import Task
from isocell.errors import ExportError
from isocell.options import expansions

__all__ = ["TEXT_SUFFIX", "link_requirements", "templated_requirements"]

#: The XCom key a task returns a value's text under: ``<name>__text``.
TEXT_SUFFIX = "__text"


def link_requirements(tasks: list[Task], parameters: frozenset[str]) -> None:
    """Check the per-run requirements of ``tasks``; make their producers return the text.

    Raises
    ------
    ExportError
        If a requirement takes a name that is neither a parameter nor made by an earlier
        task, naming the cell and the expansion.
    """
    by_id = {task.task_id: task for task in tasks}
    for task in tasks:
        for name in task.cell.requirement_names:
            if name in task.upstream:
                producer = by_id[task.upstream[name]]
                if name not in producer.texts:
                    producer.texts.append(name)
            elif name not in parameters:
                raise ExportError(
                    task.cell.index,
                    1,
                    f"--req takes {{{name}}}, which is neither a parameter of the notebook "
                    "(its cell tagged parameters) nor a value an earlier cell makes: an "
                    "exported task's requirements can be templated from those two only",
                )


def templated_requirements(task: Task) -> tuple[str, ...]:
    """The task's per-run requirements as Jinja templates Airflow renders at run time."""

    def template(name: str) -> str:
        if name in task.upstream:
            producer = task.upstream[name]
            return f'{{{{ ti.xcom_pull(task_ids="{producer}", key="{name}{TEXT_SUFFIX}") }}}}'
        return f"{{{{ params.{name} }}}}"

    rendered = []
    for text in task.cell.requirement_templates:
        for found in expansions(text):
            text = text.replace(found, template(expansion_name(found)), 1)
        rendered.append(text)
    return tuple(rendered)
