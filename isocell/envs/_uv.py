"""The uv builder, the default: ``uv venv --relocatable``, ``uv pip compile``, ``uv pip install``.

The user's requirements are resolved alone first, as of the cut-off time: the environment's
own lock (:data:`~isocell.envs._build.OWN_LOCK`, what an exported Airflow task installs),
which is all the environment installs (the kernel comes from the kernel layer), or pins
them for the install of the kernel's packages too (``EnvSpec.kernel_inside``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from isocell.envs._spec import EnvSpec

__all__ = ["UvBuilder", "uv_binary"]

_uv_checked: dict[str, str | None] = {}


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


class UvBuilder:
    """Builds with the uv executable of the ``uv`` package (see :class:`Builder`)."""

    name = "uv"

    def unavailable(self, spec: EnvSpec) -> str | None:
        if uv_binary() is None:
            return "the uv executable of the uv package is missing or cannot run here"
        return None

    def build(
        self,
        spec: EnvSpec,
        target: Path,
        requirements_file: Path,
        exclude_newer: str | None,
        commands: BuildCommands,
    ) -> None:
        uv = uv_binary()
        assert uv is not None, "unavailable() said so"
        variables, cwd = builder_environment_variables(), target.parent
        venv = [uv, "venv", "--quiet", "--relocatable", "--python", spec.python]
        create_venv(commands, venv, spec, target, variables)
        python = str(env_python(target))
        if spec.requirements:
            own = self._own_lock(uv, spec, target, python, exclude_newer, commands, variables)
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
            prefer_cache(exclude_newer, pinned=True),
        )

    def _own_lock(
        self,
        uv: str,
        spec: EnvSpec,
        target: Path,
        python: str,
        exclude_newer: str | None,
        commands: BuildCommands,
        variables: dict[str, str],
    ) -> list[str]:
        """Resolve the user's requirements alone, as of the cut-off; their pins."""
        wanted = target / OWN_REQUIREMENTS_IN
        wanted.write_text("\n".join(spec.requirements) + "\n", encoding="utf-8")
        cutoff = ["--exclude-newer", exclude_newer] if exclude_newer is not None else []
        compile_ = [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate"]
        compile_ += ["--python", python, *index_options(spec), *cutoff]
        compile_ += [str(wanted), "-o", str(target / OWN_LOCK)]
        cached = prefer_cache(exclude_newer)
        commands.run_cached_first("resolve", compile_, target.parent, variables, cached)
        wanted.unlink()
        return [
            line.strip()
            for line in (target / OWN_LOCK).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]

    def moved(self, final: Path, built_at: Path) -> None:
        """Nothing to do: ``--relocatable`` environments name no absolute path."""
