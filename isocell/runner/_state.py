"""The child follows the notebook: its working folder, environment variables and names.

A local cell runs in the notebook kernel's process, so ``%cd``, ``os.chdir``, ``%env`` and
``os.environ`` of earlier cells, matplotlib's settings (a style), and names deleted there,
hold for it. Before each isolated
cell the runner compares the notebook's process state with what the child last followed and
sends the difference with the cell's inputs (the agent applies it first,
``isocell.transfer._wire.agent.follow``): one dictionary, empty when nothing changed.
"""

from __future__ import annotations

import os
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from isocell.transfer import matplotlib_settings

__all__ = ["ProcessState", "changes_for_child"]


@dataclass
class ProcessState:
    """What the child follows of the notebook.

    Attributes
    ----------
    cwd : str
        The working folder.
    variables : dict of str to str
        The environment variables, as the child gets them from the notebook's
        (:meth:`isocell.kernel.ChildKernel.environment_variables`).
    shared : set of str
        Names both namespaces have had since the child started: sent to it or returned from
        it. One the notebook no longer has is removed from the child.
    matplotlib : dict or None
        matplotlib's settings (``rcParams``, as :mod:`isocell.transfer.matplotlib_settings`
        gives them); None: matplotlib's defaults, which the child starts with.
    """

    cwd: str
    variables: dict[str, str]
    shared: set[str] = field(default_factory=set)
    matplotlib: dict[str, Any] | None = None


def changes_for_child(
    followed: ProcessState, variables: Mapping[str, str], namespace: Container[str]
) -> tuple[dict[str, Any], ProcessState]:
    """What the child must change to follow the notebook now, and the state it then has.

    Parameters
    ----------
    followed : ProcessState
        What the child followed last.
    variables : mapping
        The child's environment variables made from the notebook's now.
    namespace : container of str
        The notebook's names.

    Returns
    -------
    changes : dict
        ``cwd`` (str), ``set`` (dict), ``unset`` (list), ``forget`` (list of names), ``rc``
        (dict: matplotlib's settings): only the keys with something to do; empty when the
        child follows already.
    state : ProcessState
        The state the child follows once it applied ``changes``.
    """
    cwd = os.getcwd()
    changes: dict[str, Any] = {}
    if cwd != followed.cwd:
        changes["cwd"] = cwd
    changed = {k: v for k, v in variables.items() if followed.variables.get(k) != v}
    if changed:
        changes["set"] = changed
    removed = sorted(k for k in followed.variables if k not in variables)
    if removed:
        changes["unset"] = removed
    forget = sorted(name for name in followed.shared if name not in namespace)
    if forget:
        changes["forget"] = forget
    shared = followed.shared - set(forget)
    settings = matplotlib_settings.current()
    if settings is not None:
        known = followed.matplotlib or matplotlib_settings.defaults()
        differing = matplotlib_settings.changed(known, settings)
        if differing:
            changes["rc"] = differing
    return changes, ProcessState(cwd, dict(variables), shared, settings or followed.matplotlib)
