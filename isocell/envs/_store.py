"""The content-addressed store of environments under ``ISOCELL_HOME``.

Layout::

    $ISOCELL_HOME/envs/<key>/            one environment (a virtual environment)
        isocell-env.json                 its spec, lock and build facts; written last
        requirements.lock                the lock: ``name==version`` for every package
        build.log                        the builder's full output
    $ISOCELL_HOME/envs/.build-<key>-*    a build in progress (never reused)
    $ISOCELL_HOME/locks/<key>.lock       the file lock that makes one process build a spec
    $ISOCELL_HOME/logs/                  logs of failed builds

A build happens in a temporary folder that is renamed into place only when it succeeded, so
an interrupted or failed build leaves nothing that a later request would reuse.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from isocell.envs._build import BuildCommands, BuildProgress, ProgressCallback, env_python
from isocell.envs._builders import builder_for
from isocell.envs._environment import Environment
from isocell.envs._files import private_home, tree_size, write_atomic
from isocell.envs._installed import installed
from isocell.envs._redact import redact_url
from isocell.envs._spec import EnvSpec
from isocell.errors import BuildError

__all__ = ["EnvStore", "isocell_home"]

_META = "isocell-env.json"


def isocell_home() -> Path:
    """``$ISOCELL_HOME``, else the user data folder from ``platformdirs``.

    On Linux that is ``~/.local/share/isocell``.
    """
    configured = os.environ.get("ISOCELL_HOME")
    if configured:
        return Path(configured).expanduser().absolute()
    from platformdirs import user_data_path

    return user_data_path("isocell")


class EnvStore:
    """Builds environments once per spec and finds them again.

    Parameters
    ----------
    home : Path or None
        The root folder; default :func:`isocell_home`.
    """

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or isocell_home()
        self.envs_dir = self.home / "envs"

    def path_for(self, spec: EnvSpec) -> Path:
        """Where the environment of ``spec`` lives (whether or not it is built)."""
        return self.envs_dir / spec.key

    def python_for(self, spec: EnvSpec) -> Path:
        """The interpreter a kernel of ``spec``'s environment runs (whether or not built)."""
        return env_python(self.path_for(spec))

    def facts(self, spec: EnvSpec) -> dict[str, Any] | None:
        """The stored facts of ``spec``'s built environment (spec, lock, builder,
        ``exclude_newer``, ``built_at``), or None if it is not built. Changes nothing (its
        "last used" time included)."""
        return _read_facts(self.path_for(spec))

    def last_used(self, spec: EnvSpec) -> str | None:
        """When a kernel last started in ``spec``'s environment (ISO 8601, UTC), or None."""
        try:
            stamp = (self.path_for(spec) / _META).stat().st_mtime
        except OSError:
            return None
        return _dt.datetime.fromtimestamp(stamp, _dt.timezone.utc).isoformat(timespec="seconds")

    def size(self, spec: EnvSpec, facts: dict[str, Any] | None = None) -> int | None:
        """Bytes on disk of ``spec``'s built environment (walked once per build), or None;
        ``facts``: its :meth:`facts`, when the caller has read them already."""
        facts = facts if facts is not None else self.facts(spec)
        if facts is None:
            return None
        return tree_size(self.path_for(spec), str(facts.get("built_at")))

    def find(self, spec: EnvSpec) -> Environment | None:
        """The built environment of ``spec``, or None if it is absent or unusable.

        Costs a few ``stat`` calls and one small JSON read: no subprocess, no network.
        """
        path = self.path_for(spec)
        meta = _read_facts(path)
        if meta is None:
            return None
        # An environment whose base interpreter vanished has a dangling bin/python.
        if not env_python(path).exists():
            return None
        (path / _META).touch()  # "last used", shown by `isocell env list`
        return Environment(
            path=path,
            python=env_python(path),
            python_version=spec.python_version,
            spec=spec,
            lock=tuple(meta.get("lock", ())),
            exclude_newer=meta.get("exclude_newer"),
        )

    def ensure(
        self,
        spec: EnvSpec,
        progress: ProgressCallback | None = None,
        exclude_newer: str | Callable[[], str | None] | None = None,
        *,
        replace: str | None = None,
    ) -> Environment:
        """Return the environment of ``spec``, building it if needed: the one way an
        environment is made (the builder is chosen by ``_builders.builder_for``).

        Two processes asking for the same spec build it once: the second waits on the file
        lock and then finds the first one's result.

        Parameters
        ----------
        spec : EnvSpec
            What to build.
        progress : callable or None
            Receives :class:`BuildProgress` events while building.
        exclude_newer : str, callable or None
            The cut-off time (RFC 3339) to pass to the resolver, if any; or a callable
            giving it, called once the builder has made the virtual environment (so that a
            look-up can run meanwhile).
        replace : str or None
            What is wrong with the built environment, for a damage :meth:`find` cannot see
            (a package of the kernel deleted or truncated): it is built again in its place,
            under the spec's lock. None: a usable built environment is returned as it is.

        Raises
        ------
        BuildError
            If the build failed; its log is kept under ``$ISOCELL_HOME/logs`` (a replaced
            environment is gone then too).
        """
        if replace is None:
            found = self.find(spec)
            if found is not None:
                return found
        private_home(self.home)
        self.envs_dir.mkdir(parents=True, exist_ok=True)
        (self.home / "locks").mkdir(parents=True, exist_ok=True)
        if replace is not None and progress is not None:
            progress(BuildProgress("venv", f"rebuilding {self.path_for(spec)}: {replace}", 0.0))
        with FileLock(str(self.home / "locks" / f"{spec.key}.lock")):
            if replace is None:
                found = self.find(spec)
                if found is not None:
                    return found
            return self._build(spec, progress, exclude_newer)

    def _build(
        self,
        spec: EnvSpec,
        progress: ProgressCallback | None,
        exclude_newer: str | Callable[[], str | None] | None,
    ) -> Environment:
        final = self.path_for(spec)
        # Leftovers of builds that were killed, and an environment that is no longer usable:
        # we hold the lock, so nobody else is working on them.
        for stale in self.envs_dir.glob(f".build-{spec.key}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self._sweep_killed_builds(spec.key)
        if final.exists():
            if progress is not None:
                progress(BuildProgress("venv", f"replacing the unusable {final}", 0.0))
            shutil.rmtree(final, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".build-{spec.key}-", dir=self.envs_dir))
        target = work / "env"
        log: list[str] = []
        started = time.monotonic()
        try:
            requirements_file = work / "requirements.in"
            requirements_file.write_text("\n".join(spec.install_requirements()) + "\n")
            commands = BuildCommands(progress, log)
            builder = builder_for(spec, commands)
            builder.create(spec, target, commands)
            cutoff = exclude_newer() if callable(exclude_newer) else exclude_newer
            builder.install(spec, target, requirements_file, cutoff, commands)
            if progress is not None:
                progress(BuildProgress("lock", "recording the lock", time.monotonic() - started))
            lock = _record(spec, target, builder.name, cutoff, log, started)
            os.rename(target, final)
            builder.moved(final, target)
        except BaseException as error:
            # The half-made folder goes first: on a full disk that frees the room the log needs.
            shutil.rmtree(work, ignore_errors=True)
            self._explain_failure(spec, error, log)
            raise
        shutil.rmtree(work, ignore_errors=True)
        if progress is not None:
            seconds = time.monotonic() - started
            progress(BuildProgress("done", f"built in {seconds:.1f} s", seconds, len(lock)))
        found = self.find(spec)
        assert found is not None
        return found

    def _explain_failure(self, spec: EnvSpec, error: BaseException, log: list[str]) -> None:
        """Keep the failed build's log, and raise what went wrong as a :class:`BuildError`
        that says so (no space, the builder's message, a file error); return for anything
        else (an interrupt), which the caller raises as it is."""
        log_path = self._keep_failed_log(spec, log)
        if _out_of_space(error, log):
            raise BuildError(self._no_space(spec, log_path), _tail(log)) from None
        if isinstance(error, BuildError):
            raise BuildError(
                f"building the environment for {_describe(spec)} failed: {error.message} "
                f"(full log: {log_path})",
                _tail(log),
            ) from None
        if isinstance(error, OSError):
            raise BuildError(
                f"building the environment for {_describe(spec)} failed: {error}",
                _tail(log),
            ) from error

    def _sweep_killed_builds(self, own: str) -> None:
        """Remove the build folders of other specs whose builder is gone (its lock is free).

        A builder killed mid-build leaves its folder; without this, one for a spec nobody
        asks for again would stay on disk for ever. A lock held elsewhere means a build in
        progress: its folder is left alone.
        """
        for stale in self.envs_dir.glob(".build-*"):
            key = stale.name[len(".build-") :].split("-", 1)[0]
            if key == own:
                continue
            lock = FileLock(str(self.home / "locks" / f"{key}.lock"))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                shutil.rmtree(stale, ignore_errors=True)
            finally:
                lock.release()

    def _no_space(self, spec: EnvSpec, log_path: Path) -> str:
        try:
            usage = shutil.disk_usage(self.envs_dir)
            room = f" ({usage.free / 1e6:.0f} MB free of {usage.total / 1e6:.0f} MB now)"
        except OSError:
            room = ""
        return (
            f"building the environment for {_describe(spec)} failed: no space left on the "
            f"device of {self.envs_dir}{room}. Nothing of the failed build was kept. Free some "
            "space there (`isocell env list --all` shows the cached environments and their "
            "sizes, `isocell env remove NAME` deletes one) or set ISOCELL_HOME to a folder on a "
            f"larger disk, then run the same request again (full log: {log_path})"
        )

    def _keep_failed_log(self, spec: EnvSpec, log: list[str]) -> Path:
        logs = self.home / "logs"
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = logs / f"{spec.key}-{stamp}.log"
        try:
            write_atomic(path, "\n".join(log) + "\n")
        except OSError:
            pass  # a full disk must not hide the build's own error
        return path

    def remove(self, spec: EnvSpec) -> bool:
        """Delete the environment of ``spec``; True if there was one."""
        path = self.path_for(spec)
        with FileLock(str(self.home / "locks" / f"{spec.key}.lock")):
            if not path.exists():
                return False
            shutil.rmtree(path)
            return True

    def list(self) -> list[tuple[EnvSpec, dict[str, Any]]]:
        """Every built environment's spec and stored facts (as :meth:`facts`), in key order."""
        found: list[tuple[EnvSpec, dict[str, Any]]] = []
        if not self.envs_dir.is_dir():
            return found
        for path in sorted(self.envs_dir.iterdir()):
            facts = None if path.name.startswith(".") else _read_facts(path)
            if facts is not None and isinstance(facts.get("spec"), dict):
                found.append((EnvSpec.from_dict(facts["spec"]), facts))
        return found


def _read_facts(path: Path) -> dict[str, Any] | None:
    try:
        facts = json.loads((path / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) else None


def _record(
    spec: EnvSpec,
    target: Path,
    builder: str,
    exclude_newer: str | None,
    log: list[str],
    started: float,
) -> list[str]:
    """Write the built environment's lock, build log and facts (the facts last: an environment
    without them is never used); returns the lock (``name==version`` lines)."""
    lock = _read_lock(env_python(target))
    # The files isocell writes are the user's only (0600), as is ISOCELL_HOME (0700).
    write_atomic(target / "requirements.lock", "\n".join(lock) + "\n")
    write_atomic(target / "build.log", "\n".join(log) + "\n")
    facts = {
        "spec": spec.to_dict(),
        "key": spec.key,
        "builder": builder,
        "exclude_newer": exclude_newer,
        "lock": lock,
        "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(time.monotonic() - started, 3),
    }
    write_atomic(target / _META, json.dumps(facts, indent=2))
    return lock


def _out_of_space(error: BaseException, log: list[str]) -> bool:
    """True when the build failed for want of disk space (``ENOSPC``), ours or the builder's."""
    if isinstance(error, OSError):
        return error.errno == errno.ENOSPC
    if isinstance(error, BuildError):
        # uv: "No space left on device (os error 28)"; pip: "[Errno 28] No space left on device"
        return any("No space left on device" in line for line in log[-200:])
    return False


def _describe(spec: EnvSpec) -> str:
    """``Python 3.9.18 with pandas==1.4.4``, and the package indexes when not PyPI's (a
    package "not found in the package registry" may be missing from that index only)."""
    reqs = ", ".join(spec.requirements) or "no extra packages"
    indexes = [redact_url(url) for url in (spec.index_url, *spec.extra_index_urls) if url]
    where = f" from {' and '.join(indexes)}" if indexes else ""
    return f"Python {spec.python_version} with {reqs}{where}"


def _tail(log: list[str], lines: int = 40) -> str:
    return "\n".join(log[-lines:])


def _read_lock(python: Path) -> list[str]:
    try:
        return installed(str(python))[1]
    except (subprocess.SubprocessError, OSError, ValueError) as error:
        raise BuildError(f"cannot read the installed packages of {python}: {error}") from None
