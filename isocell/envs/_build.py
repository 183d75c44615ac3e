"""The builders: make a virtual environment in a folder and install requirements into it.

Two builders stand behind one function, :func:`build_into`: uv (``uv venv --relocatable`` +
``uv pip install``), the default, and virtualenv + pip, the fallback where uv cannot run.
Both are subprocesses given argument lists; requirements reach them only through a
requirements file of already-validated PEP 508 strings, never as options.
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

from isocell.envs._redact import redact_text
from isocell.envs._spec import EnvSpec
from isocell.errors import BuildError

__all__ = ["BuildProgress", "build_into", "env_python", "uv_binary"]


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


class _Killed(BuildError):
    """The builder was killed by a signal (not a failure of its own)."""


class _Runner:
    """Runs the build's commands one after the other, streaming their output as progress."""

    def __init__(self, progress: ProgressCallback | None, log: list[str]) -> None:
        self.progress = progress
        self.log = log
        self.started = time.monotonic()
        self.packages: int | None = None

    def report(self, phase: str, message: str) -> None:
        if self.progress is not None:
            elapsed = time.monotonic() - self.started
            self.progress(BuildProgress(phase, message, elapsed, self.packages))

    def run(self, phase: str, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        self.log.append(redact_text("$ " + " ".join(argv)))
        self.report(phase, f"{phase}…")
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=_die_with_parent(),
        )
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = redact_text(raw.rstrip())
                if not line:
                    continue
                self.log.append(line)
                words = line.split()
                match = _COUNT.match(line)
                if match:
                    self.packages = int(match.group(2))
                self.report(_PHASES.get(words[0], phase), line)
            code = process.wait()
        except BaseException:
            # Interrupted (KeyboardInterrupt) or failed: the builder must not outlive us.
            process.kill()
            process.wait()
            raise
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            raise _Killed(f"{argv[0]} was killed by signal {name}", "\n".join(self.log))
        if code != 0:
            raise BuildError(f"{argv[0]} exited with code {code}", "\n".join(self.log))

    def run_cached_first(
        self, phase: str, argv: Sequence[str], cwd: Path, env: dict[str, str], cached: bool
    ) -> None:
        """Run a uv command from uv's cache alone (``--offline``) first when ``cached``.

        npm's ``--prefer-offline``: cached index pages are used however old, and the index is
        asked only when the cache lacks something (the offline attempt then fails before
        installing anything and the command runs again online). uv itself revalidates every
        cached page, about 0.7 s per resolution here even when nothing changed.
        """
        if cached:
            try:
                self.run(phase, [*argv, "--offline"], cwd, env)
                return
            except _Killed:
                raise  # someone stopped it (the user, the OOM killer): not a cache miss
            except BuildError:
                self.log.append("note: not everything is in uv's cache; asking the index")
        self.run(phase, argv, cwd, env)


_prctl: list[Callable[..., int]] = []


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes Linux kill the builder when this process dies.

    Without it, a notebook kernel or ``isocell env create`` killed with SIGKILL mid-build
    leaves uv running, writing into a build folder nobody owns. ``PR_SET_PDEATHSIG`` fires
    when the *thread* that started the builder ends; that thread waits for the builder
    (:meth:`_Runner.run`), so it ends only with the process. ``prctl`` is looked up here, in
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


def _builder_env() -> dict[str, str]:
    env = dict(os.environ)
    # A notebook kernel's own venv must not leak into the builder's notion of "the" Python.
    for name in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "CONDA_PREFIX"):
        env.pop(name, None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["NO_COLOR"] = "1"
    return env


def build_into(
    spec: EnvSpec,
    target: Path,
    requirements_file: Path,
    exclude_newer: str | None,
    progress: ProgressCallback | None,
    log: list[str],
) -> str:
    """Create a virtual environment at ``target`` and install the spec's requirements.

    Parameters
    ----------
    spec : EnvSpec
        What to build.
    target : Path
        A folder that does not exist yet (the caller renames it into place afterwards).
    requirements_file : Path
        File holding :meth:`EnvSpec.install_requirements`, one a line.
    exclude_newer : str or None
        RFC 3339 time: resolve as if nothing newer had been published (uv's
        ``--exclude-newer``). pip has no such option; with virtualenv it is refused.
    progress : callable or None
        Called with a :class:`BuildProgress` for every line the builder prints.
    log : list of str
        Receives every command and output line.

    Returns
    -------
    str
        The builder that was used (``"uv"`` or ``"virtualenv"``): uv falls back to virtualenv
        where it cannot run.

    Raises
    ------
    BuildError
        If a command fails (the log holds the resolver's message).
    """
    runner = _Runner(progress, log)
    env = _builder_env()
    cwd = target.parent
    uv = uv_binary() if spec.builder == "uv" else None
    if uv is not None:
        _build_with_uv(uv, spec, target, requirements_file, exclude_newer, runner, env, cwd)
        return "uv"
    if exclude_newer is not None:
        log.append(f"note: pip cannot exclude releases newer than {exclude_newer}; ignored")
        runner.report("venv", f"pip cannot honour --exclude-newer {exclude_newer}")
    _build_with_virtualenv(spec, target, requirements_file, runner, env, cwd)
    return "virtualenv"


def _index_options(spec: EnvSpec) -> list[str]:
    options: list[str] = []
    if spec.index_url:
        options += ["--index-url", spec.index_url]
    for url in spec.extra_index_urls:
        options += ["--extra-index-url", url]
    return options


def _build_with_uv(
    uv: str,
    spec: EnvSpec,
    target: Path,
    requirements_file: Path,
    exclude_newer: str | None,
    runner: _Runner,
    env: dict[str, str],
    cwd: Path,
) -> None:
    venv = [uv, "venv", "--quiet", "--relocatable", "--python", spec.python]
    if spec.system_site_packages or spec.overlay_of:
        venv.append("--system-site-packages")
    runner.run("venv", [*venv, str(target)], cwd, env)
    if spec.overlay_of:
        _link_overlay(spec.overlay_of, target)
    python = str(env_python(target))
    cutoff = ["--exclude-newer", exclude_newer] if exclude_newer is not None else []
    own: list[str] = []
    if spec.requirements and not spec.overlay_of:
        # First the user's requirements alone, as of the cut-off: the environment's own lock
        # (what an exported Airflow task installs), pinned for the install below.
        wanted = target / OWN_REQUIREMENTS_IN
        wanted.write_text("\n".join(spec.requirements) + "\n", encoding="utf-8")
        compile_ = [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate"]
        compile_ += ["--python", python, *_index_options(spec), *cutoff]
        compile_ += [str(wanted), "-o", str(target / OWN_LOCK)]
        runner.run_cached_first("resolve", compile_, cwd, env, prefer_cache(exclude_newer))
        own = [
            line.strip()
            for line in (target / OWN_LOCK).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        wanted.unlink()
        requirements_file.write_text(
            "\n".join(own + [r for r in spec.install_requirements() if r not in spec.requirements])
            + "\n",
            encoding="utf-8",
        )
    # The cut-off is for the user's packages, all pinned by now in their own lock. The kernel's
    # packages and whatever only they need are resolved as of today: a 2021 cut-off would
    # find no pyzmq wheel for Python 3.11, and picks exceptiongroup 0.0.0a0, which breaks
    # IPython 8 on Python 3.9, for a cell pinning six==1.16.0.
    install = [uv, "pip", "install", "--python", python, *_index_options(spec)]
    runner.run_cached_first(
        "install",
        [*install, "-r", str(requirements_file)],
        cwd,
        env,
        prefer_cache(exclude_newer, pinned=True),
    )


def _build_with_virtualenv(
    spec: EnvSpec,
    target: Path,
    requirements_file: Path,
    runner: _Runner,
    env: dict[str, str],
    cwd: Path,
) -> None:
    venv = [sys.executable, "-m", "virtualenv", "--quiet", "--python", spec.python]
    if spec.system_site_packages or spec.overlay_of:
        venv.append("--system-site-packages")
    runner.run("venv", [*venv, str(target)], cwd, env)
    if spec.overlay_of:
        _link_overlay(spec.overlay_of, target)
    install = [str(env_python(target)), "-m", "pip", "install", "--progress-bar", "off"]
    install += _index_options(spec)
    runner.run("install", [*install, "-r", str(requirements_file)], cwd, env)


_SITE_DIRS = (
    "import json, site, sysconfig; "
    "paths = list(site.getsitepackages()) + [sysconfig.get_paths()['purelib']]; "
    "print(json.dumps(list(dict.fromkeys(paths))))"
)


def _link_overlay(base_python: str, target: Path) -> None:
    """Make the base interpreter's site-packages visible in the overlay, after its own.

    ``--system-site-packages`` shows only the base *installation*'s packages; when the base
    interpreter is itself a virtual environment its packages live elsewhere, so a ``.pth``
    file (read by ``site`` at start-up) adds them to ``sys.path``.
    """
    import json

    done = subprocess.run(
        [base_python, "-c", _SITE_DIRS], capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise BuildError(f"cannot read the site-packages of {base_python}", done.stderr)
    overlay = subprocess.run(
        [
            str(env_python(target)),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if overlay.returncode != 0:
        raise BuildError(f"cannot read the site-packages of {target}", overlay.stderr)
    lines = [path for path in json.loads(done.stdout) if os.path.isdir(path)]
    pth = Path(overlay.stdout.strip()) / "_isocell_overlay.pth"
    pth.write_text("\n".join(lines) + "\n", encoding="utf-8")


def fix_script_paths(env_dir: Path, built_at: Path) -> None:
    """Point the scripts of a renamed environment at its new place.

    uv's ``--relocatable`` environments need nothing; pip writes absolute shebangs and
    virtualenv absolute activation scripts, which still name the temporary build folder.
    """
    old, new = str(built_at).encode(), str(env_dir).encode()
    for script in (env_dir / "bin").iterdir():
        if not script.is_file() or script.is_symlink():
            continue
        data = script.read_bytes()
        if old in data[:65536] and b"\0" not in data[:1024]:
            script.write_bytes(data.replace(old, new))
