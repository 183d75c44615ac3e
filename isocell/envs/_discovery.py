"""Find the Python interpreters installed on this machine.

Discovery looks in four places, in this order (the *source order*): the directories on
``PATH``, pyenv's versions folder, uv's managed pythons and conda environments. Each
candidate executable is run once to learn its version and implementation; the answer is
cached on disk, keyed by the executable's real path, modification time and size, so a later
discovery in a new process runs no interpreter at all.

Shim directories (pyenv's ``~/.pyenv/shims``, asdf's, mise's: any directory named ``shims``)
are skipped: a shim picks its target from the current directory and environment, so its
answer cannot be cached, and pyenv's shims fail outright for versions that are installed but
not selected. A candidate that fails to run is treated as absent, never as an error.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from isocell.envs._files import default_cache_dir
from isocell.envs._probe import (
    PROBE_TIMEOUT,
    Probe,
    ProbeFailure,
    probe_all,
    run_probe,
)
from isocell.errors import InterpreterNotFoundError

__all__ = [
    "Interpreter",
    "default_cache_dir",
    "find_interpreter",
    "find_interpreters",
    "inspect_interpreter",
]

MINIMUM_VERSION = (2, 7)
_LONGEST_PATH = 4096  # PATH_MAX on Linux; a longer request is a paste gone wrong
SOURCES = ("path", "pyenv", "uv", "conda", "explicit")

_WINDOWS = sys.platform == "win32"
_NAME = re.compile(r"python(?:[23](?:\.\d+)?)?" + (r"(?:\.exe)?" if _WINDOWS else ""))
_VERSION_REQUEST = re.compile(r"(?P<impl>python|cpython|pypy)?(?P<version>\d+(?:\.\d+){0,2})")


@dataclass(frozen=True)
class Interpreter:
    """One Python interpreter found on this machine.

    Attributes
    ----------
    path : str
        Absolute path of the executable, not resolved through symlinks (a virtual
        environment's ``python`` stays the environment's).
    version : tuple of int
        ``(major, minor, micro)``, as reported by the interpreter itself.
    implementation : str
        ``sys.implementation.name``: ``"cpython"``, ``"pypy"``, ...
    source : str
        Where it was found: ``"path"``, ``"pyenv"``, ``"uv"``, ``"conda"`` or ``"explicit"``.
    """

    path: str
    version: tuple[int, int, int]
    implementation: str
    source: str

    @property
    def version_str(self) -> str:
        """The full version, ``"3.9.18"``."""
        return ".".join(str(part) for part in self.version)

    @property
    def minor(self) -> str:
        """The minor version, ``"3.9"``."""
        return f"{self.version[0]}.{self.version[1]}"

    def describe(self) -> str:
        """One line for listings, ``"3.9.18  /x/bin/python3.9  (pyenv)"``."""
        origin = self.source
        if self.implementation != "cpython":
            origin = f"{self.implementation}, {origin}"
        return f"{self.version_str}  {self.path}  ({origin})"


def find_interpreters(*, cache_dir: str | os.PathLike[str] | None = None) -> list[Interpreter]:
    """Every working Python ≥ 2.7 found on ``PATH``, in pyenv, in uv's pythons and in conda.

    Candidates that are the same file (same real path) count once: the first found in source
    order is kept. Interpreters older than 3.6, and candidates that fail to run, are left out.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Where the probe cache lives; default :func:`default_cache_dir`.

    Returns
    -------
    list of Interpreter
        Newest version first; equal versions in source order (path, pyenv, uv, conda).
    """
    chosen: dict[str, tuple[str, str]] = {}
    for path, source in _candidates():
        chosen.setdefault(os.path.realpath(path), (path, source))
    probes = probe_all({real: path for real, (path, _) in chosen.items()}, cache_dir)
    found: list[Interpreter] = []
    for real, (path, source) in chosen.items():
        probe = probes[real]
        if isinstance(probe, Probe) and probe.version[:2] >= MINIMUM_VERSION:
            found.append(Interpreter(path, probe.version, probe.implementation, source))
    # sorted() is stable, so discovery order breaks the remaining ties.
    return sorted(found, key=lambda i: (_negated(i.version), SOURCES.index(i.source)))


def find_interpreter(
    request: str, *, cache_dir: str | os.PathLike[str] | None = None
) -> Interpreter:
    """The interpreter that best matches a version or a path.

    Parameters
    ----------
    request : str
        A version (``"3"``, ``"3.9"``, ``"3.9.18"``), a command name (``"python3.9"``,
        ``"pypy3.10"``), or a path (``"/x/bin/python"``, ``"~/venv/bin/python"``). A partial
        version picks the newest matching release; CPython is preferred over other
        implementations unless the request names one.
    cache_dir : str or path-like, optional
        Where the probe cache lives; default :func:`default_cache_dir`.

    Returns
    -------
    Interpreter

    Raises
    ------
    InterpreterNotFoundError
        If nothing matches, or the path is not a working Python ≥ 3.6. Its ``found`` lists
        every interpreter discovery did find, one line each.
    """
    request = request.strip()
    if len(request) > _LONGEST_PATH:
        shown = f"{request[:60]}… ({len(request)} characters)"
        raise InterpreterNotFoundError(
            shown, [f"not usable: longer than any path ({_LONGEST_PATH} characters)"]
        )
    if not request:
        listing = [i.describe() for i in find_interpreters(cache_dir=cache_dir)]
        raise InterpreterNotFoundError(
            request, ["not usable: the request is empty; give a version (3.9) or a path", *listing]
        )
    match = _VERSION_REQUEST.fullmatch(request)
    if match is None:
        return _find_by_path(request, cache_dir)
    wanted = tuple(int(part) for part in match["version"].split("."))
    implementation = {"pypy": "pypy", "cpython": "cpython"}.get(match["impl"] or "")
    found = find_interpreters(cache_dir=cache_dir)
    matching = [
        interpreter
        for interpreter in found
        if interpreter.version[: len(wanted)] == wanted
        and implementation in (None, interpreter.implementation)
    ]
    if not matching:
        raise InterpreterNotFoundError(request, [i.describe() for i in found])
    # `found` is newest first, so the first CPython is the newest CPython.
    return min(matching, key=lambda i: i.implementation != "cpython")


def inspect_interpreter(
    path: str, *, cache_dir: str | os.PathLike[str] | None = None, source: str = "explicit"
) -> Interpreter:
    """Run one interpreter (or read its cached answer) to learn what it is.

    A shim (an executable in a directory named ``shims``) is run each time, never cached,
    and the result names the executable it dispatched to, so the answer stays true after
    the shim's selection changes.

    Parameters
    ----------
    path : str
        The executable; ``~`` is expanded and a relative path made absolute (symlinks are
        kept, so a virtual environment's interpreter stays the environment's).
    cache_dir : str or path-like, optional
        Where the probe cache lives; default :func:`default_cache_dir`.
    source : str, optional
        Recorded as :attr:`Interpreter.source`; default ``"explicit"``.

    Returns
    -------
    Interpreter

    Raises
    ------
    InterpreterNotFoundError
        If the path does not exist, is not executable, fails to run as Python, or is older
        than 3.6. Its ``found`` holds one line saying why.
    """
    path = os.path.abspath(os.path.expanduser(path))
    if not _is_executable(path):
        if not os.path.exists(path):
            why = f"{path} does not exist"
        elif os.path.isdir(path):
            why = f"{path} is a folder; give the interpreter in it (bin/python)"
        else:
            why = f"{path} is not an executable file"
        raise InterpreterNotFoundError(path, [f"not usable: {why}"])
    real = os.path.realpath(path)
    if _in_shim_dir(path):
        probe = run_probe(path)
    else:
        probe = probe_all({real: path}, cache_dir, keep_failures=False)[real]
    if isinstance(probe, ProbeFailure):
        raise InterpreterNotFoundError(path, [f"not usable: {probe.reason}"])
    if probe.version[:2] < MINIMUM_VERSION:
        too_old = ".".join(map(str, probe.version))
        raise InterpreterNotFoundError(path, [f"not usable: {path} is Python {too_old}, < 2.7"])
    if _in_shim_dir(path):
        path = probe.executable
    return Interpreter(path, probe.version, probe.implementation, source)


def _find_by_path(request: str, cache_dir: str | os.PathLike[str] | None) -> Interpreter:
    looks_like_path = request.startswith(("~", ".")) or any(
        sep and sep in request for sep in (os.sep, os.altsep)
    )
    if looks_like_path:
        path: str | None = request
    else:
        import shutil

        path = shutil.which(request)
    try:
        if path is None:
            raise InterpreterNotFoundError(request, [f"not usable: {request!r} is not on PATH"])
        return inspect_interpreter(path, cache_dir=cache_dir, source="explicit")
    except InterpreterNotFoundError as error:
        found = [i.describe() for i in find_interpreters(cache_dir=cache_dir)]
        raise InterpreterNotFoundError(request, error.found + found) from None


# --- where to look ----------------------------------------------------------------------------


def _candidates() -> Iterator[tuple[str, str]]:
    """``(path, source)`` for every executable that may be a Python, in source order."""
    path_dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    for directory in dict.fromkeys(os.path.abspath(d) for d in path_dirs):
        if not _in_shim_dir(os.path.join(directory, "python")):
            yield from ((path, "path") for path in _pythons_in(directory))
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for prefix in _subdirs(os.path.join(pyenv_root, "versions")):
        yield from ((path, "pyenv") for path in _pythons_in(_bin_dir(prefix), versioned=True))
    for prefix in _subdirs(_uv_python_dir()):
        yield from ((path, "uv") for path in _pythons_in(_bin_dir(prefix), versioned=True))
    for prefix in _conda_prefixes():
        yield from ((path, "conda") for path in _pythons_in(_bin_dir(prefix)))


def _pythons_in(directory: str, *, versioned: bool = False) -> list[str]:
    """Executables named python, python3, python3.N, python2 or python2.N in one directory,
    most specific first; only the numbered ones where ``versioned`` (an installation's own
    folder, whose bare ``python`` is one of them)."""
    try:
        names = [entry.name for entry in os.scandir(directory)]
    except OSError:
        return []
    numbered = ("python3", "python2")
    names = [n for n in names if _NAME.fullmatch(n) and (not versioned or n.startswith(numbered))]
    paths = (os.path.join(directory, n) for n in sorted(names, key=lambda n: (-len(n), n)))
    return [path for path in paths if _is_executable(path)]


def _subdirs(directory: str | None) -> list[str]:
    if not directory:
        return []
    try:
        entries = [e for e in os.scandir(directory) if not e.name.startswith(".") and e.is_dir()]
    except OSError:
        return []
    return sorted(entry.path for entry in entries)


def _bin_dir(prefix: str) -> str:
    return prefix if _WINDOWS else os.path.join(prefix, "bin")


def _uv_python_dir() -> str | None:
    """uv's managed-python folder, computed as uv does (``UV_PYTHON_INSTALL_DIR``, else
    ``$XDG_DATA_HOME/uv/python``); only on Windows is uv asked (``uv python dir``)."""
    configured = os.environ.get("UV_PYTHON_INSTALL_DIR")
    if configured:
        return os.path.expanduser(configured)
    if _WINDOWS:
        return _ask_uv_python_dir()
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data, "uv", "python")


@functools.cache
def _ask_uv_python_dir() -> str | None:
    try:
        from uv import find_uv_bin

        argv = [find_uv_bin(), "python", "dir"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.SubprocessError, ImportError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _conda_prefixes() -> list[str]:
    prefixes: list[str] = []
    if os.environ.get("CONDA_PREFIX"):
        prefixes.append(os.environ["CONDA_PREFIX"])
    try:
        with open(os.path.expanduser("~/.conda/environments.txt"), encoding="utf-8") as listing:
            prefixes += [line.strip() for line in listing if line.strip()]
    except OSError:
        pass
    bases = ["~/miniconda3", "~/anaconda3", "~/miniforge3", "~/mambaforge", "/opt/conda"]
    if os.environ.get("CONDA_EXE"):  # <base>/bin/conda or <base>\Scripts\conda.exe
        bases.append(os.path.dirname(os.path.dirname(os.environ["CONDA_EXE"])))
    for base in map(os.path.expanduser, bases):
        if os.path.isdir(base):
            prefixes += [base, *_subdirs(os.path.join(base, "envs"))]
    return list(dict.fromkeys(os.path.abspath(p) for p in prefixes))


def _in_shim_dir(path: str) -> bool:
    return os.path.basename(os.path.dirname(path)) == "shims"


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _negated(version: tuple[int, int, int]) -> tuple[int, ...]:
    return tuple(-part for part in version)
