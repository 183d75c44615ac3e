"""Start, interrupt, restart and stop one child ipykernel in an environment.

The child is launched through jupyter_client with the environment's *absolute* interpreter
(jupyter_client replaces an argv[0] of ``python``/``python3``/``python3.X`` with its own
interpreter, which would run the child in the wrong environment). jupyter_client sets
``JPY_PARENT_PID`` on POSIX, and ipykernel then polls its parent and exits when the parent
is gone, so a child never outlives the notebook kernel even when that one is killed.

jupyter_client starts the child in a session of its own, so the processes a cell starts
(``subprocess.Popen(["sleep", "1000"])``) are in the child's process group: the whole group is
killed when the child is stopped, killed or timed out here, and, when the notebook kernel dies,
by the child's agent (``isocell.transfer._wire.agent``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isocell.errors import ChildDiedError
from isocell.kernel._between import BetweenRequests
from isocell.kernel._oom import OutOfMemoryWatch

if TYPE_CHECKING:
    from jupyter_client import BlockingKernelClient, KernelManager

    from isocell.kernel._relay import OutputSink

__all__ = ["ChildKernel", "kernel_import_error"]

_LIVE: weakref.WeakSet[ChildKernel] = weakref.WeakSet()

#: Output messages a child may send ahead of the relay before ZMQ drops them (messages, not
#: bytes: ipykernel batches a stream's text per 0.2 s, one message per explicit flush).
IOPUB_BACKLOG = 20_000


@atexit.register
def _stop_all() -> None:
    for child in list(_LIVE):
        child.stop(now=True)


#: The script that starts a child kernel whose ipykernel is in a kernel layer.
CHILD_LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_child_launcher.py")


def _launch_argv(python: str, kernel_layer: str | None) -> list[str]:
    """How the child starts: ``-m ipykernel_launcher``, or isocell's launcher that puts the
    kernel layer after the environment's packages."""
    if kernel_layer is None:
        return [python, "-m", "ipykernel_launcher"]
    return [python, CHILD_LAUNCHER, kernel_layer]


def _spec_manager(python: str, display: str, kernel_layer: str | None = None) -> Any:
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class _OneSpec(KernelSpecManager):  # type: ignore[misc]
        # The kernel spec is made in memory: nothing is written to the user's kernel folders.
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                # No SQLite history: the child's cells are the notebook's, recorded there;
                # otherwise every child writes (and commits) each cell into the user's
                # profile history.sqlite, shared with every other kernel: ~3 ms per cell here.
                argv=[
                    *_launch_argv(python, kernel_layer),
                    "--HistoryManager.enabled=False",
                    "-f",
                    "{connection_file}",
                ],
                display_name=display,
                language="python",
                interrupt_mode="signal",
                env={},
            )

    return _OneSpec()


class ChildKernel:
    """One ipykernel process in one environment, with its blocking client.

    Parameters
    ----------
    python : Path
        The environment's absolute interpreter.
    label : str
        A human name for messages (the environment's label).
    cwd : str or None
        The child's working folder; default: the notebook kernel's current folder, so that
        relative paths mean the same in both.
    extra_environment_variables : dict or None
        Environment variables to add for the child.
    runtime_dir : Path or None
        A private folder (mode 0700) for the child's sockets and connection file, removed when
        the child stops; default: a new one in the temporary folder.
    kernel_layer : Path or None
        The site-packages folder ipykernel comes from, after the environment's own packages
        (:mod:`isocell.envs._kernel_layer`); None when ipykernel is in the environment.

    Attributes
    ----------
    started_with : dict of str to str
        The environment variables the child started with.
    """

    def __init__(
        self,
        python: Path,
        label: str,
        cwd: str | None = None,
        extra_environment_variables: dict[str, str] | None = None,
        runtime_dir: Path | None = None,
        kernel_layer: Path | None = None,
    ) -> None:
        self.python = Path(python)
        self.kernel_layer = kernel_layer
        self.runtime_dir = runtime_dir
        self.label = label
        self.cwd = cwd
        self.extra_environment_variables = dict(extra_environment_variables or {})
        self.manager: KernelManager | None = None
        self.client: BlockingKernelClient | None = None
        self.started_at = 0.0
        self.started_with: dict[str, str] = {}
        self._between: BetweenRequests | None = None
        self._ipc_dir: str | None = None
        self._group: int | None = None
        self._oom: OutOfMemoryWatch | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Launch the process and wait until it answers.

        Raises
        ------
        ChildDiedError
            If the kernel exits or does not answer within ``timeout`` seconds.
        """
        from jupyter_client import KernelManager

        ipc: dict[str, str] = {"transport": "tcp"}
        if os.name == "posix":
            # Unix sockets, not TCP ports: nothing listens on the network, and nothing else
            # on the machine can connect to the child. In a private folder: jupyter_client's
            # default is ``kernel-ipc-N`` in the working folder, with N the first free number,
            # so two notebooks there starting children at once took each other's sockets.
            self._ipc_dir = str(self.runtime_dir or tempfile.mkdtemp(prefix="isocell-ipc-"))
            ipc = {"transport": "ipc", "ip": os.path.join(self._ipc_dir, "kernel")}
        else:
            self._ipc_dir = str(self.runtime_dir) if self.runtime_dir else None
        manager = KernelManager(
            kernel_name="isocell",
            kernel_spec_manager=_spec_manager(
                str(self.python),
                self.label,
                str(self.kernel_layer) if self.kernel_layer is not None else None,
            ),
            **ipc,
        )
        if self._ipc_dir is not None:
            # Not in Jupyter's runtime folder, where a killed notebook's would stay for ever.
            manager.connection_file = os.path.join(self._ipc_dir, "connection.json")
        self.started_with = self.environment_variables()
        manager.start_kernel(env=self.started_with, cwd=self.cwd or os.getcwd())
        # Room for a burst of output: a ZMQ subscriber that falls behind loses messages past
        # its high-water mark (1000 by default), and the relay writes into the notebook
        # between reads. The client's context is its own: this reaches only its sockets.
        import zmq

        client = manager.client()
        client.context.setsockopt(zmq.RCVHWM, IOPUB_BACKLOG)
        client.start_channels()
        self.manager, self.client = manager, client
        _LIVE.add(self)
        try:
            client.wait_for_ready(timeout=timeout)
        except RuntimeError as error:
            detail = self.exit_detail()
            self.stop(now=True)
            raise ChildDiedError(self.label, f"it did not start: {error}; {detail}") from None
        self.started_at = time.monotonic()
        pid = self.pid
        self._oom = OutOfMemoryWatch.of(pid) if pid is not None else None
        if pid is not None and hasattr(os, "getpgid"):
            try:
                # The child leads its own group (jupyter_client's start_new_session).
                self._group = pid if os.getpgid(pid) == pid else None
            except OSError:
                self._group = None

    def environment_variables(self) -> dict[str, str]:
        """The child's environment variables made from the notebook's as they are now: those
        it starts with, and what it follows before each cell (:mod:`isocell.runner._state`)."""
        variables = _child_environment_variables(self.python)
        # Headless matplotlib in the child draws inline images, as in a notebook.
        variables.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        # ipykernel's debugger warns about frozen modules on every start of Python >= 3.11.
        variables.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        variables.update(self.extra_environment_variables)
        return variables

    def relay_between_requests(self, sink: OutputSink) -> None:
        """From now on, what the child sends while no request runs (its threads' output,
        its widgets' messages) goes to ``sink`` (:mod:`isocell.kernel._between`)."""
        if self._between is None and self.client is not None:
            self._between = BetweenRequests(self.client, sink, self.label)
            self._between.start()

    @contextlib.contextmanager
    def requests_alone(self) -> Iterator[None]:
        """The block reads the child's output channel alone (a request runs)."""
        if self._between is None:
            yield
            return
        with self._between.paused():
            yield

    @property
    def pid(self) -> int | None:
        """The child's process id, while it runs."""
        provisioner = getattr(self.manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def is_alive(self) -> bool:
        """True while the child process runs."""
        return self.manager is not None and bool(self.manager.is_alive())

    def exit_detail(self) -> str:
        """How the process ended, as far as known (``"killed by signal 9"``)."""
        provisioner = getattr(self.manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "exit status unknown"
        if code < 0:
            if -code == 9 and self._oom is not None and self._oom.fired():
                return self._oom.describe()
            return f"killed by signal {-code}"
        return f"exit code {code}"

    def interrupt(self) -> None:
        """Send SIGINT to the child (its running cell raises KeyboardInterrupt; state is kept)."""
        if self.manager is not None and self.is_alive():
            self.manager.interrupt_kernel()

    def stop(self, now: bool = False) -> None:
        """End the child and close its channels; safe to call twice.

        Parameters
        ----------
        now : bool
            Kill at once instead of asking the kernel to shut down.
        """
        client, manager = self.client, self.manager
        self.client = self.manager = None
        _LIVE.discard(self)
        quiet = self._between is None or self._between.stop()
        self._between = None
        if client is not None and quiet:  # else its sockets stay open: the thread polls them
            client.stop_channels()
        if manager is not None:
            try:
                if manager.is_alive():
                    manager.shutdown_kernel(now=now)
                else:
                    manager.cleanup_resources()
            except Exception:  # a half-dead kernel: make sure the process is gone
                _kill(manager)
        self.end_group()
        if self._ipc_dir is not None:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None

    def end_group(self) -> None:
        """Kill what is left of the child's process group (the processes its cells started).

        Safe once the child is gone: a group's id is not given to another process while the
        group has members, and an empty group is simply not found.
        """
        group, self._group = self._group, None
        if group is None:
            return
        try:
            os.killpg(group, 9)
        except (ProcessLookupError, PermissionError):
            pass

    def __repr__(self) -> str:
        state = "running" if self.is_alive() else "stopped"
        return f"<ChildKernel {self.label} pid={self.pid} {state}>"


def _child_environment_variables(python: Path) -> dict[str, str]:
    variables = dict(os.environ)
    # The notebook kernel's own venv and paths must not leak into the child's Python.
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"):
        variables.pop(name, None)
    variables["VIRTUAL_ENV"] = str(python.parent.parent)
    variables["PATH"] = os.pathsep.join([str(python.parent), variables.get("PATH", "")])
    return variables


def kernel_import_error(
    python: Path, timeout: float = 120.0, kernel_layer: Path | None = None
) -> str | None:
    """Why no kernel can start in ``python``: None if its kernel packages import.

    Run after a child failed to start, to tell a damaged environment (the interpreter gone,
    ipykernel missing or truncated) from a start that failed for another reason.

    Parameters
    ----------
    python : Path
        The environment's interpreter.
    timeout : float
        Seconds to allow the import (a cold start compiles bytecode).
    kernel_layer : Path or None
        The kernel layer's site-packages, appended to ``sys.path`` first, as the child's.

    Returns
    -------
    str or None
        The last line of the import's error (``"ModuleNotFoundError: No module named
        'ipykernel'"``), or None when the kernel's packages import.
    """
    import subprocess

    # What ipykernel_launcher does before the kernel answers, short of starting it.
    layer = f"import site; site.addsitedir({str(kernel_layer)!r})\n" if kernel_layer else ""
    probe = [
        str(python),
        "-c",
        layer + "import ipykernel_launcher\n"
        "from ipykernel.kernelapp import IPKernelApp, launch_new_instance\n"
        "from ipykernel.ipkernel import IPythonKernel",
    ]
    try:
        done = subprocess.run(
            probe,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=_child_environment_variables(Path(python)),
            stdin=subprocess.DEVNULL,
        )
    except OSError as error:
        return f"{python} cannot run ({error.strerror or error})"
    except subprocess.TimeoutExpired:
        return None  # slow, not broken
    if done.returncode == 0:
        return None
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    return f"`import ipykernel` fails: {lines[-1] if lines else f'exit code {done.returncode}'}"


def _kill(manager: KernelManager) -> None:
    provisioner = getattr(manager, "provisioner", None)
    process = getattr(provisioner, "process", None)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()
