"""After a build, import what the user asked for; repair a binary mismatch between eras.

Pins from different years resolve "as of" the newest one (``--exclude-newer auto``), which
can be years after an older pin: ``pandas==1.5.3 requests==2.32.4`` on Python 3.10 resolves as
of requests' 2025 release, picks numpy 2, and ``import pandas`` fails (``numpy.dtype size
changed``), since pandas 1.5.3's wheels were compiled against numpy 1.x. So each build imports
every top-level module of the user's requirements in the new environment (once: the
environment is checked before it is put in place). On one of numpy's binary-incompatibility
messages, the builder resolves again with numpy held to the release time of the package
that failed (uv's ``--exclude-newer-package numpy=<time>``), says so, and keeps the fix in the
environment's own lock, which the exported task installs.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

__all__ = ["ImportProblem", "binary_mismatch", "import_problems"]

#: numpy's own words for a wheel compiled against another numpy (numpy's C-API docs and the
#: errors it raises), and the compiled dependency they name.
_MISMATCH = (
    (re.compile(r"numpy\.dtype size changed"), "numpy"),
    (re.compile(r"_ARRAY_API not found"), "numpy"),
    (re.compile(r"compiled using NumPy 1\.x cannot be run in\s+NumPy 2"), "numpy"),
    (re.compile(r"numpy\.core\.multiarray failed to import"), "numpy"),
    (re.compile(r"module compiled against (?:ABI|API) version"), "numpy"),
)

# Run by the new environment's interpreter: import the top-level modules of the given
# distributions (from their top_level.txt, else their RECORD); print {module: error}.
_PROBE = r"""
import json, sys
try:
    from importlib import metadata
except ImportError:  # before 3.8: the .dist-info folders on sys.path, read directly
    import os, re
    class metadata(object):
        class _Dist(object):
            def __init__(self, path):
                self.path = path
            def read_text(self, name):
                path = os.path.join(self.path, name)
                return open(path).read() if os.path.exists(path) else None
            @property
            def files(self):
                lines = (self.read_text("RECORD") or "").splitlines()
                return [line.split(",")[0] for line in lines if line]
        @staticmethod
        def distribution(name):
            key = re.sub(r"[-_.]+", "_", name).lower()
            for entry in sys.path:
                for item in (os.listdir(entry) if os.path.isdir(entry) else ()):
                    stem = item[: -len(".dist-info")].rsplit("-", 1)[0]
                    if item.endswith(".dist-info") and re.sub(r"[-_.]+", "_", stem).lower() == key:
                        return metadata._Dist(os.path.join(entry, item))
            raise LookupError(name)
names = json.loads(sys.argv[1])
failed, modules = {}, []
for name in names:
    try:
        dist = metadata.distribution(name)
    except Exception:
        continue
    tops = (dist.read_text("top_level.txt") or "").split()
    if not tops:
        for path in dist.files or ():
            first = str(path).split("/")[0]
            if first.endswith(".py"):
                tops.append(first[:-3])
            elif "." not in first and not first.startswith("_") and first != "bin":
                tops.append(first)
    for top in sorted(set(tops)):
        if top and not top.startswith("_") and (top, name) not in modules:
            modules.append((top, name))
import warnings
warnings.simplefilter("ignore")
for top, name in modules:
    try:
        __import__(top)
    except BaseException as error:
        failed[top] = [name, "%s: %s" % (type(error).__name__, error)]
print(json.dumps(failed))
"""


@dataclass(frozen=True)
class ImportProblem:
    """A top-level module of the user's requirements that does not import.

    Attributes
    ----------
    module : str
        The module (``pandas``).
    distribution : str
        The distribution that provides it (``pandas``).
    message : str
        The error, ``"ValueError: numpy.dtype size changed, ..."``.
    """

    module: str
    distribution: str
    message: str


def import_problems(
    python: Path, requirements: tuple[str, ...], timeout: float = 300.0
) -> list[ImportProblem]:
    """Import every top-level module of ``requirements``' distributions with ``python``.

    Returns
    -------
    list of ImportProblem
        One per module that failed; empty when all import (or the probe cannot run: the
        build's own checks then stand).
    """
    names = sorted({canonicalize_name(Requirement(text).name) for text in requirements})
    if not names:
        return []
    try:
        done = subprocess.run(
            [str(python), "-c", _PROBE, json.dumps(names)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        failed = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return []
    return [ImportProblem(module, dist, message) for module, (dist, message) in failed.items()]


def binary_mismatch(problem: ImportProblem) -> str | None:
    """The compiled dependency ``problem``'s message names (``"numpy"``), if it is one of the
    binary-incompatibility errors :data:`_MISMATCH` lists."""
    for pattern, dependency in _MISMATCH:
        if pattern.search(problem.message):
            return dependency
    return None
