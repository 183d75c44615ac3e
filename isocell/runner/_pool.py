"""The child kernels of one notebook kernel: one persistent child per environment.

Modelled on jupyter_client's ``MultiKernelManager``: callers start or get a kernel, restart
it, stop one or all, and read public records (:meth:`KernelPool.records`); none reaches into
the pool's own table, and the records are published for the Jupyter server
(:mod:`isocell.runner._published`) whenever they change. A child that cannot start because
its environment is damaged is handled here: an environment isocell built is rebuilt once, an
interpreter used as it is is reported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from isocell.envs import Environment, EnvStore, ProgressCallback, rebuild_kernel
from isocell.errors import BrokenEnvironmentError, ChildDiedError
from isocell.kernel import ChildKernel, OutputSink, execute, kernel_import_error
from isocell.runner._published import publish
from isocell.runner._record import KernelRecord, resident_bytes
from isocell.runner._state import ProcessState
from isocell.transfer import Codec, fingerprint, protocol, scratch

__all__ = ["KernelPool", "KernelRecord", "PooledKernel"]


@dataclass
class PooledKernel:
    """A child kernel with what the cell runner keeps beside it.

    Attributes
    ----------
    kernel : ChildKernel
    codec : Codec
        Encodes values for the child's Python and libraries.
    environment : Environment
    info : dict
        What the child's agent reported at start (its Python, cloudpickle, ipykernel).
    holds : dict
        What the child holds under each name, as the notebook last saw it (id, fingerprint):
        an input read again and still equal is not sent again.
    started : float
        Seconds since the epoch.
    cells_run : int
    counts : dict
        The child's execution count of each cell it ran -> the notebook's, for tracebacks.
    followed : ProcessState
        The notebook's working folder, environment variables and shared names as the child
        last followed them (:mod:`isocell.runner._state`).
    """

    kernel: ChildKernel
    codec: Codec
    environment: Environment
    info: dict[str, Any]
    holds: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    cells_run: int = 0
    counts: dict[int, int] = field(default_factory=dict)
    followed: ProcessState = field(default_factory=lambda: ProcessState("", {}))

    def unchanged(self, name: str, value: Any) -> bool:
        """Whether the child holds ``value`` under ``name`` already (same object, same
        fingerprint)."""
        known = self.holds.get(name)
        return known is not None and known[0] == id(value) and known[1] == fingerprint(value)

    def remember(self, name: str, value: Any) -> None:
        """The child now holds ``value`` under ``name``."""
        digest = fingerprint(value)
        if digest is None:
            self.holds.pop(name, None)
        else:
            self.holds[name] = (id(value), digest)

    def record(self) -> KernelRecord:
        """This kernel's public record."""
        pid = self.kernel.pid
        return KernelRecord(
            environment=self.environment.label,
            name=self.environment.name,
            key=self.environment.key,
            interpreter=str(self.environment.python),
            python_version=str(self.info.get("python", "")),
            pid=pid,
            started=self.started,
            cells_run=self.cells_run,
            memory_bytes=resident_bytes(pid),
            alive=self.kernel.is_alive(),
        )


class KernelPool:
    """One child kernel per environment, started on first use and kept until stopped.

    Parameters
    ----------
    store : EnvStore
        Where isocell's environments live: a damaged one is rebuilt there.
    between : OutputSink or None
        Where each child's output goes while no cell runs in it (its threads' output, its
        widgets' messages: :mod:`isocell.kernel._between`); None: nowhere.
    """

    def __init__(self, store: EnvStore, between: OutputSink | None = None) -> None:
        self.store = store
        self.between = between
        self._kernels: dict[str, PooledKernel] = {}

    def kernel_for(
        self,
        environment: Environment,
        *,
        restart: bool = False,
        progress: ProgressCallback | None = None,
    ) -> PooledKernel:
        """The running child kernel of ``environment``, started if needed (or anew when
        ``restart`` or when it died).

        Raises
        ------
        BrokenEnvironmentError
            If the environment's kernel does not start: an interpreter used as it is whose
            ipykernel does not import, or an environment still broken once rebuilt.
        ChildDiedError
            If the child died at start for another reason.
        """
        current = self._kernels.get(environment.key)
        if current is not None and (restart or not current.kernel.is_alive()):
            self._stop(environment.key)
            current = None
        if current is not None:
            return current
        try:
            pooled = _start(environment)
        except ChildDiedError as error:
            problem = kernel_import_error(environment.python, kernel_layer=environment.kernel_layer)
            if problem is None:
                raise  # the kernel's packages import: something else stopped it
            environment = self._rebuilt(environment, problem, progress)
            try:
                pooled = _start(environment)
            except ChildDiedError as again:
                raise BrokenEnvironmentError(
                    environment.label,
                    str(environment.python),
                    f"its kernel does not start, even rebuilt ({again.detail}; before the "
                    f"rebuild: {error.detail})",
                    f"See the build log in {environment.path}.",
                ) from None
        if self.between is not None:
            pooled.kernel.relay_between_requests(self.between)
        self._kernels[environment.key] = pooled
        self.publish()
        return pooled

    def _rebuilt(
        self, environment: Environment, problem: str, progress: ProgressCallback | None
    ) -> Environment:
        rebuilt = rebuild_kernel(environment, self.store, problem, progress)
        if rebuilt is None:
            raise BrokenEnvironmentError(
                environment.label,
                str(environment.python),
                f"its kernel does not start ({problem})",
                "isocell does not change interpreters it did not build: reinstall ipykernel "
                f"there (`{environment.python} -m pip install --force-reinstall ipykernel`) or "
                "register another interpreter.",
            )
        return rebuilt

    def get_kernel(self, key: str) -> PooledKernel:
        """The child of the environment ``key``.

        Raises
        ------
        KeyError
            If that environment has no child in this pool.
        """
        return self._kernels[key]

    def discard(self, key: str) -> None:
        """Forget the child of environment ``key`` and kill it at once (it died mid-cell)."""
        pooled = self._kernels.pop(key, None)
        if pooled is not None:
            pooled.kernel.stop(now=True)
            self.publish()

    def stop(self, target: str | None = None) -> list[str]:
        """Stop the child whose environment's key, label or name is ``target``, or every
        child when None; returns the labels of those stopped."""
        stopped = []
        for key, pooled in list(self._kernels.items()):
            environment = pooled.environment
            if target is None or target in (key, environment.label, environment.name):
                self._stop(key)
                stopped.append(environment.label)
        return stopped

    def restart(self, target: str | None = None) -> list[str]:
        """Stop the child whose environment's key, label or name is ``target`` (every child:
        None) and start a fresh one in its environment now; returns the labels restarted.

        Raises
        ------
        BrokenEnvironmentError, ChildDiedError
            As :meth:`kernel_for`, if a fresh child does not start.
        """
        restarted = []
        for key, pooled in list(self._kernels.items()):
            environment = pooled.environment
            if target is None or target in (key, environment.label, environment.name):
                self.kernel_for(environment, restart=True)
                restarted.append(environment.label)
        return restarted

    def stop_all(self) -> list[str]:
        """Stop every child (the notebook kernel is going away); their labels."""
        return self.stop()

    def _stop(self, key: str) -> None:
        pooled = self._kernels.pop(key)
        pooled.kernel.stop()
        self.publish()

    def cell_ran(self, pooled: PooledKernel) -> None:
        """Count a cell that ``pooled`` ran."""
        pooled.cells_run += 1
        self.publish()

    def publish(self) -> None:
        """Publish the records under the store's home, for the server's listing."""
        publish(self.store.home, self.records())

    def records(self) -> tuple[KernelRecord, ...]:
        """A record of each child, in the order they started."""
        return tuple(pooled.record() for pooled in self._kernels.values())

    def __iter__(self) -> Iterator[str]:
        """The keys of the environments that have a child."""
        return iter(list(self._kernels))


def _start(environment: Environment) -> PooledKernel:
    # In an environment isocell built, the child writes bytecode even where the user's shell
    # says PYTHONDONTWRITEBYTECODE (as pip compiles at install): uv installs none, and
    # importing ipykernel from source takes 1.3 s on Python 3.9 here, 0.5 s from .pyc. An
    # interpreter used as it is keeps the user's setting.
    extra = {"PYTHONDONTWRITEBYTECODE": ""} if environment.spec is not None else {}
    kernel = ChildKernel(
        environment.python,
        environment.label,
        extra_environment_variables=extra,
        runtime_dir=scratch.kernel_folder(),
        kernel_layer=environment.kernel_layer,
    )
    kernel.start()
    try:
        code = protocol.bootstrap_code(environment.python_version)
        expressions = protocol.setup_expressions()
        reply = execute(
            kernel, code, None, silent=True, store_history=False, user_expressions=expressions
        )
        info = protocol.answer(reply.user_expressions, "setup", kernel.label, reply)
    except BaseException:
        kernel.stop(now=True)
        raise
    pooled = PooledKernel(kernel, Codec(info["python"], info["cloudpickle"]), environment, info)
    pooled.followed = ProcessState(kernel.cwd or os.getcwd(), kernel.started_with)
    return pooled
