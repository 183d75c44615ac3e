"""What every builder shares: the :class:`Builder` protocol, progress events, and running the
builder's commands.

A builder makes a virtual environment in a folder it is given and installs requirements into
it (the implementations: ``_uv``, ``_virtualenv``; which one builds a spec: ``_builders``).
Builders run subprocesses given argument lists (:class:`BuildCommands`); requirements reach
them only through a requirements file of already-validated PEP 508 strings, never as options.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from isocell.envs._redact import redact_text
from isocell.errors import BuildError

if TYPE_CHECKING:
    from isocell.envs._spec import EnvSpec

__all__ = [
    "OWN_LOCK",
    "OWN_REQUIREMENTS_IN",
    "BuildCommands",
    "BuildProgress",
    "Builder",
    "BuilderKilled",
    "ProgressCallback",
    "builder_environment_variables",
    "create_venv",
    "env_python",
    "index_options",
    "prefer_cache",
]


@dataclass(frozen=True)
class BuildProgress:
    """One step of a build, for a live display.

    Attributes
    ----------
    phase : str
        ``"interpreter"``, ``"resolve"``, ``"venv"``, ``"install"``, ``"lock"`` or ``"done"``.
    message : str
        The latest line of the builder's log, or a summary.
    elapsed : float
        Seconds since the build started.
    packages : int or None
        Packages resolved or installed so far, when the builder said.
    """

    phase: str
    message: str
    elapsed: float
    packages: int | None = None


ProgressCallback = Callable[[BuildProgress], None]

#: The environment's own lock: its requirements' resolution, without the kernel's packages.
OWN_LOCK = "requirements.own.txt"
OWN_REQUIREMENTS_IN = ".requirements.own.in"


def env_python(env_dir: Path) -> Path:
    """The interpreter of a virtual environment folder (POSIX layout: ``bin/python``)."""
    return env_dir / "bin" / "python"


class Builder(Protocol):
    """Makes the virtual environment of a spec in a folder it is given.

    Implementations: :class:`~isocell.envs._uv.UvBuilder` and
    :class:`~isocell.envs._virtualenv.VirtualenvBuilder`; ``_builders.BUILDERS`` lists them.
    """

    #: The name a spec's ``builder`` field and ``--builder`` use, and the environment's facts
    #: record.
    name: str

    def unavailable(self, spec: EnvSpec) -> str | None:
        """Why this builder cannot build ``spec`` here (its tool is missing or cannot run),
        or None if it can."""

    def create(self, spec: EnvSpec, target: Path, commands: BuildCommands) -> None:
        """Make the empty virtual environment of ``spec`` at ``target`` (a folder that does
        not exist yet). The cut-off time may still be looked up meanwhile.

        Raises
        ------
        BuildError
            If the tool fails (the log holds its message).
        """

    def install(
        self,
        spec: EnvSpec,
        target: Path,
        requirements_file: Path,
        exclude_newer: str | None,
        commands: BuildCommands,
    ) -> None:
        """Install ``requirements_file`` (:meth:`EnvSpec.install_requirements`, one a line)
        into the environment :meth:`create` made, resolving as if nothing newer than
        ``exclude_newer`` (RFC 3339) had been published where the tool can. Progress and the
        log go through ``commands``.

        Raises
        ------
        BuildError
            If a command fails (the log holds the tool's message).
        """

    def moved(self, final: Path, built_at: Path) -> None:
        """The environment built at ``built_at`` was renamed to ``final``: fix what names
        the old place."""


# uv's summary lines ("Resolved 14 packages in 310ms") and pip's ("Collecting pandas==1.4.4").
_COUNT = re.compile(r"^(Resolved|Prepared|Installed|Audited|Downloaded)\s+(\d+)\s+package")
_PHASES = {
    "Resolved": "resolve",
    "Prepared": "install",
    "Downloaded": "install",
    "Installed": "install",
    "Audited": "install",
    "Collecting": "resolve",
    "Downloading": "install",
    "Installing": "install",
    "Successfully": "install",
}


class BuilderKilled(BuildError):
    """The builder was killed by a signal (not a failure of its own)."""


class BuildCommands:
    """Runs a build's commands one after the other, streaming their output as progress.

    Parameters
    ----------
    progress : callable or None
        Receives a :class:`BuildProgress` for every line a command prints.
    log : list of str
        Receives every command (credentials redacted) and every output line.
    """

    def __init__(self, progress: ProgressCallback | None, log: list[str]) -> None:
        self.progress = progress
        self.log = log
        self.started = time.monotonic()
        self.packages: int | None = None

    def report(self, phase: str, message: str) -> None:
        """One progress event (when there is a callback)."""
        if self.progress is not None:
            elapsed = time.monotonic() - self.started
            self.progress(BuildProgress(phase, message, elapsed, self.packages))

    def run(self, phase: str, argv: Sequence[str], cwd: Path, variables: dict[str, str]) -> None:
        """Run ``argv`` in ``cwd`` with the environment variables ``variables``; raise
        :class:`BuildError` if it fails (:class:`BuilderKilled` if a signal ended it)."""
        self.log.append(redact_text("$ " + " ".join(argv)))
        self.report(phase, f"{phase}…")
        # The context closes the pipe (a ResourceWarning otherwise) and reaps the builder.
        with subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=variables,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=_die_with_parent(),
        ) as process:
            try:
                assert process.stdout is not None
                for raw in process.stdout:
                    self._line(phase, raw)
                code = process.wait()
            except BaseException:
                # Interrupted (KeyboardInterrupt) or failed: the builder must not outlive us.
                process.kill()
                process.wait()
                raise
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            raise BuilderKilled(f"{argv[0]} was killed by signal {name}", "\n".join(self.log))
        if code != 0:
            raise BuildError(f"{argv[0]} exited with code {code}", "\n".join(self.log))

    def _line(self, phase: str, raw: str) -> None:
        """One line of a builder's output: logged (credentials redacted) and reported."""
        line = redact_text(raw.rstrip())
        if not line:
            return
        self.log.append(line)
        match = _COUNT.match(line)
        if match:
            self.packages = int(match.group(2))
        self.report(_PHASES.get(line.split()[0], phase), line)

    def run_cached_first(
        self, phase: str, argv: Sequence[str], cwd: Path, variables: dict[str, str], cached: bool
    ) -> None:
        """Run a uv command from uv's cache alone (``--offline``) first when ``cached``.

        npm's ``--prefer-offline``: cached index pages are used however old, and the index is
        asked only when the cache lacks something (the offline attempt then fails before
        installing anything and the command runs again online). uv itself revalidates every
        cached page, about 0.7 s per resolution here even when nothing changed.
        """
        if cached:
            try:
                self.run(phase, [*argv, "--offline"], cwd, variables)
                return
            except BuilderKilled:
                raise  # someone stopped it (the user, the OOM killer): not a cache miss
            except BuildError:
                self.log.append("note: not everything is in uv's cache; asking the index")
        self.run(phase, argv, cwd, variables)


_prctl: list[Callable[..., int]] = []


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes Linux kill the builder when this process dies.

    Without it, a notebook kernel or ``isocell env create`` killed with SIGKILL mid-build
    leaves uv running, writing into a build folder nobody owns. ``PR_SET_PDEATHSIG`` fires
    when the *thread* that started the builder ends; that thread waits for the builder
    (:meth:`BuildCommands.run`), so it ends only with the process. ``prctl`` is looked up here, in
    the parent, so that the forked child only calls it.
    """
    if not sys.platform.startswith("linux"):
        return None
    if not _prctl:
        import ctypes

        try:
            _prctl.append(ctypes.CDLL(None, use_errno=True).prctl)
        except (OSError, AttributeError):
            return None
    prctl, parent = _prctl[0], os.getpid()

    def arm() -> None:
        prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl: nobody waits for us
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


def prefer_cache(exclude_newer: str | None, pinned: bool = False) -> bool:
    """Whether a resolution may be answered from uv's cache without asking the index.

    By default: a resolution bounded by a cut-off time (``--exclude-newer``), whose answer
    does not move with new releases, so cached index pages give the answer the index would;
    and the install step (``pinned``), where the user's packages are already pinned by their
    own lock and only the kernel's packages are left to resolve, for which the newest cached
    release is as good as the newest one. ``ISOCELL_PREFER_OFFLINE=1`` extends it to every
    resolution (newest *cached* versions), ``ISOCELL_PREFER_OFFLINE=0`` always asks the index.
    """
    setting = os.environ.get("ISOCELL_PREFER_OFFLINE", "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting in ("1", "true", "yes", "on"):
        return True
    return exclude_newer is not None or pinned


def builder_environment_variables() -> dict[str, str]:
    """This process's environment variables, without those that would point a builder at
    another Python (a notebook kernel's own venv), and with the tools' colours and version
    checks off."""
    variables = dict(os.environ)
    # A notebook kernel's own venv must not leak into the builder's notion of "the" Python.
    for name in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "CONDA_PREFIX"):
        variables.pop(name, None)
    variables["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    variables["NO_COLOR"] = "1"
    return variables


def index_options(spec: EnvSpec) -> list[str]:
    """The spec's package indexes as uv and pip options."""
    options: list[str] = []
    if spec.index_url:
        options += ["--index-url", spec.index_url]
    for url in spec.extra_index_urls:
        options += ["--extra-index-url", url]
    return options


def create_venv(
    commands: BuildCommands,
    command: list[str],
    spec: EnvSpec,
    target: Path,
    variables: dict[str, str],
) -> None:
    """Run ``command`` (a tool that makes a virtual environment, given its folder last) to
    make ``target`` for ``spec``: with the system site-packages where the spec asks for them."""
    if spec.system_site_packages:
        command = [*command, "--system-site-packages"]
    commands.run("venv", [*command, str(target)], target.parent, variables)
