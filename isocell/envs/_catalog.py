"""The named environments as people see them: list, describe, create, register, remove, rebuild.

The ``isocell env`` command and the Jupyter server's REST API are two front doors onto these
functions, so both show the same facts. A listing is cheap: it reads the registry, one small
JSON file per built environment and ``/proc``; it never touches an environment's "last used"
time (only a kernel start does) and runs an interpreter only to learn what an external one
holds, once per change of its site-packages.

Each function returns plain JSON-ready dicts (a *row*), with times in ISO 8601 (UTC) and sizes
in bytes.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
from pathlib import Path
from typing import Any

from isocell.envs._build import ProgressCallback, env_python
from isocell.envs._discovery import find_interpreter, inspect_interpreter
from isocell.envs._installed import installed_cached
from isocell.envs._registry import NamedEnvironment, Registry, check_name
from isocell.envs._resolve import EnvRequest, build, spec_for
from isocell.envs._spec import EnvSpec
from isocell.envs._store import _META, EnvStore
from isocell.errors import InterpreterNotFoundError, NameTakenError, RegistryError

__all__ = [
    "catalog",
    "create",
    "create_named",
    "describe",
    "kernel_running",
    "plan",
    "rebuild",
    "refuse_taken",
    "register_external",
    "remove",
    "running_kernels",
]


def running_kernels() -> set[str]:
    """The interpreters that some process runs ``-m ipykernel_launcher`` with.

    Read from ``/proc/<pid>/cmdline``: a child kernel of any notebook, started by any user
    whose processes this one may see. Costs one small read per process, no subprocess.

    Returns
    -------
    set of str
        Normalized interpreter paths, as the kernels were launched (``argv[0]``); empty where
        there is no ``/proc`` (macOS, Windows).
    """
    found: set[str] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for pid in entries:
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as stream:
                argv = stream.read().split(b"\0")
        except OSError:  # the process ended meanwhile, or is not ours to see
            continue
        for index in range(1, len(argv) - 1):
            if argv[index] == b"-m" and argv[index + 1] == b"ipykernel_launcher":
                found.add(os.path.normpath(os.fsdecode(argv[0])))
                break
    return found


def kernel_running(store: EnvStore, entry: NamedEnvironment) -> bool:
    """True if some kernel runs in the environment of ``entry`` (see :func:`running_kernels`)."""
    python = entry.python if entry.spec is None else str(env_python(store.path_for(entry.spec)))
    return os.path.normpath(python) in running_kernels()


def refuse_taken(name: str, registry: Registry) -> None:
    """Refuse a new environment's name that is registered already, before anything is built
    (:meth:`Registry.add` checks again, atomically, when the name is added).

    Raises
    ------
    RegistryError
        If ``name`` is taken.
    """
    if name in {entry.name for entry in registry.all()}:
        raise NameTakenError(str(registry.path), name)


def describe(
    store: EnvStore, entry: NamedEnvironment, running: set[str] | None = None
) -> dict[str, Any]:
    """One environment with everything known about it: its row, plus lock and build facts.

    Parameters
    ----------
    store : EnvStore
        Where spec environments are built.
    entry : NamedEnvironment
        The registry entry.
    running : set of str or None
        From :func:`running_kernels`; scanned here when None.

    Returns
    -------
    dict
        The row of :func:`catalog` plus ``lock`` (``name==version`` strings), ``exclude_newer``
        (the cut-off the resolver used), ``builder``, ``path`` (the environment's folder, or
        an external interpreter's prefix), ``built_at``, ``system_site_packages``,
        ``index_url`` and ``extra_index_urls``.
    """
    if running is None:
        running = running_kernels()
    if entry.spec is None:
        return _external(entry, running, detail=True)
    return _spec(store, entry.spec, entry.name, "spec", entry.created, running, detail=True)


def catalog(
    store: EnvStore, registry: Registry, *, everything: bool = False, detail: bool = False
) -> list[dict[str, Any]]:
    """Every named environment, sorted by name; with ``everything``, unnamed cached ones too.

    Parameters
    ----------
    store : EnvStore
    registry : Registry
    everything : bool
        Add the built environments no name refers to (cells' own ``--req`` environments), as
        rows of kind ``"cached"`` with an empty name.
    detail : bool
        Give :func:`describe`'s rows (with the lock) instead of the short ones.

    Returns
    -------
    list of dict
        Rows with ``name``, ``kind`` (``"spec"``, ``"external"``, or ``"cached"``),
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
    running = running_kernels()
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
        for path, meta in store.list():
            if path.name in named or not isinstance(meta.get("spec"), dict):
                continue
            spec = EnvSpec.from_dict(meta["spec"])  # type: ignore[arg-type]
            created = str(meta.get("built_at") or "")
            rows.append(_spec(store, spec, "", "cached", created, running, detail))
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
    refuse_taken(name, registry)
    return spec_for(request)


def create_named(
    name: str, spec: EnvSpec, progress: ProgressCallback | None = None, *, store: EnvStore
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
    path = store.path_for(spec)
    meta = _meta(path)
    if meta is not None:
        _size(path, str(meta.get("built_at")))
    entry = Registry(store.home).add(name, spec=spec)
    return describe(store, entry)


def create(
    name: str,
    request: EnvRequest,
    progress: ProgressCallback | None = None,
    *,
    store: EnvStore | None = None,
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
    return create_named(name, spec, progress, store=store)


def register_external(name: str, python: str, *, store: EnvStore | None = None) -> dict[str, Any]:
    """Register an existing interpreter as ``name``, to be used as it is.

    Parameters
    ----------
    name : str
        The new name.
    python : str
        An interpreter path or a version that discovery resolves to one.
    store : EnvStore or None
        Default: the store of ``ISOCELL_HOME``.

    Returns
    -------
    dict
        :func:`describe`'s row.

    Raises
    ------
    RegistryError
        If the name is invalid or taken.
    InterpreterNotFoundError
        If ``python`` is not a working Python >= 3.8.
    """
    store = store or EnvStore()
    check_name(name)
    interpreter = find_interpreter(python)
    entry = Registry(store.home).add(name, python=interpreter.path)
    return describe(store, entry)


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
    name: str, progress: ProgressCallback | None = None, *, store: EnvStore | None = None
) -> dict[str, Any]:
    """Delete the built environment of ``name`` and build it again from its spec.

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
    return describe(store, entry)


def _spec(
    store: EnvStore,
    spec: EnvSpec,
    name: str,
    kind: str,
    created: str,
    running: set[str],
    detail: bool,
) -> dict[str, Any]:
    path = store.path_for(spec)
    python = env_python(path)
    meta = _meta(path)
    built = meta is not None and python.exists()
    lock = list(meta.get("lock", [])) if meta else []
    row: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "python": str(python),
        "python_version": spec.python_version,
        "requirements": list(spec.requirements),
        "packages": len(lock),
        "size_bytes": _size(path, str(meta.get("built_at"))) if meta else None,
        "created": created,
        "last_used": _mtime(path / _META) if meta else None,
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


def _external(entry: NamedEnvironment, running: set[str], detail: bool) -> dict[str, Any]:
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


def _meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((path / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


# A built environment does not change after its build, so its size is walked once per build,
# by one thread: concurrent listings (the REST API runs each in a worker thread) that meet a
# new environment together wait for that one walk instead of each walking it, which under
# the GIL made all of them as slow as all the walks together.
_sizes: dict[tuple[str, str], int] = {}
_walking: dict[tuple[str, str], threading.Lock] = {}
_walking_lock = threading.Lock()


def _size(path: Path, built_at: str) -> int:
    key = (str(path), built_at)
    known = _sizes.get(key)
    if known is not None:
        return known
    with _walking_lock:
        walk = _walking.setdefault(key, threading.Lock())
    with walk:
        if key not in _sizes:
            _sizes[key] = _walk(path)
    with _walking_lock:
        _walking.pop(key, None)
    return _sizes[key]


def _walk(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _mtime(path: Path) -> str | None:
    try:
        stamp = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc)
    except OSError:
        return None
    return stamp.isoformat(timespec="seconds")
