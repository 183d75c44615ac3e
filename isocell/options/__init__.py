"""A cell's options in one table: the grammar of ``%%isolated`` and of ``isocell env create``.

:data:`OPTIONS` lists every option once, with its flags, the shape of its value, its help text
and the check its value must pass. The rest is derived from it, as IPython's
``core/magics/script.py`` shares one ``script_args`` list among several magics:

- the magic's manual (``%%isolated?``): :mod:`isocell.magics` declares one IPython
  ``magic_arguments.argument(*option.flags, **option.argparse_kwargs())`` per row;
- ``isocell env create``'s options (:func:`add_arguments` with :data:`BUILD_OPTIONS`) and the
  body of ``POST /isocell/envs`` (:attr:`Option.field`, :func:`environment_request`);
- the reading of a cell's line (:func:`parse_cell_options`), by the magic and the exporter.

This module imports neither IPython nor any front door, so that the exporter can read a saved
cell without loading a kernel's machinery.

A line is split as a POSIX shell splits it (``shlex``: quotes group words and come off),
except that a backslash is kept as it is (Windows paths) and ``#`` starts no comment (a
requirement may hold one); then ``argparse`` reads the words. One departure from the shell,
kept from isocell's first release: a word the user quoted is a value even when it starts with
``-``, so ``--req '-e .'`` is a requirement (refused as one), never the option ``-e``.
"""

from __future__ import annotations

from isocell.options._checks import (
    argparse_type,
    cell_name,
    environment_name,
    identifier,
    seconds,
)
from isocell.options._line import (
    CellOptions,
    Word,
    expansions,
    parse_branch_line,
    parse_cell_options,
    split_line,
    unexpanded,
)
from isocell.options._table import (
    BUILD_OPTIONS,
    OPTIONS,
    Option,
    add_arguments,
    environment_request,
    read_namespace,
)

__all__ = [
    "BUILD_OPTIONS",
    "OPTIONS",
    "CellOptions",
    "Option",
    "Word",
    "add_arguments",
    "argparse_type",
    "cell_name",
    "environment_name",
    "environment_request",
    "expansions",
    "identifier",
    "parse_branch_line",
    "parse_cell_options",
    "read_namespace",
    "seconds",
    "split_line",
    "unexpanded",
]
