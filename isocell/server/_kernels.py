"""The child kernels of every notebook on this machine, over HTTP.

``GET /isocell/kernels`` lists what the notebook kernels' pools published
(:func:`isocell.runner.published_kernels`): the same records ``%isocell kernels`` prints in
one notebook, with the notebook each child belongs to.
"""

from __future__ import annotations

import tornado.web
from jupyter_server.auth.decorator import authorized

from isocell.envs import isocell_home
from isocell.runner import published_kernels
from isocell.server._base import IsocellHandler

__all__ = ["KernelsHandler"]


class KernelsHandler(IsocellHandler):
    """``GET /isocell/kernels``: ``{"kernels": [record, ...]}``, oldest first."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        # Read per request: ISOCELL_HOME is the server process's, and tests change it.
        kernels = published_kernels(isocell_home())
        self.reply({"kernels": [kernel.to_json() for kernel in kernels]})
