"""The jupyter_server extension: a REST API over isocell's environments and DAG export.

Enabled on install by ``etc/jupyter/jupyter_server_config.d/isocell.json``; by hand with
``jupyter server extension enable isocell.server``. Its routes are listed in
:mod:`isocell.server.routes`. Every route needs an authenticated user (the server's token or
login cookie; an anonymous request gets a 403) and the ``isocell`` authorization resource.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where jupyter_server finds the extension (its extension discovery protocol)."""
    return [{"module": "isocell.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the routes and the task board on ``serverapp``'s web application.

    Parameters
    ----------
    serverapp : jupyter_server.serverapp.ServerApp
        The running server.
    """
    from isocell.server._tasks import TaskBoard
    from isocell.server.routes import setup_handlers

    serverapp.web_app.settings["isocell_tasks"] = TaskBoard(serverapp.log)
    setup_handlers(serverapp.web_app)
    serverapp.log.info("isocell: REST API at %sisocell/", serverapp.base_url)
