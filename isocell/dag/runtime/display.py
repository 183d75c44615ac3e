"""IPython's display API in an exported task: what a cell displays goes to the task log.

A cell may ``display(frame)`` or show ``HTML(...)``/``Markdown(...)`` in the notebook; an
Airflow task has no front end, so the export imports these names from here, and each shown
object is printed as text, as IPython's plain-text representation would show it (the
object's ``repr``; for ``HTML``, ``Markdown`` and the other rich classes, their data). The
names follow ``IPython.display``; any other capitalized name of it is a rich class too.
"""

from __future__ import annotations

__all__ = [
    "HTML",
    "JSON",
    "SVG",
    "Image",
    "Javascript",
    "Latex",
    "Markdown",
    "Pretty",
    "clear_output",
    "display",
    "update_display",
]


class _Shown:
    """A rich object of IPython's display API: its data, shown as text."""

    def __init__(self, data=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.data = data if data is not None else kwargs.get("url", kwargs.get("filename"))

    def __repr__(self) -> str:
        if isinstance(self.data, bytes):
            return f"<{type(self).__name__}: {len(self.data)} bytes>"
        return str(self.data)


class HTML(_Shown):
    """``IPython.display.HTML``: the markup, as text."""


class Markdown(_Shown):
    """``IPython.display.Markdown``: the text."""


class Latex(_Shown):
    """``IPython.display.Latex``: the source."""


class JSON(_Shown):
    """``IPython.display.JSON``: the data."""


class SVG(_Shown):
    """``IPython.display.SVG``: the markup."""


class Image(_Shown):
    """``IPython.display.Image``: its size or location."""


class Javascript(_Shown):
    """``IPython.display.Javascript``: the code, as text (a task runs no JavaScript)."""


class Pretty(_Shown):
    """``IPython.display.Pretty``: the text."""


def display(*objects, **kwargs):  # type: ignore[no-untyped-def]
    """Print each object's text (``repr``), as the notebook's plain-text output shows it;
    ``raw=True`` mime bundles print their ``text/plain``."""
    for shown in objects:
        if kwargs.get("raw") and isinstance(shown, dict):
            print(shown.get("text/plain", ""))
        else:
            print(repr(shown))


def update_display(*objects, **kwargs):  # type: ignore[no-untyped-def]
    """As :func:`display`: a log has no display to update."""
    display(*objects, **kwargs)


def clear_output(wait=False):  # type: ignore[no-untyped-def]
    """Nothing: a log is not cleared."""


def __getattr__(name):  # type: ignore[no-untyped-def]
    # Another rich class of IPython.display (Audio, Video, IFrame, ...): shown as its data.
    if name[:1].isupper():
        return type(name, (_Shown,), {"__doc__": f"``IPython.display.{name}``, as text."})
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
