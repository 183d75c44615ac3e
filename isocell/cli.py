"""The ``isocell`` command: environments, interpreters, export and headless runs.

A thin front door over :mod:`isocell.commands` (its docstring lists the commands; ``isocell
--help`` prints them): it prints what a command raises as one paragraph and turns it into an
exit code.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from isocell.commands import CommandLineError, run
from isocell.errors import IsocellError, RegistryRepairedWarning

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``isocell`` command; returns the exit code (0 on success, 1 on error, 2 for a
    command line that does not parse).

    Errors are printed as one paragraph (``isocell: error: ...``), never as a traceback.
    """
    try:
        with warnings.catch_warnings():
            # isocell's own warnings (a repaired registry) as one line, without Python's
            # "file:line: Category:" prefix and source line.
            warnings.simplefilter("always", RegistryRepairedWarning)
            warnings.showwarning = _show_warning
            return run(argv)
    except CommandLineError as error:
        print(f"{error.usage}{error}", file=sys.stderr)
        return 2
    except IsocellError as error:
        print(f"isocell: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a folder not writable, a disk full: the system's own words
        print(f"isocell: error: {error}", file=sys.stderr)
        return 1


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    if issubclass(category, RegistryRepairedWarning):
        print(f"{message}", file=sys.stderr)
    else:
        print(warnings.formatwarning(message, category, filename, lineno, line), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
