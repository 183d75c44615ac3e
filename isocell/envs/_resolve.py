"""From what the user asked for (``--python``, ``--req``, ``--env``) to a usable environment.

The three ways in mirror Airflow's operators:

* requirements and/or a Python version → a new environment built from a spec
  (``@task.virtualenv``);
* ``--python`` alone, or a registered external name → that interpreter used as it is
  (``@task.external_python``); where it lacks ipykernel, the child kernel takes it from the
  kernel layer of that Python, after the interpreter's own packages, and nothing is
  installed into the interpreter;
* ``--env NAME`` → whatever the registry says ``NAME`` is.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from packaging.requirements import Requirement

from isocell.envs._build import BuildProgress, ProgressCallback
from isocell.envs._builders import BUILDER_NAMES
from isocell.envs._discovery import Interpreter, find_interpreter, inspect_interpreter
from isocell.envs._environment import Environment
from isocell.envs._kernel_layer import layer_clash, layer_site
from isocell.envs._registry import Registry
from isocell.envs._request import EnvRequest
from isocell.envs._spec import (
    EnvSpec,
    parse_exclude_newer,
    parse_index_url,
    parse_requirements,
    read_requirements,
)
from isocell.envs._store import EnvStore
from isocell.errors import BuildError, RequirementError

__all__ = [
    "EnvRequest",
    "check_request",
    "rebuild_kernel",
    "resolve_environment",
    "spec_for",
]


def _host_interpreter() -> Interpreter:
    # The notebook's own Python, not its virtual environment: the new environment must not
    # depend on where the notebook kernel happens to be installed.
    base = getattr(sys, "_base_executable", None) or sys.executable
    return inspect_interpreter(base if os.path.exists(base) else sys.executable)


def spec_for(request: EnvRequest) -> EnvSpec:
    """The spec a building request describes (interpreter found, requirements checked).

    Raises
    ------
    RequirementError
        For a malformed requirement or option value.
    InterpreterNotFoundError
        If no interpreter matches ``request.python``.
    """
    requirements = list(parse_requirements(request.requirements))
    for path in request.requirement_files:
        requirements += read_requirements(path)
    # Every option is checked before the interpreter is looked for: that may run programs.
    index_url = parse_index_url(request.index_url) if request.index_url is not None else None
    extra = tuple(parse_index_url(u, "--extra-index-url") for u in request.extra_index_urls)
    exclude_newer = parse_exclude_newer(request.exclude_newer)
    builder = request.builder or BUILDER_NAMES[0]
    if builder not in BUILDER_NAMES:
        raise RequirementError(builder, f"the builder must be one of {BUILDER_NAMES}")
    interpreter = (
        find_interpreter(request.python) if request.python is not None else _host_interpreter()
    )
    return EnvSpec(
        python=interpreter.path,
        python_version=interpreter.version_str,
        requirements=parse_requirements(requirements),
        system_site_packages=request.system_site_packages,
        index_url=index_url,
        extra_index_urls=extra,
        exclude_newer=exclude_newer,
        builder=builder,
    )


def check_request(request: EnvRequest, registry: Registry) -> None:
    """Check ``request`` as :func:`resolve_environment` would, without building anything.

    For a whole notebook's cells (an export): every cell is checked before any is built.

    Raises
    ------
    RequirementError, InterpreterNotFoundError, EnvironmentNotFoundError
    """
    if request.environment_name is not None:
        if request.builds or request.python is not None:
            raise _env_with_build_options(request.environment_name)
        registry.get(request.environment_name)
    elif request.python is not None and not request.builds:
        find_interpreter(request.python)
    else:
        spec_for(request)


def _env_with_build_options(name: str) -> RequirementError:
    return RequirementError(
        f"--env {name}",
        "a named environment is used as registered; do not combine --env with "
        "--python, --req or build options",
    )


def resolve_environment(
    request: EnvRequest,
    store: EnvStore,
    registry: Registry | None = None,
    progress: ProgressCallback | None = None,
) -> Environment:
    """Find or build the environment ``request`` names.

    Parameters
    ----------
    request : EnvRequest
        What the user asked for.
    store : EnvStore
        Where environments are built and cached.
    registry : Registry or None
        Named environments; default: the store's home.
    progress : callable or None
        Receives :class:`BuildProgress` events (including which cut-off date the resolver
        used) when something is built.

    Raises
    ------
    RequirementError, InterpreterNotFoundError, EnvironmentNotFoundError, BuildError
    """
    if request.environment_name is not None:
        if request.builds or request.python is not None:
            raise _env_with_build_options(request.environment_name)
        entry = (registry or Registry(store.home)).get(request.environment_name)
        if entry.spec is None:
            environment = external_environment(entry.python, store, progress)
        else:
            environment = build(entry.spec, store, progress)
        return Environment(**{**environment.__dict__, "name": entry.name})
    if request.python is not None and not request.builds:
        return external_environment(request.python, store, progress)
    return build(spec_for(request), store, progress)


def build(spec: EnvSpec, store: EnvStore, progress: ProgressCallback | None = None) -> Environment:
    """Return the environment of ``spec``, building it (with its cut-off date) if needed,
    with the kernel layer of its interpreter (built once) for its child kernel; or, where the
    user's pins clash with the layer's packages, the environment with the kernel inside
    (:mod:`isocell.envs._kernel_layer`), which ``progress`` is told."""
    if not spec.layered:
        return _found_or_built(spec, store, progress)
    # The layer first: a build stopped on the way then leaves no environment without one.
    layer = _layer(spec.layer_spec(), store, progress)
    environment = _found_or_built(spec, store, progress)
    site = layer_site(layer)
    problem = layer_clash(environment, site)
    if problem is None:
        return replace(environment, kernel_layer=site)
    if progress is not None:
        progress(
            BuildProgress(
                "resolve",
                f"the kernel's packages cannot run on these pins ({problem}): one environment "
                "holds both, so the cell can also import the kernel's packages",
                0.0,
            )
        )
    return _found_or_built(replace(spec, kernel_inside=True), store, progress)


def _layer(spec: EnvSpec, store: EnvStore, progress: ProgressCallback | None) -> Environment:
    layer = store.find(spec)
    if layer is None:
        told = None
        if progress is not None:
            message = f"building the kernel layer of Python {spec.python_version} (once)"
            progress(BuildProgress("venv", message, 0.0))

            def told(event: BuildProgress) -> None:
                # Its end is not the environment's ("environment ready" follows that).
                if event.phase == "done":
                    message = f"kernel layer ready ({event.message})"
                    event = BuildProgress("layer", message, event.elapsed, event.packages)
                progress(event)

        layer = store.ensure(spec, told)
    return layer


def _found_or_built(
    spec: EnvSpec, store: EnvStore, progress: ProgressCallback | None
) -> Environment:
    found = store.find(spec)
    if found is not None:
        return found
    if spec.exclude_newer != "auto":
        return store.ensure(
            spec, progress, None if spec.exclude_newer == "none" else spec.exclude_newer
        )
    # The release-date look-up (a network request on a cold cache, about 0.07 s here) runs
    # while the builder makes the virtual environment (about 0.1 s); only the look-up is in
    # the thread, progress is told from this one (a notebook's output goes to the cell that
    # runs here).
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="isocell-cutoff")
    try:
        looking = pool.submit(_look_up_cutoff, spec)
        return store.ensure(spec, progress, lambda: _told(looking.result(), progress))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _look_up_cutoff(spec: EnvSpec) -> tuple[str | None, str]:
    """The cut-off of an ``auto`` spec (the newest exact pin's release time) and what to say."""
    from isocell.envs._release_dates import exclude_newer_for, uv_exclude_newer

    requirements = [Requirement(text) for text in spec.requirements]
    try:
        found = exclude_newer_for(requirements, spec.index_url or "https://pypi.org/simple/")
    except BuildError as error:
        return None, f"no release dates ({error}); not excluding"
    if found is None:
        return None, ""
    moment, pin = found
    stamp = uv_exclude_newer(moment)
    return stamp, f"resolving as of {stamp} (release of {pin})"


def _told(
    cutoff: tuple[str | None, str], progress: Callable[[BuildProgress], None] | None
) -> str | None:
    stamp, message = cutoff
    if message and progress is not None:
        progress(BuildProgress("resolve", message, 0.0))
    return stamp


def external_environment(
    python: str, store: EnvStore, progress: ProgressCallback | None = None
) -> Environment:
    """An existing interpreter used as it is; where it lacks ipykernel, its child kernel takes
    the kernel from the kernel layer of its Python (built once), after its own packages.

    Raises
    ------
    InterpreterNotFoundError
        If ``python`` is not a working interpreter (path or version).
    BuildError
        If the kernel layer cannot be built.
    """
    interpreter = find_interpreter(python)
    environment = Environment(
        path=Path(interpreter.path).parent.parent,
        python=Path(interpreter.path),
        python_version=interpreter.version_str,
    )
    if _has_ipykernel(interpreter.path):
        return environment
    layer = _layer(_external_layer_spec(environment), store, progress)
    return replace(environment, kernel_layer=layer_site(layer))


def _external_layer_spec(environment: Environment) -> EnvSpec:
    """The kernel layer of an interpreter used as it is."""
    return EnvSpec(
        python=str(environment.python), python_version=environment.python_version
    ).layer_spec()


def rebuild_kernel(
    environment: Environment,
    store: EnvStore,
    problem: str,
    progress: ProgressCallback | None = None,
) -> Environment | None:
    """Rebuild what holds ``environment``'s kernel, found damaged (``problem``): its kernel
    layer, or the environment itself where the kernel is inside it.

    Returns
    -------
    Environment or None
        The environment to start the kernel in now; None for an interpreter used as it is
        whose own ipykernel is damaged (isocell does not change it).

    Raises
    ------
    BuildError
        If the rebuild fails.
    """
    if environment.kernel_layer is not None:
        if environment.spec is not None:
            layer_spec = environment.spec.layer_spec()
        else:
            layer_spec = _external_layer_spec(environment)
        layer = store.ensure(layer_spec, progress, replace=problem)
        return replace(environment, kernel_layer=layer_site(layer))
    if environment.spec is None:
        return None
    rebuilt = store.ensure(environment.spec, progress, environment.exclude_newer, replace=problem)
    return replace(rebuilt, name=environment.name)


def _has_ipykernel(python: str) -> bool:
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('ipykernel') is None)"
    try:
        return (
            subprocess.run([python, "-c", probe], capture_output=True, timeout=60).returncode == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False
