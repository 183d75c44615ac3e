"""The uv builder, the default: ``uv venv --relocatable``, then ``uv pip install``.

An environment holds the user's requirements only (the kernel is in the kernel layer), so one
``uv pip install`` as of the cut-off time makes it, and what it installed is the
environment's own lock (:data:`~isocell.envs._build.OWN_LOCK`, what an exported Airflow task
installs). Where the kernel is inside (``EnvSpec.kernel_inside``), or a repair round holds a
compiled dependency back (:mod:`isocell.envs._import_check`), the user's requirements are
resolved alone first (``uv pip compile``), and their pins are installed with the rest.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from isocell.envs._build import (
    OWN_LOCK,
    OWN_REQUIREMENTS_IN,
    BuildCommands,
    builder_environment_variables,
    create_venv,
    env_python,
    index_options,
    prefer_cache,
)
from isocell.envs._import_check import binary_mismatch, import_problems
from isocell.envs._release_dates import (
    PYPI_SIMPLE,
    exact_pins,
    release_time,
    uv_exclude_newer,
)
from isocell.errors import BuildError

if TYPE_CHECKING:
    from isocell.envs._spec import EnvSpec

__all__ = ["UvBuilder", "index_pages_cached", "uv_binary"]

_uv_checked: dict[str, str | None] = {}
# (cwd, the variables uv reads for its cache's place) -> uv's cache folder
_cache_dirs: dict[tuple[str, ...], Path | None] = {}


def uv_binary() -> str | None:
    """The uv executable shipped with the ``uv`` package, or None where it cannot run."""
    if "uv" not in _uv_checked:
        path: str | None
        try:
            from uv import find_uv_bin

            path = find_uv_bin()
            subprocess.run([path, "--version"], capture_output=True, check=True, timeout=30)
        except Exception:  # missing package, missing binary, wrong platform: fall back
            path = None
        _uv_checked["uv"] = path
    return _uv_checked["uv"]


def index_pages_cached(uv: str, cwd: Path, variables: dict[str, str]) -> bool:
    """Whether uv's cache holds any index pages, so that an ``--offline`` attempt can answer.

    A first build (or a new ``UV_CACHE_DIR``) has none: the attempt would fail, about 0.07 s
    here, before the online run anyway. The cache's folder is uv's own answer (``uv cache
    dir``, which reads ``UV_CACHE_DIR``, ``XDG_CACHE_HOME`` and uv's configuration files, so it
    is asked from ``cwd``); index pages are its ``simple-v<N>`` buckets (uv's documented cache
    layout). Anything unexpected answers True: the offline attempt then decides, as before.
    ``cwd`` is the store's folder of environments, not a build's own (new every time), so
    that uv is asked once per process and cache.
    """
    key = (
        str(cwd),
        *(variables.get(name, "") for name in ("UV_CACHE_DIR", "XDG_CACHE_HOME", "HOME")),
        variables.get("UV_NO_CACHE", ""),
    )
    if key not in _cache_dirs:
        try:
            done = subprocess.run(
                [uv, "cache", "dir"],
                cwd=cwd,
                env=variables,
                capture_output=True,
                text=True,
                timeout=30,
            )
            lines = done.stdout.strip().splitlines()
            _cache_dirs[key] = Path(lines[-1]) if done.returncode == 0 and lines else None
        except (OSError, subprocess.SubprocessError):
            _cache_dirs[key] = None
    folder = _cache_dirs[key]
    if folder is None:
        return True
    try:
        return any(entry.name.startswith("simple-v") for entry in folder.iterdir())
    except FileNotFoundError:
        return False
    except OSError:
        return True


class UvBuilder:
    """Builds with the uv executable of the ``uv`` package (see :class:`Builder`)."""

    name = "uv"

    def unavailable(self, spec: EnvSpec) -> str | None:
        if uv_binary() is None:
            return "the uv executable of the uv package is missing or cannot run here"
        if spec.python_version.startswith("2."):
            return "uv makes no Python 2 environments (it needs Python 3.6 or newer)"
        return None

    def create(self, spec: EnvSpec, target: Path, commands: BuildCommands) -> None:
        uv = uv_binary()
        assert uv is not None, "unavailable() said so"
        venv = [uv, "venv", "--quiet", "--relocatable", "--python", spec.python]
        create_venv(commands, venv, spec, target, builder_environment_variables())

    def install(
        self,
        spec: EnvSpec,
        target: Path,
        requirements_file: Path,
        exclude_newer: str | None,
        commands: BuildCommands,
    ) -> None:
        uv = uv_binary()
        assert uv is not None, "unavailable() said so"
        held: dict[str, str] = {}
        self._lock_and_install(uv, spec, target, requirements_file, exclude_newer, commands, held)
        if _mixes_eras(spec):
            for _ in range(2):  # numpy, then (rarely) what holding numpy back uncovers
                if not _hold_back(spec, target, held, commands):
                    break
                self._lock_and_install(
                    uv, spec, target, requirements_file, exclude_newer, commands, held
                )

    def _lock_and_install(
        self,
        uv: str,
        spec: EnvSpec,
        target: Path,
        requirements_file: Path,
        exclude_newer: str | None,
        commands: BuildCommands,
        held: dict[str, str],
    ) -> None:
        variables, cwd = builder_environment_variables(), target.parent
        python = str(env_python(target))
        if spec.requirements and spec.layered and not held:
            # One resolution: the environment holds the user's packages only, so what uv
            # installs (as of the cut-off) is their own lock. A repair round (``held``) goes
            # through a lock instead, whose pins move an installed package back.
            self._install_own(uv, spec, target, exclude_newer, commands)
            return
        if spec.requirements:
            own = self._own_lock(uv, spec, target, python, exclude_newer, commands, held)
            kernel = [r for r in spec.install_requirements() if r not in spec.requirements]
            requirements_file.write_text("\n".join(own + kernel) + "\n", encoding="utf-8")
        # The cut-off is for the user's packages, all pinned by now in their own lock. The
        # kernel's packages and whatever only they need are resolved as of today: a 2021
        # cut-off would find no pyzmq wheel for Python 3.11, and picks exceptiongroup 0.0.0a0,
        # which breaks IPython 8 on Python 3.9, for a cell pinning six==1.16.0.
        if not requirements_file.read_text(encoding="utf-8").strip():
            return  # nothing to install: the kernel comes from the kernel layer
        install = [uv, "pip", "install", "--python", python, *index_options(spec)]
        commands.run_cached_first(
            "install",
            [*install, "-r", str(requirements_file)],
            cwd,
            variables,
            _offline_first(uv, target, variables, exclude_newer, pinned=True),
        )

    def _install_own(
        self,
        uv: str,
        spec: EnvSpec,
        target: Path,
        exclude_newer: str | None,
        commands: BuildCommands,
    ) -> None:
        """Install the user's requirements, as of the cut-off; write what was installed as
        the environment's own lock (:data:`~isocell.envs._build.OWN_LOCK`)."""
        variables, python = builder_environment_variables(), str(env_python(target))
        wanted = target / OWN_REQUIREMENTS_IN
        wanted.write_text("\n".join(spec.requirements) + "\n", encoding="utf-8")
        argv = [uv, "pip", "install", "--python", python, *index_options(spec)]
        argv += _cutoff_options(exclude_newer, {})
        cached = _offline_first(uv, target, variables, exclude_newer)
        commands.run_cached_first(
            "install", [*argv, "-r", str(wanted)], target.parent, variables, cached
        )
        wanted.unlink()
        frozen = subprocess.run(
            [uv, "pip", "freeze", "--python", python],
            capture_output=True,
            text=True,
            timeout=120,
            env=variables,
        )
        if frozen.returncode != 0:
            raise BuildError(f"cannot list what was installed in {target}", frozen.stderr)
        pins = sorted(
            (line.strip() for line in frozen.stdout.splitlines() if line.strip()), key=str.lower
        )
        (target / OWN_LOCK).write_text("\n".join(pins) + "\n", encoding="utf-8")

    def _own_lock(
        self,
        uv: str,
        spec: EnvSpec,
        target: Path,
        python: str,
        exclude_newer: str | None,
        commands: BuildCommands,
        held: dict[str, str],
    ) -> list[str]:
        """Resolve the user's requirements alone, as of the cut-off (``held``: packages held
        to an earlier time, ``{"numpy": "2023-01-19T..."}``); their pins."""
        variables = builder_environment_variables()
        wanted = target / OWN_REQUIREMENTS_IN
        wanted.write_text("\n".join(spec.requirements) + "\n", encoding="utf-8")
        compile_ = [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate"]
        compile_ += [
            "--python",
            python,
            *index_options(spec),
            *_cutoff_options(exclude_newer, held),
        ]
        compile_ += [str(wanted), "-o", str(target / OWN_LOCK)]
        cached = _offline_first(uv, target, variables, exclude_newer)
        commands.run_cached_first("resolve", compile_, target.parent, variables, cached)
        wanted.unlink()
        return [
            line.strip()
            for line in (target / OWN_LOCK).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]

    def moved(self, final: Path, built_at: Path) -> None:
        """Nothing to do: ``--relocatable`` environments name no absolute path."""


def _offline_first(
    uv: str,
    target: Path,
    variables: dict[str, str],
    exclude_newer: str | None,
    pinned: bool = False,
) -> bool:
    """Whether to try a uv command ``--offline`` first (:func:`~isocell.envs._build.prefer_cache`),
    and uv's cache can answer at all: ``target``'s store folder is two levels up."""
    if not prefer_cache(exclude_newer, pinned):
        return False
    return index_pages_cached(uv, target.parent.parent, variables)


def _cutoff_options(exclude_newer: str | None, held: dict[str, str]) -> list[str]:
    """uv's options for the cut-off time, and for packages held to an earlier one."""
    options = ["--exclude-newer", exclude_newer] if exclude_newer is not None else []
    for name, stamp in sorted(held.items()):
        options += ["--exclude-newer-package", f"{name}={stamp}"]
    return options


def _mixes_eras(spec: EnvSpec) -> bool:
    """Whether the user's pins may come from different times than the resolution: two exact
    pins or more (the cut-off is the newest one's), or one with the cut-off not its own."""
    pins = exact_pins(Requirement(text) for text in spec.requirements)
    return len(pins) >= 2 or (len(pins) == 1 and spec.exclude_newer != "auto")


def _hold_back(spec: EnvSpec, target: Path, held: dict[str, str], commands: BuildCommands) -> bool:
    """Import the user's packages; for each that fails with a binary mismatch, hold the
    compiled dependency it names to the failing package's release time. True when something
    new is held (the builder then resolves and installs again)."""
    added = False
    for problem in import_problems(env_python(target), spec.requirements):
        dependency = binary_mismatch(problem)
        if dependency is None or dependency in held:
            continue
        version = _locked(target, problem.distribution)
        if version is None:
            continue
        try:
            when = release_time(problem.distribution, version, spec.index_url or PYPI_SIMPLE)
        except BuildError:
            when = None
        if when is None:
            continue
        held[dependency] = uv_exclude_newer(when)
        commands.report(
            "resolve",
            f"import {problem.module} failed ({problem.message.splitlines()[0][:160]}): "
            f"{problem.distribution} {version} was built against an older {dependency}; "
            f"resolving again with {dependency} as of {held[dependency]}, its release",
        )
        added = True
    return added


def _locked(target: Path, distribution: str) -> str | None:
    """The version of ``distribution`` in the environment's own lock."""
    wanted = canonicalize_name(distribution)
    for line in (target / OWN_LOCK).read_text(encoding="utf-8").splitlines():
        name, _, version = line.strip().partition("==")
        if version and canonicalize_name(name) == wanted:
            return version.split(";")[0].strip()
    return None
