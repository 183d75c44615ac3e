"""isocell: run one notebook cell in an isolated Python environment.

``%load_ext isocell`` registers the ``%%isolated`` cell magic and the ``%isocell`` line magic.
This module imports nothing heavy, so that loading the extension stays fast.
"""

from __future__ import annotations

from typing import Any

from isocell._about import __version__

__all__ = [
    "Connection",
    "ConnectionNotFound",
    "Variable",
    "VariableNotFound",
    "__version__",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """Register isocell's magics on an IPython shell (``%load_ext isocell``)."""
    from isocell.magics import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Stop every child kernel this shell started (``%unload_ext isocell``)."""
    from isocell.magics import unregister

    unregister(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt extension (the wheel also installs it under
    ``share/jupyter/labextensions/isocell``)."""
    return [{"src": "labextension", "dest": "isocell"}]


def __getattr__(name: str) -> Any:
    # ``from isocell import Variable, Connection``: Airflow's call shapes, Airflow's local
    # sources (isocell.transfer.lookups); loaded on first use.
    if name in ("Variable", "Connection", "VariableNotFound", "ConnectionNotFound"):
        from isocell.transfer import lookups

        return getattr(lookups, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
