"""Credentials out of everything isocell writes or shows: index URLs with ``user:password@``.

An index URL may carry credentials (``https://user:token@host/simple``, as pip and uv take
them). isocell keeps them in memory for the build that needs them, and writes the URL
everywhere else (the environment's ``isocell-env.json``, the registry, build logs, messages,
the REST API's build log) as ``https://***@host/simple``, as pip shows it in its own logs.
"""

from __future__ import annotations

import re
import urllib.parse

__all__ = ["redact_text", "redact_url", "without_credentials", "without_redacted"]

# scheme://userinfo@ : the userinfo part of any URL in a text.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")


def redact_url(url: str) -> str:
    """``url`` with its user and password replaced by ``***`` (unchanged if it has none)."""
    return _with_userinfo(url, "***@")


def _with_userinfo(url: str, userinfo: str) -> str:
    """``url`` with its ``user:password@`` part replaced by ``userinfo`` (if it has one)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{userinfo}{host}:{parts.port}" if parts.port else f"{userinfo}{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def redact_text(text: str) -> str:
    """``text`` (a log line, a command) with the credentials of every URL in it hidden."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def without_credentials(url: str) -> str:
    """``url`` with no user or password at all (for a request that sends them apart)."""
    return _with_userinfo(url, "")


def without_redacted(url: str) -> str:
    """A URL read back from isocell's files: its ``***@`` placeholder dropped, so that a
    rebuild asks the index without credentials (uv then takes them from ``~/.netrc``, a
    keyring or ``UV_INDEX_*`` variables), rather than as a user named ``***``."""
    parts = urllib.parse.urlsplit(url)
    if parts.username != "***" or parts.password is not None:
        return url
    return without_credentials(url)
