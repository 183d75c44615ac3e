"""isocell's runtime for exported DAGs: task values in and out of payload files.

Exported beside the DAG file as the package ``isocell_runtime``, with isocell's wire modules
(the same version-neutral codec the ``%%isolated`` magic uses), so that a task on Python 3.9
with pandas 1.4.4 reads what a task on Python 3.12 with pandas 3 wrote, and back. XCom carries
only references (``isocell:<hmac>:<path>#<name>`` strings); the payloads live under the DAG's
data location: a local folder, or, for deployments on many machines, an fsspec URL
(``s3://...``), which the task's environment must be able to open (fsspec and the
filesystem's package). A relative location is under ``$ISOCELL_DATA_DIR``, by default
``$XDG_DATA_HOME/isocell/airflow-data`` (``~/.local/share/isocell/airflow-data``), never a
shared folder such as ``/tmp``.

A payload is unpickled, so nobody else may be able to change one: a local data folder must be
the task user's own and writable by nobody else (it is made with mode 0700; one owned by
another user, group- or world-writable, or a symlink, is refused), payload files are opened
without following symlinks, and every payload is authenticated before it is read: its
HMAC-SHA256 travels in the XCom reference, keyed by ``$ISOCELL_PAYLOAD_KEY`` or else by the key
file ``$XDG_CONFIG_HOME/isocell/payload.key`` (made on first use, mode 0600). A deployment
with many workers gives every worker the same ``ISOCELL_PAYLOAD_KEY``, as it does Airflow's
Fernet key.

It runs in every task's interpreter (any CPython >= 3.6: no annotations) with the standard
library, plus numpy, pandas and pyarrow where the values need them.
"""

import hashlib
import hmac
import os
import shutil
import stat
import tempfile
import uuid

from . import exchange

PREFIX = "isocell:"
_CHUNK = 16 * 1024 * 1024


class PayloadError(RuntimeError):
    """A payload or data folder that cannot be trusted or found."""


def _is_url(location):  # type: ignore[no-untyped-def]
    return "://" in location


def _home_folder(variable, default):  # type: ignore[no-untyped-def]
    base = os.environ.get(variable) or os.path.join(os.path.expanduser("~"), default)
    return os.path.join(base, "isocell")


def data_location(location):  # type: ignore[no-untyped-def]
    """``location`` itself if absolute or a URL, else under ``$ISOCELL_DATA_DIR`` (default
    ``$XDG_DATA_HOME/isocell/airflow-data``)."""
    if _is_url(location) or os.path.isabs(location):
        return location
    base = os.environ.get("ISOCELL_DATA_DIR") or os.path.join(
        _home_folder("XDG_DATA_HOME", os.path.join(".local", "share")), "airflow-data"
    )
    return os.path.join(base, location)


def _check_private(path, what):  # type: ignore[no-untyped-def]
    """Refuse a file or folder that is a symlink, another user's, or writable by others."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise PayloadError(f"isocell: {what} {path} is a symlink: refused (it may point anywhere)")
    if info.st_uid != os.getuid():
        raise PayloadError(
            f"isocell: {what} {path} belongs to another user (uid {info.st_uid}), who could "
            "replace what tasks read: give a folder of your own (isocell export --data-dir, "
            "or ISOCELL_DATA_DIR)"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PayloadError(
            f"isocell: {what} {path} is writable by others (mode {stat.S_IMODE(info.st_mode):o}),"
            " who could replace what tasks read: make it yours only (chmod 700) or give "
            "another folder"
        )


def private_folder(location):  # type: ignore[no-untyped-def]
    """The local data folder ``location``, made with mode 0700 if missing, checked private."""
    os.makedirs(location, mode=0o700, exist_ok=True)
    _check_private(location, "the data folder")
    return location


def _key():  # type: ignore[no-untyped-def]
    """The payload key: ``$ISOCELL_PAYLOAD_KEY``, else the private key file (made once)."""
    configured = os.environ.get("ISOCELL_PAYLOAD_KEY")
    if configured:
        return configured.encode("utf-8")
    folder = _home_folder("XDG_CONFIG_HOME", ".config")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, "payload.key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(os.urandom(32).hex())
    _check_private(path, "the payload key file")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd) as handle:
        return handle.read().strip().encode("ascii")


def _digest(path):  # type: ignore[no-untyped-def]
    """The HMAC of the regular file ``path``, opened without following a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        raise PayloadError(f"isocell: cannot open the payload {path}: {error}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PayloadError(f"isocell: the payload {path} is not a file")
        mac = hmac.new(_key(), digestmod=hashlib.sha256)
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                return mac.hexdigest()
            mac.update(chunk)
    finally:
        os.close(fd)


def store(values, task_id, location):  # type: ignore[no-untyped-def]
    """Write ``values`` (a dict) to one payload under ``location``; return references.

    Returns ``{name: "isocell:<hmac>:<path>#<name>"}``, small strings that XCom carries.

    Raises
    ------
    PayloadError
        If the local data folder is not private to this user.
    """
    location = data_location(location)
    name = f"{task_id}-{uuid.uuid4().hex}.isocell"
    if _is_url(location):
        import fsspec

        with tempfile.TemporaryDirectory() as folder:
            local = os.path.join(folder, name)
            exchange.pack(local, values, None, {})
            digest = _digest(local)
            target = location.rstrip("/") + "/" + name
            with open(local, "rb") as source, fsspec.open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
    else:
        target = os.path.join(private_folder(location), name)
        exchange.pack(target, values, None, {})
        digest = _digest(target)
    return {key: f"{PREFIX}{digest}:{target}#{key}" for key in values}


_cache = {}  # type: dict


def _verified(path, digest):  # type: ignore[no-untyped-def]
    if not hmac.compare_digest(_digest(path), digest):
        raise PayloadError(
            f"isocell: the payload {path} does not match its reference: it was changed "
            "after it was written, or the tasks use different keys (give every worker the "
            "same ISOCELL_PAYLOAD_KEY); not read"
        )


def load(reference):  # type: ignore[no-untyped-def]
    """The value behind a reference made by :func:`store` (other values pass through).

    Raises
    ------
    PayloadError
        If the payload is missing, not private, or not the one :func:`store` wrote: nothing of
        it is unpickled then.
    """
    if not isinstance(reference, str) or not reference.startswith(PREFIX):
        return reference
    digest, _, rest = reference[len(PREFIX) :].partition(":")
    target, _, key = rest.rpartition("#")
    if target not in _cache:
        if _is_url(target):
            import fsspec

            handle, local = tempfile.mkstemp(suffix=".isocell")
            with os.fdopen(handle, "wb") as sink, fsspec.open(target, "rb") as source:
                shutil.copyfileobj(source, sink, _CHUNK)
            try:
                _verified(local, digest)
                _cache[target] = exchange.Unpacked(local).apply({}, bind=False)
            finally:
                os.unlink(local)
        else:
            _check_private(os.path.dirname(target), "the data folder")
            _verified(target, digest)
            _cache[target] = exchange.Unpacked(target).apply({}, bind=False)
    return _cache[target][key]


def run_value(text, kind):  # type: ignore[no-untyped-def]
    """A value of the run, from the text Airflow rendered for a templated argument.

    ``kind``: ``"json"`` (params), ``"datetime"`` (ISO 8601, timezone-aware; ``""`` is None,
    a run without a logical date), anything else: the text itself.
    """
    if kind == "json":
        import json

        return json.loads(text)
    if kind == "datetime":
        import datetime

        return datetime.datetime.fromisoformat(text) if text else None
    return text
