"""The scratch space of one notebook kernel: a private folder for payloads, and for its
children's sockets and connection files.

Layout (``/dev/shm`` where the system has it, else the temporary folder)::

    /dev/shm/isocell-<pid>-<random>/      mode 0700, made on first use, removed at exit
        <n>-in, <n>-out                   payload files
        kernel-<random>/                  one child's sockets and connection file
    $TMPDIR/isocell-<pid>-<random>/       the same on disk, for payloads /dev/shm cannot hold

The random part (``tempfile.mkdtemp``) means no other user can create a name before us, and
the mode means nobody else can look inside. A notebook kernel that was killed leaves its
folders behind: the next one to start removes those whose process is gone
(:func:`remove_stale`), and only if they are the user's own and not symlinks.
``ISOCELL_SCRATCH_DIR`` moves the memory folder elsewhere (a larger tmpfs, say).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

from isocell.envs import process_alive

__all__ = ["NO_ROOM", "ScratchSpace", "remove_stale", "scratch"]

#: What a write that does not fit raises: no space on the device, or no memory to map it.
NO_ROOM = (errno.ENOSPC, errno.ENOMEM, errno.EDQUOT, errno.EFBIG)
_PREFIX = "isocell-"
# Unix sockets: sun_path holds 108 bytes with the final NUL; /tmp keeps them short.
_SOCKET_PATH_MAX = 107
_SHORT_BASE = "/tmp"


def _memory_base() -> Path:
    configured = os.environ.get("ISOCELL_SCRATCH_DIR")
    if configured:
        return Path(configured)
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def _disk_base() -> Path:
    return Path(tempfile.gettempdir())


class ScratchSpace:
    """The private folders of this process (see the module's docstring)."""

    def __init__(self) -> None:
        self._folders: dict[str, Path] = {}
        self._count = 0

    def folder(self, where: str = "memory") -> Path:
        """The private folder in memory (``"memory"``) or on disk (``"disk"``), made once."""
        known = self._folders.get(where)
        if known is not None and known.is_dir():
            return known
        base = _memory_base() if where == "memory" else _disk_base()
        made = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=base))
        self._folders[where] = made
        return made

    def payload(self, purpose: str, where: str = "memory") -> Path:
        """A new payload path (not created) in the folder ``where``."""
        self._count += 1
        return self.folder(where) / f"{self._count}-{purpose}"

    def twin(self, path: Path) -> Path:
        """The same payload's path in the disk folder: where it goes when memory is full."""
        return self.folder("disk") / path.name

    def discard(self, path: Path) -> None:
        """Remove the payload ``path`` and its twin on disk, if they exist."""
        path.unlink(missing_ok=True)
        disk = self._folders.get("disk")
        if disk is not None:
            (disk / path.name).unlink(missing_ok=True)

    def kernel_folder(self) -> Path:
        """A new private folder for one child's sockets and connection file.

        A Unix socket's path is at most 107 bytes: where the memory folder's path is too long
        for that (``ISOCELL_SCRATCH_DIR`` deep in a tree), the folder is made in ``/tmp``,
        under a name that tells its notebook kernel (and so is cleaned up the same way).
        """
        folder = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.folder("memory")))
        if len(os.fsencode(folder)) + len("/kernel-99999") <= _SOCKET_PATH_MAX:
            return folder
        folder.rmdir()
        made = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=_SHORT_BASE))
        self._folders[f"kernel:{made.name}"] = made  # removed with the others
        return made

    def remove(self) -> None:
        """Delete the folders (the notebook kernel is ending)."""
        for folder in self._folders.values():
            shutil.rmtree(folder, ignore_errors=True)
        self._folders.clear()


scratch = ScratchSpace()
atexit.register(scratch.remove)


def remove_stale() -> list[Path]:
    """Delete the scratch folders (and the payload files of older isocell versions) of
    notebook kernels that no longer run; returns what was removed.

    Only entries owned by this user and not symlinks are touched; another user's are left
    alone, whatever their name.
    """
    removed = []
    bases = {_memory_base(), _disk_base(), Path(_SHORT_BASE)}
    for base in bases:
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(_PREFIX):
                continue
            owner = entry.name[len(_PREFIX) :].split("-", 1)[0]
            if not owner.isdigit() or process_alive(int(owner)):
                continue
            try:
                info = os.lstat(entry.path)
            except OSError:
                continue
            if info.st_uid != os.getuid() or stat.S_ISLNK(info.st_mode):
                continue
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed
