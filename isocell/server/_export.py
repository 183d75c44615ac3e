"""``POST /isocell/export``: a notebook under the server's root folder to an Airflow DAG.

Paths come from the client relative to the server's ``root_dir``, as Jupyter's contents API
names files, and must stay inside it once symlinks are resolved: an absolute path is a 400,
a path that leads out (``..``, a symlink) a 403.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from isocell.errors import DagFileExistsError
from isocell.server._base import MAX_PATH, ApiError, Body, IsocellHandler, shown

__all__ = ["ExportHandler", "inside_root"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def inside_root(root: str, relative: str, what: str) -> Path:
    """``root / relative``, refused unless it stays inside ``root``.

    Parameters
    ----------
    root : str
        The server's root folder.
    relative : str
        A ``/``-separated path relative to it, as the contents API gives paths.
    what : str
        What the path is for, in messages (``"notebook"``).

    Returns
    -------
    Path
        The path under ``root``, normalized but not resolved (a symlinked notebook keeps its
        own name).

    Raises
    ------
    ApiError
        400 for an empty or absolute path, 403 for one that leads outside ``root``.
    """
    if not relative.strip():
        raise ApiError(400, f"the {what} path is empty")
    if relative.startswith(("/", "\\")) or _DRIVE.match(relative) or os.path.isabs(relative):
        raise ApiError(
            400,
            f"the {what} path {shown(relative)} is absolute: give it relative to the folder the "
            "Jupyter server serves, as the file browser shows it",
        )
    candidate = Path(os.path.normpath(os.path.join(root, relative)))
    top = Path(root).resolve()
    if not candidate.resolve().is_relative_to(top):
        raise ApiError(
            403,
            f"the {what} path {shown(relative)} leads outside the folder the Jupyter server "
            "serves; only files under it can be exported",
        )
    return candidate


class ExportHandler(IsocellHandler):
    """Export a notebook to an Airflow DAG file, as ``isocell export`` does."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body()
        body.expect(
            "path",
            "output",
            "dag_id",
            "schedule",
            "start_date",
            "airflow",
            "data_dir",
            "overwrite",
            "target",
            "base_image",
            "namespace",
            "registry",
            "resources",
        )
        root = str(self.settings["server_root_dir"])
        path = body.text("path", required=True, limit=MAX_PATH) or ""
        output = body.text("output", limit=MAX_PATH)
        notebook, target = await self.call(_paths, root, path, output)
        # Both are written into the DAG file's docstring; a quote there would end it.
        data_dir = body.text("data_dir", limit=MAX_PATH)
        for label, text in (("notebook name", notebook.name), ("data_dir", data_dir)):
            if text and ('"' in text or "\\" in text):
                raise ApiError(400, f"the {label} {text!r} must not contain '\"' or '\\'")
        options = _options(body, data_dir, root)
        try:
            result = await self.call(_export, notebook, target, options)
        except ApiError as error:
            # The export's errors always say where, if only that it is nowhere in particular.
            error.extra.setdefault("cell", None)
            error.extra.setdefault("line", None)
            if error.extra.get("dag_file"):  # 409: it exists; the path as the client names it
                error.extra["dag_file"] = _relative(Path(error.extra["dag_file"]), root)
                error.message = DagFileExistsError(error.extra["dag_file"]).reason
            raise
        self.reply(
            {
                "dag_file": _relative(result.dag_file, root),
                "dag_id": result.dag_id,
                "tasks": list(result.tasks),
                "files": [_relative(path, root) for path in result.files],
                "text": result.text,
                "notices": list(result.notices),
            }
        )


def _options(body: Body, data_dir: str | None, root: str) -> dict[str, Any]:
    """``export_notebook``'s keyword arguments from the request's body."""
    return {
        "dag_id": body.text("dag_id"),
        "schedule": body.text("schedule"),
        "start_date": body.text("start_date"),
        "airflow": body.integer("airflow", 3),
        "data_dir": data_dir,
        # Nothing is written, or copied in, from outside the root (isocell.dag._write).
        "confine": root,
        # An existing DAG file is replaced only when asked (409 otherwise: the dialog asks
        # the user, then sends overwrite: true); absent: replaced, as the command does.
        "overwrite": body.flag("overwrite") if "overwrite" in body.data else True,
        # virtualenv (the default), prebuilt (isocell.dag._targets) or kubernetes
        # (isocell.dag._pods): each checked there, with its options.
        "target": body.text("target") or "virtualenv",
        "base_image": body.text("base_image") or None,
        "namespace": body.text("namespace") or None,
        "registry": body.text("registry") or None,
        "resources": body.text("resources") or None,
    }


def _paths(root: str, path: str, output: str | None) -> tuple[Path, Path | None]:
    notebook = inside_root(root, path, "notebook")
    target = inside_root(root, output, "output") if output is not None else None
    if notebook.suffix != ".ipynb":
        raise ApiError(
            400, f"{_relative(notebook, root)} is not a notebook: give the path of an .ipynb file"
        )
    if notebook.is_dir():
        raise ApiError(
            400, f"{_relative(notebook, root)} is a folder: give the path of an .ipynb file"
        )
    if not notebook.is_file():
        raise ApiError(404, f"no notebook at {_relative(notebook, root)}")
    return notebook, target


def _export(notebook: Path, output: Path | None, options: dict[str, Any]) -> Any:
    from isocell.dag import export_notebook  # imports jinja2 and the analysis: only when used

    return export_notebook(notebook, output, **options)


def _relative(path: Path, root: str) -> str:
    return Path(os.path.relpath(path, root)).as_posix()
