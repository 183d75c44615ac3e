"""A Python 2 cell as Python 3 with the same names, so that the analysis can read it.

A ``--python 2.7`` cell (``print "x"``, ``except E, e``, ``exec code in ns``, ``10L``,
backquotes, ``<>``, ``ur""``) does not parse as Python 3. fissix (a maintained fork of
lib2to3, whose grammar reads Python 2) rewrites only its syntax: its ``print``, ``except``,
``exec``, ``ne``, ``repr``, ``numliterals``, ``raise``, ``tuple_params`` and ``unicode``
fixers, none of which renames a variable (``unicode`` becomes ``str``, a builtin either way).
The result is for the analysis alone; the child runs the cell as written.
"""

from __future__ import annotations

import ast
import functools
import logging
from typing import Any

__all__ = ["as_python3", "parse_cell"]

_FIXERS = ("print", "except", "exec", "ne", "repr", "numliterals", "raise", "tuple_params")


@functools.lru_cache(maxsize=1)
def _tool() -> Any:
    from fissix import refactor

    logging.getLogger("RefactoringTool").setLevel(logging.CRITICAL)
    names = [f"fissix.fixes.fix_{name}" for name in (*_FIXERS, "unicode")]
    return refactor.RefactoringTool(names)


@functools.lru_cache(maxsize=64)
def as_python3(source: str) -> str | None:
    """``source`` (Python 2) with its syntax rewritten as Python 3, or None where fissix
    cannot read it either (then it is no Python at all: the child reports the error)."""
    text = source if source.endswith("\n") else source + "\n"
    try:
        return str(_tool().refactor_string(text, "<cell>"))
    except Exception:  # fissix's ParseError, TokenError, IndentationError: not Python 2 either
        return None


def parse_cell(source: str) -> ast.Module:
    """``source``'s tree: as Python 3, else (a Python 2 cell) as its rewrite, whose lines are
    the cell's (the fixers change code within a line).

    Raises
    ------
    SyntaxError
        Python 3's, when the cell is neither Python 3 nor Python 2.
    """
    try:
        return ast.parse(source)
    except SyntaxError:
        rewritten = as_python3(source)
        if rewritten is not None:
            try:
                return ast.parse(rewritten)
            except SyntaxError:
                pass
        raise
