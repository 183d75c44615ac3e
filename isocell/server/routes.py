"""The URL of every isocell route, under ``{base_url}isocell/``.

::

    GET    isocell/envs[?all=1]          named environments (all=1: and the cells' cached ones)
    POST   isocell/envs                  create (202 + task) or register an external one (201)
    GET    isocell/envs/{name}           one, with its lock and build log
    DELETE isocell/envs/{name}           unregister it and delete what isocell built (204)
    POST   isocell/envs/{name}/rebuild   build it again (202 + task)
    GET    isocell/cache/{key}           a cell's cached environment, with its lock and build log
    DELETE isocell/cache/{key}           remove it (204)
    POST   isocell/cache/prune           remove the unused ones ({"unused_days", "dry_run"})
    GET    isocell/tasks                 the builds this server remembers, and cells' builds
    GET    isocell/tasks/{id}?since=N    one build's state and its log from line N
    GET    isocell/pythons               the interpreters found on this machine
    GET    isocell/kernels               the child kernels of every notebook
    DELETE isocell/kernels/{pid}         stop one (its notebook starts a fresh one when needed)
    POST   isocell/kernels/{pid}/restart restart one through its notebook kernel
    POST   isocell/export                a notebook to an Airflow DAG file
"""

from __future__ import annotations

from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join

from isocell.server._base import ApiError, IsocellHandler
from isocell.server._cache import CachedHandler, PruneHandler
from isocell.server._envs import EnvHandler, EnvsHandler, PythonsHandler, RebuildHandler
from isocell.server._export import ExportHandler
from isocell.server._kernels import KernelHandler, KernelRestartHandler, KernelsHandler
from isocell.server._tasks import TaskHandler, TasksHandler

__all__ = ["setup_handlers"]

_NAME = r"(?P<name>[^/]+)"


class NotFoundHandler(IsocellHandler):
    """Any other ``isocell/...`` URL: a JSON 404 instead of the server's HTML page."""

    def _missing(self) -> None:
        raise ApiError(404, f"isocell has no route {self.request.method} {self.request.path}")

    @tornado.web.authenticated
    @authorized
    async def get(self, *args: Any) -> None:
        self._missing()

    @tornado.web.authenticated
    @authorized
    async def post(self, *args: Any) -> None:
        self._missing()

    @tornado.web.authenticated
    @authorized
    async def put(self, *args: Any) -> None:
        self._missing()

    @tornado.web.authenticated
    @authorized
    async def patch(self, *args: Any) -> None:
        self._missing()

    @tornado.web.authenticated
    @authorized
    async def delete(self, *args: Any) -> None:
        self._missing()


def setup_handlers(web_app: tornado.web.Application) -> None:
    """Add isocell's routes to the Jupyter server's tornado application.

    Parameters
    ----------
    web_app : tornado.web.Application
        ``serverapp.web_app``; its ``base_url`` setting prefixes every route, and its
        settings receive the task board (``isocell_tasks``).
    """
    base = url_path_join(web_app.settings["base_url"], "isocell")
    routes: list[tuple[str, type[IsocellHandler]]] = [
        (url_path_join(base, "envs"), EnvsHandler),
        (url_path_join(base, "envs", _NAME), EnvHandler),
        (url_path_join(base, "envs", _NAME, "rebuild"), RebuildHandler),
        (url_path_join(base, "cache", "prune"), PruneHandler),
        (url_path_join(base, "cache", r"(?P<key>[^/]+)"), CachedHandler),
        (url_path_join(base, "tasks"), TasksHandler),
        (url_path_join(base, "tasks", r"(?P<task_id>[^/]+)"), TaskHandler),
        (url_path_join(base, "pythons"), PythonsHandler),
        (url_path_join(base, "kernels"), KernelsHandler),
        (url_path_join(base, "kernels", r"(?P<pid>[^/]+)"), KernelHandler),
        (url_path_join(base, "kernels", r"(?P<pid>[^/]+)", "restart"), KernelRestartHandler),
        (url_path_join(base, "export"), ExportHandler),
        (url_path_join(base, r"(.*)"), NotFoundHandler),
    ]
    web_app.add_handlers(".*$", routes)
