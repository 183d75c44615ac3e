"""Where an export writes: one folder, never left, never written through a symlink.

An export writes the DAG file and its companions (``isocell_runtime/``, ``requirements/``,
``Dockerfile.isocell``, ``.airflowignore``, the notebook's local modules) into one folder. The
folder's real path must stay inside a confining folder (the Jupyter server's root; for the
command line, the folder itself). Inside it, a folder on the way that is a symlink is refused,
and each file is written to a temporary file beside it that is then renamed over the name: a
symlink found there is replaced, never followed, so nothing outside is written or truncated.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from isocell.errors import ExportError

__all__ = ["Destination"]


class Destination:
    """The output folder of one export.

    Parameters
    ----------
    folder : Path
        The output folder; made by the first write if missing (its parent must exist).
    confine : Path or None
        A folder the output's real path must stay inside (the server's root); None: no
        bound beyond the folder itself.

    Raises
    ------
    ExportError
        If ``folder`` leads outside ``confine`` (through ``..`` or a symlink).
    """

    def __init__(self, folder: Path, confine: Path | None = None) -> None:
        self.confine = confine.resolve() if confine is not None else None
        real = folder.resolve()
        if self.confine is not None and not real.is_relative_to(self.confine):
            raise ExportError(
                None,
                None,
                f"the output folder {folder} leads outside {self.confine} (through a symlink "
                "or '..'): give a folder inside it",
            )
        self.folder = real  # made by the first write

    def inside(self, path: Path, what: str) -> Path:
        """``path``'s real path, refused if it leaves the confining folder.

        Raises
        ------
        ExportError
            If it does: a local module symlinked from elsewhere would be copied in.
        """
        real = path.resolve()
        if self.confine is not None and not real.is_relative_to(self.confine):
            raise ExportError(
                None,
                None,
                f"{what} {path} is a symlink to {real}, outside {self.confine}: isocell copies "
                "only files inside the folder the server serves; copy the module in instead",
            )
        return real

    def _parent(self, relative: str) -> Path:
        """The folder of ``relative``, made as needed; refused where a part is a symlink."""
        self.folder.mkdir(exist_ok=True)
        current = self.folder
        for part in Path(relative).parts[:-1]:
            current = current / part
            try:
                info = os.lstat(current)
            except FileNotFoundError:
                current.mkdir()
                continue
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a folder"
                raise ExportError(
                    None,
                    None,
                    f"{current} is {kind}: isocell writes its files only into real folders "
                    "inside the output folder; remove it or export elsewhere",
                )
        return current

    def write(self, relative: str, data: bytes) -> Path:
        """Write ``data`` at ``relative`` (``/``-separated) inside the folder; its path."""
        parent = self._parent(relative)
        final = parent / Path(relative).name
        handle, temporary = tempfile.mkstemp(dir=parent, prefix=".isocell-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, final)  # replaces a symlink at ``final``, never follows it
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return final

    def read(self, relative: str) -> bytes:
        """What ``relative`` holds now, or nothing if it is missing or not a regular file."""
        path = self.folder / relative
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return b""
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                return b""
            return stream.read()

    def copy(self, source: Path, relative: str) -> list[Path]:
        """Copy the file or package ``source`` to ``relative``; the files written.

        A symlink inside a package is copied as the file it names, if that stays inside the
        confining folder. A source that is already the destination is left alone.
        """
        real = self.inside(source, "the local module")
        if real.parent == self.folder and real.name == relative:
            return []  # exported beside the notebook: the module is there already
        if real.is_file():
            return [self.write(relative, real.read_bytes())]
        written = []
        for path in sorted(real.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            inner = self.inside(path, "the file") if path.is_symlink() else path
            target = f"{relative}/{path.relative_to(real).as_posix()}"
            written.append(self.write(target, inner.read_bytes()))
        return written
