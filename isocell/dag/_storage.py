"""The packages a task needs to reach a ``--data-dir`` URL.

The exported runtime opens a remote data location through fsspec; fsspec finds each protocol's
filesystem in its registry (``fsspec.registry.known_implementations``), which names the class
and, for classes that need another package, says which (``"Install s3fs to access S3"``,
``'SFTPFileSystem requires "paramiko" to be installed'``). This module reads that registry, so
an ``s3://`` location brings ``s3fs`` into every task's environment and ``sftp://`` brings
``paramiko``. Adding them may move a pin of the cell's lock (:func:`moved_pins` says which).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from isocell.errors import ExportError

__all__ = ["moved_pins", "storage_requirements"]


def storage_requirements(url: str) -> tuple[str, ...]:
    """The requirements a task needs to open ``url``: ``fsspec`` and its protocol's package.

    Parameters
    ----------
    url : str
        An fsspec URL (``s3://bucket/prefix``, ``sftp://user@host:22/path``); chained URLs
        (``simplecache::s3://...``) count each protocol.

    Returns
    -------
    tuple of str
        ``("fsspec", ...)``, the distribution names in the order found.

    Raises
    ------
    ExportError
        For a protocol fsspec does not know.
    """
    from fsspec.registry import known_implementations

    found = ["fsspec"]
    for part in url.split("::"):
        protocol = part.split("://", 1)[0] if "://" in part else part
        known = known_implementations.get(protocol)
        if known is None:
            raise ExportError(
                None,
                None,
                f"--data-dir {url[:80]!r}: fsspec knows no protocol {protocol[:40]!r} (known: "
                f"{', '.join(sorted(known_implementations)[:12])}, ...)",
            )
        module = known["class"].split(".")[0]
        if module != "fsspec":
            names = [module]
        else:  # fsspec's own classes name what they need in quotes
            names = re.findall(r'"([A-Za-z0-9_.-]+)"', known.get("err", ""))
        found += [name for name in names if name not in found]
    return tuple(found)


def moved_pins(lock: list[str], pins: Iterable[str]) -> list[str]:
    """``name old → new`` for each package of ``lock`` (``name==version`` lines) that
    ``pins`` holds at another version: what a task's environment changed of its cell's to
    take the data location's packages (:func:`isocell.envs.task_requirements`)."""
    from packaging.utils import canonicalize_name

    def versions(lines: Iterable[str]) -> dict[str, str]:
        pairs = (line.split("==", 1) for line in lines if "==" in line)
        return {canonicalize_name(name): version.strip() for name, version in pairs}

    before, after = versions(lock), versions(pins)
    return [
        f"{name} {version} → {after[name]}"
        for name, version in sorted(before.items())
        if name in after and after[name] != version
    ]
