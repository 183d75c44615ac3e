"""Run an interpreter once to learn what it is, and remember the answer on disk.

The answer is cached in ``interpreters.json`` under isocell's cache folder, keyed by the
executable's real path, modification time and size: a later discovery, in any process, runs
no interpreter whose file did not change. Candidates are probed in parallel.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from isocell.envs._files import default_cache_dir, write_atomic

__all__ = ["PROBE_TIMEOUT", "Probe", "ProbeFailure", "probe_all", "probe_count", "run_probe"]

_CACHE_FILE = "interpreters.json"
_CACHE_FORMAT = 1
PROBE_TIMEOUT = 10.0  # seconds; a healthy interpreter answers in ~30 ms
# Kept runnable by Python 2 too, so an old `python` reports "too old" instead of a crash.
_PROBE_SCRIPT = (
    "import sys\n"
    "impl = getattr(sys, 'implementation', None)\n"
    "name = impl.name if impl is not None else 'cpython'\n"
    "v = sys.version_info\n"
    "line = 'isocell-probe %s %d %d %d %s\\n' % (name, v[0], v[1], v[2], sys.executable)\n"
    "sys.stdout.write(line)\n"
)

_probes_lock = threading.Lock()
_probes_run = 0


def probe_count() -> int:
    """How many interpreters this process has run to probe them (for tests and diagnostics)."""
    return _probes_run


# --- probing and its cache --------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    version: tuple[int, int, int]
    implementation: str
    executable: str


@dataclass(frozen=True)
class ProbeFailure:
    reason: str
    lasting: bool = True  # False for a timeout: that may be load, so ask again next time


def run_probe(path: str) -> Probe | ProbeFailure:
    """Run ``path`` once to learn its version, or why it is not a working Python."""
    global _probes_run
    with _probes_lock:
        _probes_run += 1
    # -E -s -S: ignore PYTHON* variables, user site and site.py; all exist in Python 2 too.
    argv = [path, "-E", "-s", "-S", "-c", _PROBE_SCRIPT]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return ProbeFailure(f"{path} did not answer within {PROBE_TIMEOUT:g} s", lasting=False)
    except OSError as error:
        return ProbeFailure(f"{path} cannot run: {error.strerror or error}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("isocell-probe ")]
    if done.returncode != 0 or not lines:
        detail = (done.stderr.strip() or done.stdout.strip()).splitlines()[:3]
        return ProbeFailure(f"{path} exited with status {done.returncode}: {' / '.join(detail)}")
    _, implementation, major, minor, micro, executable = lines[-1].split(" ", 5)
    return Probe((int(major), int(minor), int(micro)), implementation, executable)


def probe_all(
    targets: dict[str, str],
    cache_dir: str | os.PathLike[str] | None,
    *,
    keep_failures: bool = True,
) -> dict[str, Probe | ProbeFailure]:
    """Probe each real path (run as the path it maps to), from the cache when its file is
    unchanged, else in parallel, and record the new answers in the cache.

    With ``keep_failures=False`` (a path the user named), a candidate that is no Python is
    not recorded: a mistyped ``--python`` leaves nothing behind."""
    cache_file = Path(cache_dir or default_cache_dir()) / _CACHE_FILE
    cache = _read_cache(cache_file)
    results: dict[str, Probe | ProbeFailure] = {}
    misses: dict[str, tuple[int, int]] = {}
    for real in targets:
        try:
            stat = os.stat(real)
        except OSError as error:
            results[real] = ProbeFailure(f"{real} cannot be read: {error.strerror}", lasting=False)
            continue
        stamp = (stat.st_mtime_ns, stat.st_size)
        entry = cache.get(real)
        if entry is not None and (entry.get("mtime_ns"), entry.get("size")) == stamp:
            results[real] = _from_entry(entry)
        else:
            misses[real] = stamp
    if not misses:
        return results
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(misses))) as pool:
        futures = {real: pool.submit(run_probe, targets[real]) for real in misses}
    changed = False
    for real, future in futures.items():
        results[real] = probe = future.result()
        if not isinstance(probe, ProbeFailure) or (probe.lasting and keep_failures):
            cache[real] = _to_entry(probe, *misses[real])
            changed = True
    if changed:
        _write_cache(cache_file, cache)
    return results


def _to_entry(probe: Probe | ProbeFailure, mtime_ns: int, size: int) -> dict[str, object]:
    entry: dict[str, object] = {"mtime_ns": mtime_ns, "size": size}
    if isinstance(probe, ProbeFailure):
        entry["error"] = probe.reason
    else:
        entry.update(
            version=list(probe.version),
            implementation=probe.implementation,
            executable=probe.executable,
        )
    return entry


def _from_entry(entry: dict[str, object]) -> Probe | ProbeFailure:
    if "error" in entry:
        return ProbeFailure(str(entry["error"]))
    version = entry["version"]
    if not isinstance(version, list) or len(version) != 3:
        return ProbeFailure(f"damaged cache entry: {entry!r}", lasting=False)
    implementation, executable = str(entry["implementation"]), str(entry["executable"])
    return Probe((int(version[0]), int(version[1]), int(version[2])), implementation, executable)


def _read_cache(cache_file: Path) -> dict[str, dict[str, object]]:
    try:
        payload = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # absent or damaged: probing again rebuilds it
    if not isinstance(payload, dict) or payload.get("format") != _CACHE_FORMAT:
        return {}
    entries = payload.get("interpreters")
    return entries if isinstance(entries, dict) else {}


def _write_cache(cache_file: Path, entries: dict[str, dict[str, object]]) -> None:
    """Replace the cache file atomically; a cache that cannot be written is only slower."""
    payload = {"format": _CACHE_FORMAT, "interpreters": entries}
    with contextlib.suppress(OSError):
        write_atomic(cache_file, json.dumps(payload, indent=1, sort_keys=True))
