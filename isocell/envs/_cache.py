"""The environments cells built for themselves (``--req``, ``--python``), which no name refers
to: look one up, read its build log, remove it, or remove every unused one at once.

A cell's environment is cached by the content address of its request (:attr:`EnvSpec.key`),
so removing one costs only a rebuild the next time a cell asks for it. Named environments are
never touched here (``isocell env remove NAME``), nor one a child kernel runs in now. As
``uv cache prune`` and ``conda clean``, :func:`prune` says what it removed and how many bytes
it freed, and can say it without removing (``dry_run``).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Collection
from typing import Any

from isocell.envs._catalog import catalog
from isocell.envs._registry import Registry
from isocell.envs._store import EnvStore
from isocell.errors import RegistryError

__all__ = ["BUILD_LOG_BYTES", "build_log", "cached_environment", "prune", "remove_cached"]

#: At most this many bytes of a build log are read (its end: where a build says how it ended).
BUILD_LOG_BYTES = 1_000_000


def cached_environment(
    store: EnvStore, registry: Registry, key: str, running: Collection[str] = ()
) -> dict[str, Any]:
    """The row of the unnamed cached environment ``key``, with its lock and path
    (:func:`~isocell.envs.describe`'s shape, ``kind`` ``"cached"``).

    Raises
    ------
    RegistryError
        If no environment is cached under ``key``, or a name refers to it.
    """
    for row in catalog(store, registry, running=running, everything=True, detail=True):
        if row["key"] == key and row["kind"] == "cached":  # never a name's, nor a layer
            return row
    raise RegistryError(
        str(store.envs_dir),
        f"no unnamed environment is cached under {key!r} (a named one is removed by its name)",
    )


def build_log(path: str) -> str:
    """The build log of the environment in folder ``path`` (``build.log``), its last
    :data:`BUILD_LOG_BYTES` bytes; empty if it has none (an external interpreter)."""
    try:
        with open(os.path.join(path, "build.log"), "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - BUILD_LOG_BYTES))
            raw = stream.read()
    except OSError:
        return ""
    text = raw.decode("utf-8", "replace")
    return text if size <= BUILD_LOG_BYTES else text.split("\n", 1)[-1]


def remove_cached(
    store: EnvStore, registry: Registry, key: str, running: Collection[str] = ()
) -> dict[str, Any]:
    """Delete the unnamed cached environment ``key``; returns its row as it was.

    Raises
    ------
    RegistryError
        If there is none, a name refers to it, or a child kernel runs in it now.
    """
    row = cached_environment(store, registry, key, running)
    if row["kernel_running"]:
        raise RegistryError(
            str(store.envs_dir),
            f"a child kernel runs in the environment {key} ({_what(row)}): stop it first",
        )
    spec = next(spec for spec, _ in store.list() if spec.key == key)
    store.remove(spec)
    return row


def prune(
    store: EnvStore,
    registry: Registry,
    running: Collection[str] = (),
    *,
    unused_days: float | None = None,
    dry_run: bool = False,
) -> list[dict[str, Any]]:
    """Remove the unnamed cached environments no child kernel runs in, those not used for
    ``unused_days`` days when given (never used: since built); returns their rows, which
    hold their ``size_bytes``. ``dry_run``: remove nothing, say what would go."""
    cutoff = None
    if unused_days is not None:
        cutoff = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=unused_days)
    chosen = []
    for row in catalog(store, registry, running=running, everything=True):
        if row["kind"] != "cached" or row["kernel_running"]:
            continue
        if cutoff is not None and _last_touched(row) > cutoff:
            continue
        chosen.append(row)
    if not dry_run:
        specs = {spec.key: spec for spec, _ in store.list()}
        for row in chosen:
            if row["key"] in specs:
                store.remove(specs[row["key"]])
    return chosen


def _last_touched(row: dict[str, Any]) -> _dt.datetime:
    stamp = row["last_used"] or row["created"]
    try:
        when = _dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)


def _what(row: dict[str, Any]) -> str:
    packages = ", ".join(row["requirements"]) or "no extra packages"
    return f"Python {row['python_version']} with {packages}"
