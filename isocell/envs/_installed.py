"""What an interpreter has installed in its own site-packages: ``name==version`` each.

Asked of the interpreter itself (``importlib.metadata``; before 3.8, each ``.dist-info``'s
METADATA; the script runs on Python 2.7 too), so it answers for its own folders, not for a
base installation it may see through ``--system-site-packages``.
"""

from __future__ import annotations

import json
import os
import subprocess

__all__ = ["installed", "installed_cached"]

# Run with -E -s and without the working folder on sys.path: -I, which Python 2 lacks.
_SCRIPT = """
import sys
if sys.path and sys.path[0] == "":
    del sys.path[0]
import json, os, sysconfig
paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
found = []
try:
    import importlib.metadata as m
    found = [(d.metadata["Name"], d.version) for d in m.distributions(path=paths)]
except ImportError:  # before 3.8: each .dist-info's METADATA, read with the email parser
    from email.parser import Parser
    for path in paths:
        for item in sorted(os.listdir(path)) if os.path.isdir(path) else ():
            metadata = os.path.join(path, item, "METADATA")
            if item.endswith(".dist-info") and os.path.isfile(metadata):
                with open(metadata) as handle:
                    headers = Parser().parse(handle, headersonly=True)
                found.append((headers["Name"], headers["Version"]))
seen = {}
for name, version in found:
    if name and name.lower() not in seen:
        seen[name.lower()] = name + "==" + version
print(json.dumps({"paths": paths, "lock": sorted(seen.values(), key=str.lower)}))
"""


def installed(python: str) -> tuple[list[str], list[str]]:
    """``(site folders, packages)`` of ``python``.

    Raises
    ------
    OSError, subprocess.SubprocessError, ValueError
        If the interpreter cannot be run or answers nonsense.
    """
    done = subprocess.run(
        [python, "-E", "-s", "-c", _SCRIPT], capture_output=True, text=True, check=True, timeout=120
    )
    answer = json.loads(done.stdout)
    return [str(p) for p in answer["paths"]], [str(item) for item in answer["lock"]]


# interpreter -> (its site folders' modification times, its packages): installing or removing
# a package changes the folder's time, and only then is the interpreter run again.
_cache: dict[str, tuple[dict[str, int], list[str]]] = {}


def installed_cached(python: str) -> list[str]:
    """The packages of ``python``, asked again only when its site folders changed; ``[]`` if it
    cannot be asked."""
    cached = _cache.get(python)
    if cached is not None and all(_mtime_ns(p) == t for p, t in cached[0].items()):
        return cached[1]
    try:
        paths, lock = installed(python)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return []
    _cache[python] = ({p: _mtime_ns(p) for p in paths}, lock)
    return lock


def _mtime_ns(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1
