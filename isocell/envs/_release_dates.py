"""Release dates of pinned requirements, for ``--exclude-newer auto``.

The old-pin trap: ``pandas==1.4.4`` resolved today picks numpy 2, and pandas 1.4.4 then fails
to import. Resolving "as of" the upload time of the newest exactly-pinned requirement (uv's
``--exclude-newer``) picks the dependency versions that were current when the pin was.

Upload times come from the index's Simple API: the JSON form (PEP 691) carries them as
``files[*].upload-time`` (PEP 700); the HTML form (PEP 503) of PyPI and its mirrors carries
them as the anchors' ``data-upload-time`` attribute. A release's upload time never changes, so
answers are cached on disk, keyed by (index URL, project, version).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import (
    canonicalize_name,
)

from isocell.envs._discovery import default_cache_dir
from isocell.envs._files import write_atomic
from isocell.envs._redact import redact_url
from isocell.envs._simple_pages import (
    fetch_page,
    newest_upload,
    parse_time,
    upload_times_from_html,
    upload_times_from_json,
)
from isocell.errors import BuildError

__all__ = ["exact_pins", "exclude_newer_for", "release_time", "uv_exclude_newer"]

PYPI_SIMPLE = "https://pypi.org/simple/"
_CACHE_FILE = "release-times.json"
_CACHE_FORMAT = 1


def release_time(
    name: str, version: str, index_url: str = PYPI_SIMPLE, *, timeout: float = 20.0
) -> datetime.datetime | None:
    """When a release was uploaded: the newest upload time among its files.

    Taking the newest file's time means every file of the release is admitted by a
    cut-off placed just after it (see :func:`uv_exclude_newer`).

    Parameters
    ----------
    name : str
        The project name, in any spelling (normalized per PEP 503 for the URL).
    version : str
        The release; files match it as ``==version`` does (PEP 440: ``1.0`` matches
        ``1.0.0`` and, having no local label, ``1.0+cpu``).
    index_url : str, optional
        The Simple API root, default PyPI's ``https://pypi.org/simple/``.
    timeout : float, optional
        Network timeout in seconds.

    Returns
    -------
    datetime.datetime or None
        The upload time, timezone-aware in UTC; None when the index lists no file of that
        release or gives no upload times for them.

    Raises
    ------
    BuildError
        If the index cannot be reached or answers with an error (the project missing
        included); the message names the project and the index and keeps the cause.
    """
    url = urllib.parse.urljoin(index_url.rstrip("/") + "/", canonicalize_name(name) + "/")
    try:
        content_type, text = fetch_page(url, timeout)
        if "json" in content_type:
            files = upload_times_from_json(text)
        else:
            files = upload_times_from_html(text)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        raise BuildError(
            f"cannot read the release dates of {name} from the index {redact_url(index_url)}",
            f"{redact_url(url)}: {error}",
        ) from error
    return newest_upload(files, version)


def exclude_newer_for(
    requirements: Sequence[Requirement],
    index_url: str = PYPI_SIMPLE,
    *,
    timeout: float = 20.0,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[datetime.datetime, str] | None:
    """The newest release time among the exactly pinned requirements.

    A requirement is pinned exactly when its only specifier is ``==X`` without a wildcard,
    or ``===X``. Look-ups run in parallel; found times are cached on disk.

    Parameters
    ----------
    requirements : sequence of packaging.requirements.Requirement
        The environment's requirements; unpinned ones are ignored, and so are markers (a pin
        that does not apply can only move the cut-off later, never exclude a needed file).
    index_url : str, optional
        The Simple API root, default PyPI's.
    timeout : float, optional
        Network timeout in seconds, per look-up.
    cache_dir : str or path-like, optional
        Where the cache lives; default ``$ISOCELL_HOME/cache`` or the user cache folder.

    Returns
    -------
    tuple of (datetime.datetime, str) or None
        The release time (UTC) and the pin it came from (``"pandas==1.4.4"``); None when
        nothing is pinned exactly or the index gives no upload time for any pin.

    Raises
    ------
    BuildError
        If a look-up that the cache cannot answer fails; see :func:`release_time`.
    """
    pins = exact_pins(requirements)
    if not pins:
        return None
    cache_file = Path(cache_dir or default_cache_dir()) / _CACHE_FILE
    cache = _read_cache(cache_file)
    known = cache.setdefault(redact_url(index_url), {})
    times: dict[tuple[str, str, str], datetime.datetime | None] = {}
    missing = []
    for pin in pins:
        key = _cache_key(pin)
        if isinstance(known.get(key), str):
            times[pin] = parse_time(known[key])
        else:
            missing.append(pin)
    if missing:
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(missing))) as pool:
            futures = {
                pin: pool.submit(release_time, pin[0], pin[2], index_url, timeout=timeout)
                for pin in missing
            }
        failures: list[BuildError] = []
        for pin, future in futures.items():
            try:
                times[pin] = found = future.result()
            except BuildError as error:
                failures.append(error)
                continue
            if found is not None:  # "no time" may change when the index does: ask again
                known[_cache_key(pin)] = found.isoformat()
        _write_cache(cache_file, cache)  # keep what was found even if another look-up failed
        if failures:
            raise failures[0]
    dated = [(when, f"{name}{op}{version}") for (name, op, version), when in times.items() if when]
    return max(dated, key=lambda item: item[0]) if dated else None


def uv_exclude_newer(when: datetime.datetime) -> str:
    """The ``--exclude-newer`` value that admits every file uploaded at or before ``when``.

    uv excludes a file when its upload time (in milliseconds) is greater than *or equal to*
    the cut-off (``upload_time >= exclude_newer`` in uv's resolver), so the release time
    itself, or that time truncated to the second, would exclude the pin's last file. This
    returns the next whole second.

    Parameters
    ----------
    when : datetime.datetime
        A release time; a naive value is taken as UTC.

    Returns
    -------
    str
        RFC 3339 in UTC, ``"2022-08-31T12:22:42Z"`` for ``12:22:41.078552Z``.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    second = when.astimezone(datetime.timezone.utc).replace(microsecond=0)
    return (second + datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def exact_pins(requirements: Iterable[Requirement]) -> list[tuple[str, str, str]]:
    """``(name, operator, version)`` of each exact pin, once per project and version."""
    pins: dict[tuple[str, str], tuple[str, str, str]] = {}
    for requirement in requirements:
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or requirement.url:
            continue
        (specifier,) = specifiers
        exact = specifier.operator == "===" or (
            specifier.operator == "==" and not specifier.version.endswith(".*")
        )
        if exact:
            key = (canonicalize_name(requirement.name), specifier.version)
            pins.setdefault(key, (requirement.name, specifier.operator, specifier.version))
    return list(pins.values())


def _cache_key(pin: tuple[str, str, str]) -> str:
    name, operator, version = pin
    return f"{canonicalize_name(name)}{operator}{version}"


def _read_cache(cache_file: Path) -> dict[str, dict[str, str]]:
    try:
        payload = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # absent or damaged: looking up again rebuilds it
    if not isinstance(payload, dict) or payload.get("format") != _CACHE_FORMAT:
        return {}
    indexes = payload.get("indexes")
    if not isinstance(indexes, dict):
        return {}
    return {url: times for url, times in indexes.items() if isinstance(times, dict)}


def _write_cache(cache_file: Path, indexes: dict[str, dict[str, str]]) -> None:
    """Replace the cache file atomically; a cache that cannot be written is only slower."""
    payload = {"format": _CACHE_FORMAT, "indexes": indexes}
    with contextlib.suppress(OSError):
        write_atomic(cache_file, json.dumps(payload, indent=1, sort_keys=True))
