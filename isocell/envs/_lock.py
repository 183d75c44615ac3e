"""The lock of an environment's *own* requirements, without the kernel's packages.

An environment holds the user's requirements alone (the kernel is in the kernel layer), and
its own lock is all it installed; where the kernel is inside (pins that clash with the
layer's), or for extra requirements, uv resolves the user's requirements again, constrained
to the environment's lock, for its Python version and cut-off date, which gives exactly the
subset of the lock they need.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from isocell.envs._build import OWN_LOCK
from isocell.envs._environment import Environment
from isocell.envs._uv import uv_binary
from isocell.errors import BuildError

__all__ = ["task_requirements"]


def task_requirements(environment: Environment, extra: tuple[str, ...] = ()) -> list[str]:
    """``name==version`` for every package the environment's requirements need, sorted.

    Parameters
    ----------
    environment : Environment
        A built environment (from a spec).
    extra : tuple of str
        More requirements to include (a data location's filesystem). The lock's versions are
        then preferred, not imposed (uv keeps an existing output file's pins where it can): a
        hard constraint could only be met by an ancient release of the extra package (s3fs
        0.2.0, from before fsspec, beside ``python-dateutil==4.0.0``, which botocore refuses),
        while a preference moves only the pins the extra packages need moved; the caller
        compares the result with the lock and says what moved.

    Raises
    ------
    BuildError
        If uv cannot run or the resolution fails.
    """
    spec = environment.spec
    if spec is None or not (spec.requirements or extra):
        return []
    own = environment.path / OWN_LOCK
    if own.is_file() and not extra:
        lines = own.read_text(encoding="utf-8").splitlines()
        pins = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        return sorted(pins, key=str.lower)
    requirements = list(spec.requirements) + list(extra)
    uv = uv_binary()
    if uv is None:
        raise BuildError("uv cannot run here; it is needed to compute the task's requirements")
    with tempfile.TemporaryDirectory(prefix="isocell-lock-") as folder:
        given = Path(folder) / "requirements.in"
        given.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        pinned = own.read_text(encoding="utf-8") if own.is_file() else "\n".join(environment.lock)
        # the lock as constraints, or, with extra requirements, as the output file's
        # preferences (uv pip compile -o keeps an existing file's pins where it can)
        lock = Path(folder) / ("preferences.txt" if extra else "constraints.txt")
        lock.write_text(pinned + "\n", encoding="utf-8")
        argv = [
            uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--no-config",
            "--python-version", environment.python_version,
            *(["--output-file"] if extra else ["--constraint"]), str(lock),
        ]  # fmt: skip
        if spec.index_url:
            argv += ["--index-url", spec.index_url]
        for url in spec.extra_index_urls:
            argv += ["--extra-index-url", url]
        if environment.exclude_newer:
            argv += ["--exclude-newer", environment.exclude_newer]
        done = subprocess.run(
            [*argv, str(given)], capture_output=True, text=True, cwd=folder, timeout=600
        )
        if done.returncode != 0:
            raise BuildError("resolving the task's requirements failed", done.stderr)
        text = lock.read_text(encoding="utf-8") if extra else done.stdout
    pins = [line.strip() for line in text.splitlines()]
    return sorted((line for line in pins if line and not line.startswith("#")), key=str.lower)
