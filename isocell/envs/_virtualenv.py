"""The virtualenv + pip builder: the fallback where uv cannot run, or ``--builder virtualenv``.

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

__all__ = ["VirtualenvBuilder"]


class VirtualenvBuilder:
    """Builds with ``python -m virtualenv`` and the new environment's pip (see :class:`Builder`)."""

    name = "virtualenv"

    def unavailable(self, spec: EnvSpec) -> str | None:
        import importlib.util

        if importlib.util.find_spec("virtualenv") is None:
            return f"virtualenv is not installed in {sys.executable}"
        return None

    def create(self, spec: EnvSpec, target: Path, commands: BuildCommands) -> None:
        venv = [sys.executable, "-m", "virtualenv", "--quiet", "--python", spec.python]
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
