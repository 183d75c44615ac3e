"""The named environments as people see them: list, describe, create, register, remove, rebuild.

The ``isocell env`` command and the Jupyter server's REST API are two front doors onto these
functions, so both show the same facts. A listing is cheap: it reads the registry and one small
JSON file per built environment (through the store); it never touches an environment's "last used"
time (only a kernel start does) and runs an interpreter only to learn what an external one
holds, once per change of its site-packages.

Each function returns plain JSON-ready dicts (a *row*), with times in ISO 8601 (UTC) and sizes
in bytes. Whether a kernel runs in an environment is the caller's to say (``running``: the
interpreters kernels run, from :func:`isocell.kernel.running_kernels`, a layer above this one).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from isocell.envs._build import ProgressCallback
from isocell.envs._discovery import find_interpreter, inspect_interpreter
from isocell.envs._installed import installed_cached
from isocell.envs._registry import NamedEnvironment, Registry, check_name
from isocell.envs._resolve import EnvRequest, build, spec_for
from isocell.envs._spec import EnvSpec
from isocell.envs._store import EnvStore
from isocell.errors import InterpreterNotFoundError, RegistryError

__all__ = [
    "catalog",
    "create",
    "create_named",
    "describe",
    "interpreter_of",
    "plan",
    "rebuild",
    "register_external",
    "remove",
]


def interpreter_of(store: EnvStore, entry: NamedEnvironment) -> str:
    """The interpreter a kernel of ``entry`` runs: its built environment's, or the external
    one (normalized, as :func:`isocell.kernel.running_kernels` gives them)."""
    python = entry.python if entry.spec is None else str(store.python_for(entry.spec))
    return os.path.normpath(python)


def describe(
    store: EnvStore, entry: NamedEnvironment, running: Collection[str] = ()
) -> dict[str, Any]:
    """One environment with everything known about it: its row, plus lock and build facts.

    Parameters
    ----------
    store : EnvStore
        Where spec environments are built.
    entry : NamedEnvironment
        The registry entry.
    running : collection of str
        The interpreters kernels run now (:func:`isocell.kernel.running_kernels`); default
        none.

    Returns
    -------
    dict
        The row of :func:`catalog` plus ``lock`` (``name==version`` strings), ``exclude_newer``
        (the cut-off the resolver used), ``builder``, ``path`` (the environment's folder, or
        an external interpreter's prefix), ``built_at``, ``system_site_packages``,
        ``index_url`` and ``extra_index_urls``.
    """
    if entry.spec is None:
        return _external(entry, running, detail=True)
    return _spec(store, entry.spec, entry.name, "spec", entry.created, running, detail=True)


def catalog(
    store: EnvStore,
    registry: Registry,
    *,
    running: Collection[str] = (),
    everything: bool = False,
    detail: bool = False,
) -> list[dict[str, Any]]:
    """Every named environment, sorted by name; with ``everything``, unnamed cached ones too.

    Parameters
    ----------
    store : EnvStore
    registry : Registry
    running : collection of str
        As for :func:`describe`.
    everything : bool
        Add the built environments no name refers to, with an empty name: cells' own
        ``--req`` environments (kind ``"cached"``) and the kernel layer of each interpreter
        (kind ``"layer"``: the child kernel's own packages, shared by every environment of
        that interpreter, :mod:`isocell.envs._kernel_layer`).
    detail : bool
        Give :func:`describe`'s rows (with the lock) instead of the short ones.

    Returns
    -------
    list of dict
        Rows with ``name``, ``kind`` (``"spec"``, ``"external"``, ``"cached"`` or ``"layer"``),
        ``python`` (the interpreter a kernel runs: the environment's own, or the external
        one), ``python_version``, ``requirements`` (list), ``packages`` (count), ``size_bytes``
        (None when unknown or not built), ``created`` and ``last_used`` (ISO 8601, UTC; None
        when never used), ``built`` and ``kernel_running`` (bool), ``base_python`` and
        ``key`` (the spec's content address, None for external interpreters).

    Raises
    ------
    RegistryError
        If the registry file is damaged.
    """
    rows = []
    named: set[str] = set()
    for entry in registry.all():
        if entry.spec is None:
            rows.append(_external(entry, running, detail=detail))
        else:
            named.add(entry.spec.key)
            rows.append(
                _spec(store, entry.spec, entry.name, "spec", entry.created, running, detail)
            )
    if everything:
        for spec, facts in store.list():
            if spec.key in named:
                continue
            created = str(facts.get("built_at") or "")
            kind = "layer" if spec.kernel_layer else "cached"
            rows.append(_spec(store, spec, "", kind, created, running, detail, facts))
    return rows


def plan(name: str, request: EnvRequest, registry: Registry) -> EnvSpec:
    """Check everything about a new named environment before anything is built.

    Raises
    ------
    RegistryError
        If the name is invalid or taken.
    RequirementError, InterpreterNotFoundError
        From :func:`~isocell.envs.spec_for`.
    """
    check_name(name)
    registry.refuse_taken(name)
    return spec_for(request)


def create_named(
    name: str,
    spec: EnvSpec,
    progress: ProgressCallback | None = None,
    *,
    store: EnvStore,
    running: Collection[str] = (),
) -> dict[str, Any]:
    """Build ``spec`` (unless it is built already), then register it as ``name``.

    Returns
    -------
    dict
        :func:`describe`'s row of the new environment.

    Raises
    ------
    BuildError
        If the build failed (nothing is registered).
    RegistryError
        If the name was taken while the environment was being built.
    """
    build(spec, store, progress)
    # Walked here, before the name appears: otherwise every listing that sees the new name
    # first would wait for this walk (thousands of files, a tenth of a second or more).
    store.size(spec)
    entry = Registry(store.home).add(name, spec=spec)
    return describe(store, entry, running)


def create(
    name: str,
    request: EnvRequest,
    progress: ProgressCallback | None = None,
    *,
    store: EnvStore | None = None,
    running: Collection[str] = (),
) -> dict[str, Any]:
    """Build the environment ``request`` describes and name it ``name``.

    The name is checked, and refused when taken, before anything is built.

    Parameters
    ----------
    name : str
        The new name (see :func:`~isocell.envs.check_name`).
    request : EnvRequest
        Python version or path, requirements and build options, as typed.
    progress : callable or None
        Receives :class:`~isocell.envs.BuildProgress` events while building.
    store : EnvStore or None
        Default: the store of ``ISOCELL_HOME``.
    running : collection of str
        As for :func:`describe`, for the row returned.

    Returns
    -------
    dict
        :func:`describe`'s row of the new environment.

    Raises
    ------
    RegistryError, RequirementError, InterpreterNotFoundError, BuildError
    """
    store = store or EnvStore()
    spec = plan(name, request, Registry(store.home))
    return create_named(name, spec, progress, store=store, running=running)


def register_external(
    name: str, python: str, *, store: EnvStore | None = None, running: Collection[str] = ()
) -> dict[str, Any]:
    """Register an existing interpreter as ``name``, to be used as it is.

    Parameters
    ----------
    name : str
        The new name.
    python : str
        An interpreter path or a version that discovery resolves to one.
    store : EnvStore or None
        Default: the store of ``ISOCELL_HOME``.
    running : collection of str
        As for :func:`describe`, for the row returned.

    Returns
    -------
    dict
        :func:`describe`'s row.

    Raises
    ------
    RegistryError
        If the name is invalid or taken.
    InterpreterNotFoundError
        If ``python`` is not a working Python >= 3.6.
    """
    store = store or EnvStore()
    check_name(name)
    interpreter = find_interpreter(python)
    entry = Registry(store.home).add(name, python=interpreter.path)
    return describe(store, entry, running)


def remove(name: str, *, store: EnvStore | None = None) -> NamedEnvironment:
    """Unregister ``name`` and delete its built environment if no other name uses it.

    An external interpreter is never touched: only its registration goes.

    Returns
    -------
    NamedEnvironment
        What the name stood for.

    Raises
    ------
    EnvironmentNotFoundError
        If no environment has that name.
    """
    store = store or EnvStore()
    registry = Registry(store.home)
    entry = registry.remove(name)
    still_used = {e.spec.key for e in registry.all() if e.spec is not None}
    if entry.spec is not None and entry.spec.key not in still_used:
        store.remove(entry.spec)
    return entry


def rebuild(
    name: str,
    progress: ProgressCallback | None = None,
    *,
    store: EnvStore | None = None,
    running: Collection[str] = (),
) -> dict[str, Any]:
    """Delete the built environment of ``name`` and build it again from its spec (``running``
    as for :func:`describe`, for the row returned).

    Returns
    -------
    dict
        :func:`describe`'s row of the rebuilt environment.

    Raises
    ------
    EnvironmentNotFoundError
        If no environment has that name.
    RegistryError
        If ``name`` is an external interpreter (used as it is: nothing to rebuild).
    BuildError
        If the build failed (the environment is then absent until built again).
    """
    store = store or EnvStore()
    registry = Registry(store.home)
    entry = registry.get(name)
    if entry.spec is None:
        raise RegistryError(
            str(registry.path),
            f"{name!r} is the interpreter {entry.python}, used as it is: isocell did not build "
            "it and cannot rebuild it",
        )
    store.remove(entry.spec)
    build(entry.spec, store, progress)
    return describe(store, entry, running)


def _spec(
    store: EnvStore,
    spec: EnvSpec,
    name: str,
    kind: str,
    created: str,
    running: Collection[str],
    detail: bool,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    path = store.path_for(spec)
    python = store.python_for(spec)
    meta = facts if facts is not None else store.facts(spec)
    built = meta is not None and python.exists()
    lock = list(meta.get("lock", [])) if meta else []
    row: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "python": str(python),
        "python_version": spec.python_version,
        "requirements": list(spec.requirements),
        "packages": len(lock),
        "size_bytes": store.size(spec, meta) if meta else None,
        "created": created,
        "last_used": store.last_used(spec) if meta else None,
        "built": built,
        "kernel_running": os.path.normpath(python) in running,
        "base_python": spec.python,
        "key": spec.key,
    }
    if detail:
        row.update(
            lock=lock,
            exclude_newer=meta.get("exclude_newer") if meta else spec.exclude_newer,
            builder=meta.get("builder") if meta else spec.builder,
            path=str(path),
            built_at=meta.get("built_at") if meta else None,
            system_site_packages=spec.system_site_packages,
            index_url=spec.index_url,
            extra_index_urls=list(spec.extra_index_urls),
        )
    return row


def _external(entry: NamedEnvironment, running: Collection[str], detail: bool) -> dict[str, Any]:
    try:
        version: str | None = inspect_interpreter(entry.python).version_str
    except InterpreterNotFoundError:
        version = None
    lock = installed_cached(entry.python) if version else []
    row: dict[str, Any] = {
        "name": entry.name,
        "kind": "external",
        "python": entry.python,
        "python_version": version,
        "requirements": [],
        "packages": len(lock),
        "size_bytes": None,  # not isocell's to account for
        "created": entry.created,
        "last_used": None,
        "built": version is not None,
        "kernel_running": os.path.normpath(entry.python) in running,
        "base_python": entry.python,
        "key": None,
    }
    if detail:
        row.update(
            lock=lock,
            exclude_newer=None,
            builder=None,
            path=str(Path(entry.python).parent.parent),
            built_at=None,
            system_site_packages=None,
            index_url=None,
            extra_index_urls=[],
        )
    return row
