"""A package index's Simple API project pages: fetched, and read for each file's upload time.

The JSON form (PEP 691) carries upload times as ``files[*].upload-time`` (PEP 700); the HTML
form (PEP 503) of PyPI and its mirrors as the anchors' ``data-upload-time`` attribute.
"""

from __future__ import annotations

import base64
import datetime
import email.message
import html.parser
import json
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Iterable

from packaging.specifiers import Specifier
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

from isocell.envs._redact import without_credentials

__all__ = [
    "ACCEPT",
    "fetch_page",
    "newest_upload",
    "parse_time",
    "upload_times_from_html",
    "upload_times_from_json",
]

#: What a Simple API request accepts: JSON first, then HTML.
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tbz", ".tar")
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?",
    re.IGNORECASE,
)


def upload_times_from_json(text: str) -> list[tuple[str, datetime.datetime | None]]:
    """``(filename, upload time)`` for each file of a PEP 691 JSON project page.

    Parameters
    ----------
    text : str
        The page; ``files[*].filename`` and the PEP 700 ``files[*].upload-time`` are read.

    Returns
    -------
    list of (str, datetime.datetime or None)
        None where a file has no (readable) upload time.

    Raises
    ------
    ValueError
        If the text is not a JSON object.
    """
    page = json.loads(text)
    if not isinstance(page, dict):
        raise ValueError("a PEP 691 project page is a JSON object")
    files = page.get("files") or []
    return [
        (str(entry["filename"]), parse_time(entry.get("upload-time")))
        for entry in files
        if isinstance(entry, dict) and "filename" in entry
    ]


def upload_times_from_html(text: str) -> list[tuple[str, datetime.datetime | None]]:
    """``(filename, upload time)`` for each anchor of a PEP 503 HTML project page.

    Parameters
    ----------
    text : str
        The page; each anchor's text is the filename (else its URL's last path segment) and
        its ``data-upload-time`` attribute, when present, the upload time.

    Returns
    -------
    list of (str, datetime.datetime or None)
        None where an anchor has no (readable) upload time.
    """
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    return parser.files


def newest_upload(
    files: Iterable[tuple[str, datetime.datetime | None]], version: str
) -> datetime.datetime | None:
    """The newest upload time among the files of one release.

    Parameters
    ----------
    files : iterable of (str, datetime.datetime or None)
        Filenames and upload times, as from :func:`upload_times_from_html`.
    version : str
        The release; a filename matches when its version satisfies ``==version``. Names
        that are neither a wheel nor an sdist are skipped.

    Returns
    -------
    datetime.datetime or None
        None when no matching file has an upload time.
    """
    try:
        wanted = Specifier(f"=={version}")
    except ValueError:
        return None  # not a PEP 440 version: no parseable filename can carry it
    newest: datetime.datetime | None = None
    for filename, uploaded in files:
        file_version = _filename_version(filename)
        if uploaded is None or file_version is None:
            continue
        if wanted.contains(file_version, prereleases=True):
            newest = uploaded if newest is None else max(newest, uploaded)
    return newest


class _AnchorParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, datetime.datetime | None]] = []
        self._open: tuple[str, datetime.datetime | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        attributes = dict(attrs)
        href = urllib.parse.urlsplit(attributes.get("href") or "").path
        fallback = urllib.parse.unquote(href.rsplit("/", 1)[-1])
        self._open = (fallback, parse_time(attributes.get("data-upload-time")))
        self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            fallback, uploaded = self._open
            self.files.append(("".join(self._text).strip() or fallback, uploaded))
            self._open = None


def fetch_page(url: str, timeout: float) -> tuple[str, str]:
    """The media type and text of one Simple API page (credentials in the URL sent as HTTP
    basic authentication, as pip and uv do)."""
    if url.startswith("file:"):  # a local index is a folder tree; pip reads index.html too
        path = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
        if os.path.isdir(path):
            url = urllib.parse.urljoin(url, "index.html")
    headers = {"Accept": ACCEPT}
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None:  # urllib does not read credentials from a URL: send them
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
        url = without_credentials(url)
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        message = email.message.Message()
        message["Content-Type"] = response.headers.get("Content-Type", "text/html")
        body = response.read()
    charset = message.get_content_charset() or "utf-8"
    return message.get_content_type(), body.decode(charset, errors="replace")


def _filename_version(filename: str) -> str | None:
    """The version a distribution's filename carries, or None if it is not one."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        for suffix in _SDIST_SUFFIXES:  # packaging parses .tar.gz and .zip only
            if filename.lower().endswith(suffix):
                stem = filename[: -len(suffix)]
                return str(parse_sdist_filename(stem + ".tar.gz")[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def parse_time(value: object) -> datetime.datetime | None:
    """An RFC 3339 time (any number of fraction digits; naive means UTC) in UTC, or None."""
    match = _TIMESTAMP.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone = datetime.timezone.utc
    if offset and offset.upper() != "Z":
        hours, minutes = int(offset[1:3]), int(offset[-2:])
        sign = -1 if offset[0] == "-" else 1
        zone = datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))
    try:
        moment = datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:
        return None
    return moment.astimezone(datetime.timezone.utc)
