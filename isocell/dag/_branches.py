"""Branch cells as Airflow branch tasks, and the trigger rules of the tasks after them.

A branch cell (``%%isolated --branch A B``, ``%%branch A B``) becomes ``@task.branch`` /
``@task.branch_virtualenv`` / ``@task.branch_external_python``: its function returns the
cell's last expression, the task ids to follow (Airflow's branching contract), and the tasks
it names are its direct downstream tasks. Airflow skips the ones it did not choose; every
task downstream of one of them gets the trigger rule Airflow's documentation gives for joins
after a branch, ``none_failed_min_one_success`` ("Branching" and "Trigger Rules" in Airflow's
DAG docs): it runs when at least one upstream task succeeded and none failed, and is skipped
when all its upstream tasks were skipped, as the notebook does (:mod:`isocell.branching`).
A skipped upstream task's values reach it as None (``XComArg.resolve``), as in the notebook.
"""

from __future__ import annotations

from isocell.analysis import analyze_cell, bind_last_expression
from isocell.dag._model import Task
from isocell.errors import ExportError

__all__ = ["CHOICE_NAME", "JOIN_RULE", "choice_code", "link_branches"]

#: The trigger rule of every task downstream of a branch's targets.
JOIN_RULE = "none_failed_min_one_success"
#: The variable the branch task's code leaves its choice in.
CHOICE_NAME = "isocell_choice"


def link_branches(tasks: list[Task]) -> None:
    """Check the branch cells of ``tasks`` and set ``trigger_rule`` on the tasks after them.

    Raises
    ------
    ExportError
        If a branch cell does not end with an expression, names a task id no later cell has,
        makes values later cells read (a branch task returns its choice, nothing else), or
        two of its targets make one name a later cell reads (which one it gets would depend
        on the order of cells, not on the choice).
    """
    by_id = {task.task_id: task for task in tasks}
    position = {task.task_id: n for n, task in enumerate(tasks)}
    skippable: set[str] = set()
    for task in tasks:
        targets = task.cell.branch
        if not targets:
            continue
        choice_code(task)  # ends with an expression
        if task.outputs:
            raise ExportError(
                task.cell.index,
                None,
                f"a branch cell makes {task.outputs[0]!r}, which a later cell reads: a branch "
                "task returns only its choice; make the value in an earlier cell",
            )
        for target in targets:
            found = by_id.get(target)
            if found is None or position[target] <= position[task.task_id]:
                raise ExportError(
                    task.cell.index,
                    1,
                    f"the branch names {target!r}, but no cell after it has that task id "
                    "(an %%isolated cell's --name, or the first name a plain cell makes)",
                )
        _refuse_shared_names(task, [by_id[t] for t in targets], tasks)
        skippable |= set(targets)
    if not skippable:
        return
    for task in tasks:  # cell order: upstream tasks come first
        if set(task.upstream.values()) & skippable:
            task.trigger_rule = JOIN_RULE
            skippable.add(task.task_id)


def _refuse_shared_names(branch: Task, targets: list[Task], tasks: list[Task]) -> None:
    by_id = {target.task_id: target for target in targets}
    binds = {target.task_id: set(analyze_cell(target.code).binds) for target in targets}
    for reader in tasks:
        for name, producer in reader.upstream.items():
            if producer not in by_id:
                continue
            for other in targets:
                if other.task_id != producer and name in binds[other.task_id]:
                    raise ExportError(
                        reader.cell.index,
                        None,
                        f"it reads {name!r}, which cells {other.cell.index + 1} and "
                        f"{by_id[producer].cell.index + 1} both make, alternatives of the "
                        f"branch in cell {branch.cell.index + 1}: give each its own name (the "
                        "one not chosen is None, in Airflow as in the notebook)",
                    )


def choice_code(task: Task) -> str:
    """The branch task's code with its last expression stored in :data:`CHOICE_NAME`
    (lines unmoved), which its function then returns.

    Raises
    ------
    ExportError
        If the cell does not end with an expression.
    """
    bound = bind_last_expression(task.code, CHOICE_NAME)
    if bound is None:
        raise ExportError(
            task.cell.index,
            None,
            "a branch cell must end with an expression that names the tasks to run (a task "
            "id, a list of them, or None), as a @task.branch function returns them",
        )
    return bound
