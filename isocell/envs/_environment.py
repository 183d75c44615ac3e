"""A built environment, as a kernel is started in it: what the store and discovery return."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isocell.envs._spec import EnvSpec

__all__ = ["Environment"]


@dataclass(frozen=True)
class Environment:
    """A built environment, ready to start a kernel in.

    Attributes
    ----------
    path : Path
        Its folder (for an external interpreter used as it is: that interpreter's prefix).
    python : Path
        The absolute interpreter to launch.
    python_version : str
        ``"3.9.18"``.
    spec : EnvSpec or None
        The recipe, or None for an external interpreter used as it is.
    lock : tuple of str
        ``name==version`` of every package installed (empty for external interpreters).
    exclude_newer : str or None
        The cut-off time the resolver used, if any.
    name : str or None
        The registered name, for named environments.
    kernel_layer : Path or None
        The site-packages folder of the kernel layer its child kernel takes ipykernel from
        (after the environment's own packages), or None where ipykernel is inside.
    """

    path: Path
    python: Path
    python_version: str
    spec: EnvSpec | None = None
    lock: tuple[str, ...] = ()
    exclude_newer: str | None = None
    name: str | None = None
    kernel_layer: Path | None = None

    @property
    def lock_hash(self) -> str | None:
        """``sha256:<hex>`` of :attr:`lock` (its lines sorted, one a line), None without a
        lock (an interpreter used as it is): what a notebook records of where a cell ran,
        and ``isocell export`` compares."""
        if not self.lock:
            return None
        text = "\n".join(sorted(self.lock)) + "\n"
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    @property
    def key(self) -> str:
        """Identifies the environment among running children: its spec key or its python."""
        return self.spec.key if self.spec is not None else str(self.python)

    @property
    def interpreter_as_is(self) -> Path | None:
        """The existing interpreter this environment uses as it is (``--python PATH`` or
        ``--python 3.9`` alone, a registered external environment), its child kernel taking
        ipykernel from it or from the kernel layer; None for an environment isocell built.
        That interpreter is what an exported ``@task.external_python`` runs."""
        return self.python if self.spec is None else None

    @property
    def label(self) -> str:
        """A short human name: the registered name, else ``py3.9 pandas==1.4.4 …``."""
        if self.name:
            return self.name
        if self.spec is None:
            return str(self.python)
        minor = ".".join(self.python_version.split(".")[:2])
        if self.spec.kernel_layer:
            return f"py{minor} kernel layer"
        reqs = " ".join(self.spec.requirements[:3]) + (
            " …" if len(self.spec.requirements) > 3 else ""
        )
        return f"py{minor} {reqs}".strip()
