"""The child follows the notebook: its working folder, environment variables and names.

A local cell runs in the notebook kernel's process, so ``%cd``, ``os.chdir``, ``%env`` and
``os.environ`` of earlier cells, the settings of its libraries (a matplotlib style, pandas
options, a random seed), and names deleted there, hold for it. Before each isolated
cell the runner compares the notebook's process state with what the child last followed and
sends the difference with the cell's inputs (the agent applies it first,
``isocell.transfer._wire.agent.follow``): one dictionary, empty when nothing changed.
"""

from __future__ import annotations

import os
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from isocell.transfer import library_settings

__all__ = ["ProcessState", "changes_for_child", "take_settings"]


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
    settings : dict or None
        The libraries' settings by section (:mod:`isocell.transfer.library_settings`); None:
        those a new process has, which the child starts with.
    """

    cwd: str
    variables: dict[str, str]
    shared: set[str] = field(default_factory=set)
    settings: dict[str, Any] | None = None


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
        ``cwd`` (str), ``set`` (dict), ``unset`` (list), ``forget`` (list of names),
        ``settings`` (dict: the libraries' settings by section): only the keys with something
        to do; empty when the child follows already.
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
    settings = library_settings.current()
    known = followed.settings if followed.settings is not None else library_settings.defaults()
    differing = library_settings.changed(known, settings)
    if differing:
        changes["settings"] = differing
    return changes, ProcessState(cwd, dict(variables), shared, {**known, **settings})


def take_settings(followed: ProcessState, changed: dict[str, dict[str, Any]]) -> None:
    """The notebook takes the library settings a cell ``changed`` in the child (by section),
    which both then have."""
    library_settings.apply(changed)
    known = {section: dict(values) for section, values in (followed.settings or {}).items()}
    for section, values in changed.items():
        known.setdefault(section, {}).update(values)
    followed.settings = known
