"""isocell's version: package.json's (the one source), as the build wrote it."""

from __future__ import annotations

__all__ = ["__version__"]

import importlib

try:  # written by the build from package.json (hatch-nodejs-version); by name, as it may
    # not be there (and then import-linter would read the import as one of the package)
    __version__: str = importlib.import_module("isocell._version").__version__
except ImportError:  # a source tree run as it is: the installed distribution's, if any
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("isocell")
    except PackageNotFoundError:
        __version__ = "0+unknown"
