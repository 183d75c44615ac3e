"""The virtualenv + pip builder: the fallback where uv cannot run, or ``--builder virtualenv``.

virtualenv 20.22 stopped making environments for Python < 3.7 (its changelog); a Python 2.7
environment is made by virtualenv 20.21, whose seed is of that era (pip 20.3.4, setuptools
44.1.1, wheel 0.37.1: the last that run on 2.7), run as a tool by uv (``uv tool run``, which
keeps it in uv's cache) rather than installed beside isocell.

pip has no ``--exclude-newer``: a cut-off time is noted in the log and the progress, and not
honoured.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from isocell.envs._build import (
    BuildCommands,
    builder_environment_variables,
    create_venv,
    env_python,
    index_options,
)

if TYPE_CHECKING:
    from isocell.envs._spec import EnvSpec

__all__ = ["LEGACY_VIRTUALENV", "VirtualenvBuilder"]

#: The virtualenv that makes environments for Pythons the current one no longer does.
LEGACY_VIRTUALENV = "virtualenv<20.22"


def _legacy(spec: EnvSpec) -> bool:
    return spec.python_version.startswith("2.")


class VirtualenvBuilder:
    """Builds with ``python -m virtualenv`` and the new environment's pip (see :class:`Builder`)."""

    name = "virtualenv"

    def unavailable(self, spec: EnvSpec) -> str | None:
        import importlib.util

        if _legacy(spec):
            from isocell.envs._uv import uv_binary

            if uv_binary() is None:
                return "a Python 2 environment needs uv to run virtualenv 20.21"
            return None
        if importlib.util.find_spec("virtualenv") is None:
            return f"virtualenv is not installed in {sys.executable}"
        return None

    def create(self, spec: EnvSpec, target: Path, commands: BuildCommands) -> None:
        venv = [sys.executable, "-m", "virtualenv"]
        if _legacy(spec):
            from isocell.envs._uv import uv_binary

            venv = [str(uv_binary()), "tool", "run", "--from", LEGACY_VIRTUALENV, "virtualenv"]
        venv += ["--quiet", "--python", spec.python]
        create_venv(commands, venv, spec, target, builder_environment_variables())

    def install(
        self,
        spec: EnvSpec,
        target: Path,
        requirements_file: Path,
        exclude_newer: str | None,
        commands: BuildCommands,
    ) -> None:
        if exclude_newer is not None:
            commands.log.append(
                f"note: pip cannot exclude releases newer than {exclude_newer}; ignored"
            )
            commands.report("install", f"pip cannot honour --exclude-newer {exclude_newer}")
        variables, cwd = builder_environment_variables(), target.parent
        if not requirements_file.read_text(encoding="utf-8").strip():
            return  # nothing to install: the kernel comes from the kernel layer
        install = [str(env_python(target)), "-m", "pip", "install", "--progress-bar", "off"]
        install += index_options(spec)
        commands.run("install", [*install, "-r", str(requirements_file)], cwd, variables)

    def moved(self, final: Path, built_at: Path) -> None:
        """Point the scripts at the new place: pip writes absolute shebangs and virtualenv
        absolute activation scripts, which still name the temporary build folder."""
        old, new = str(built_at).encode(), str(final).encode()
        for script in (final / "bin").iterdir():
            if not script.is_file() or script.is_symlink():
                continue
            data = script.read_bytes()
            if old in data[:65536] and b"\0" not in data[:1024]:
                script.write_bytes(data.replace(old, new))
