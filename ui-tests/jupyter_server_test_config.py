"""Jupyter server settings for the browser tests (never for real use: no token, no XSRF).

Galata's helper sets the port (8888), an empty token, a temporary workspace folder, and the
root folder from ``JUPYTERLAB_GALATA_ROOT_DIR`` (start-lab.sh points it at a temporary
folder holding demo.ipynb).
"""

from __future__ import annotations

import os

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # type: ignore[name-defined]  # noqa: F821
configure_jupyter_server(c)
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("ISOCELL_UI_PORT", "8888"))
# CI and these machines run as root; the server is local and throwaway.
c.ServerApp.allow_root = True
