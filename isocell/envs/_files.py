"""Files under ``ISOCELL_HOME``: where caches live, and replacing a small file atomically."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

__all__ = ["default_cache_dir", "private_home", "tree_size", "write_atomic"]


def write_atomic(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to a temporary file beside ``path``, then ``os.replace`` it into place.

    A reader sees the old file or the new one, never half of one.

    Parameters
    ----------
    path : Path
        The file to replace; its folder is created if needed.
    text : str
        The new contents (UTF-8).
    durable : bool
        ``fsync`` before the rename, for files whose loss would lose user data (the registry),
        not for caches.

    Raises
    ------
    OSError
        If the folder cannot be created or the file written; the temporary file is removed.
    """
    import tempfile  # only here: it costs ~5 ms to import, and warm caches never write

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def default_cache_dir() -> Path:
    """The folder for isocell's caches.

    Returns
    -------
    pathlib.Path
        ``$ISOCELL_HOME/cache`` when ``ISOCELL_HOME`` is set, else
        ``platformdirs.user_cache_dir("isocell")`` (``~/.cache/isocell`` on Linux).
    """
    home = os.environ.get("ISOCELL_HOME")
    if home:
        return Path(home).expanduser().absolute() / "cache"
    from platformdirs import user_cache_path

    return user_cache_path("isocell")


def private_home(home: Path) -> Path:
    """``home`` (an ``ISOCELL_HOME``), made with mode 0700, or made so if it is ours and others
    may read it: it holds build logs and the registry, which are nobody else's business."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = home.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        os.chmod(home, 0o700)
    return home


# A built environment does not change after its build, so its size is walked once per build,
# by one thread: concurrent listings (the REST API runs each in a worker thread) that meet a
# new environment together wait for that one walk instead of each walking it, which under
# the GIL made all of them as slow as all the walks together.
_sizes: dict[tuple[str, str], int] = {}
_walking: dict[tuple[str, str], threading.Lock] = {}
_walking_lock = threading.Lock()


def tree_size(path: Path, version: str) -> int:
    """Bytes of the files under ``path`` (symlinks not followed), walked once per ``version``
    of the folder (a build time: the folder must not change while ``version`` stays)."""
    key = (str(path), version)
    known = _sizes.get(key)
    if known is not None:
        return known
    with _walking_lock:
        walk = _walking.setdefault(key, threading.Lock())
    with walk:
        if key not in _sizes:
            _sizes[key] = _walk(path)
    with _walking_lock:
        _walking.pop(key, None)
    return _sizes[key]


def _walk(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
