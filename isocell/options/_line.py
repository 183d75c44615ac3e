"""Reading an ``%%isolated`` line: split as a shell does, then parsed with argparse over the
options table (see the package's docstring for the one departure from the shell)."""

from __future__ import annotations

import argparse
import io
import re
import shlex
from dataclasses import dataclass
from typing import Any, NoReturn

from isocell.envs import EnvRequest
from isocell.errors import OptionError, shown
from isocell.options._checks import cell_name
from isocell.options._table import OPTIONS, add_arguments, environment_request, read_namespace

__all__ = ["CellOptions", "Word", "parse_cell_options", "split_line", "unexpanded"]


@dataclass(frozen=True)
class Word:
    """One word of a line: its text without quotes, and whether it began with a quote."""

    text: str
    quoted: bool = False


def split_line(line: str) -> list[Word]:
    """The words of ``line``, as a POSIX shell splits them (``shlex``), backslashes and ``#``
    kept as they are.

    Raises
    ------
    OptionError
        For an unclosed quote or a NUL character.
    """
    if "\x00" in line:
        raise OptionError("", "the line holds a NUL character; retype it")
    stream = io.StringIO(line)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    lexer.commenters = ""
    words: list[Word] = []
    start = 0
    while True:
        try:
            token = lexer.get_token()
        except ValueError as error:  # shlex's own "No closing quotation"
            raise OptionError(
                "", f"{error}; quote values that hold spaces, and close the quote"
            ) from None
        if token is None or token == lexer.eof:
            return words
        # shlex reads one character at a time: its position is just past this word.
        end = stream.tell()
        raw = line[start:end].lstrip()
        words.append(Word(token, raw[:1] in ("'", '"')))
        start = end


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting (its documented ``error`` hook)."""

    def error(self, message: str) -> NoReturn:
        raise OptionError("", message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%%isolated", add_help=False)
    add_arguments(parser, OPTIONS)
    return parser


_PARSER = _parser()
_HIDDEN = re.compile("\x00[0-9]+")
_EXPANSION = re.compile(r"\{[^{}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


def _hint(unknown: str) -> str:
    if unknown.startswith("-"):
        return (
            f"; {shown(unknown)!r} is not an option of %%isolated (its options: see "
            "%%isolated?). A requirement cannot start with '-': options such as -e, -r or "
            "--index-url are not requirements"
        )
    return "; give requirements after --req, and variable names after --in or --out"


@dataclass(frozen=True)
class CellOptions:
    """What an ``%%isolated`` line asks for.

    Attributes
    ----------
    environment : EnvRequest
        Where the cell runs (``--python``, ``--req``, ``--env`` and the build options).
    inputs, outputs : tuple of str or None
        ``--in`` / ``--out``; None when not given (inferred from the cell).
    timeout : float or None
        ``--timeout``, seconds.
    restart : bool
        ``--restart``.
    name : str or None
        ``--name``: the task id of an export.
    branch : tuple of str or None
        ``--branch``: the names of the cells this branch cell chooses among.
    """

    environment: EnvRequest
    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] | None = None
    timeout: float | None = None
    restart: bool = False
    name: str | None = None
    branch: tuple[str, ...] | None = None


def parse_cell_options(line: str) -> CellOptions:
    """Read the options of an ``%%isolated`` line (the text after the magic's name).

    ``{var}`` and ``$var`` are read as they are: IPython expands them in a notebook before
    the magic sees its line; an exporter reading a saved cell checks :func:`unexpanded`.

    Raises
    ------
    OptionError
        If the line does not parse (an unclosed quote, an unknown option, a missing value) or
        a value fails its option's check; the message names the option and what it takes.
    """
    words = split_line(line)
    # A quoted word that starts with '-' stands in for itself under a name argparse cannot
    # read as an option, and is put back after parsing (module docstring).
    hidden = {f"\x00{i}": w.text for i, w in enumerate(words) if w.quoted and w.text[:1] == "-"}
    argv = [f"\x00{i}" if f"\x00{i}" in hidden else w.text for i, w in enumerate(words)]

    def reveal(value: Any) -> Any:
        if isinstance(value, str):
            return _HIDDEN.sub(lambda found: hidden.get(found.group(), ""), value)
        if isinstance(value, list):
            return [reveal(item) for item in value]
        return value

    try:
        namespace, extra = _PARSER.parse_known_args(argv)
    except OptionError as error:
        message = reveal(error.reason)
        if "expected" in message and "argument" in message:
            message += (
                "; a value that starts with '-' reads as a command-line option (write "
                "--env=NAME), and a requirement, a PEP 508 string, cannot start with '-'"
            )
        raise OptionError("", message) from None
    if extra:
        words_left = [reveal(word) for word in extra]
        unknown = next((word for word in extra if word.startswith("-")), words_left[0])
        raise OptionError(
            "", f"unrecognized arguments: {shown(' '.join(words_left))}{_hint(reveal(unknown))}"
        )
    for option in OPTIONS:
        setattr(namespace, option.dest, reveal(getattr(namespace, option.dest)))
    values = read_namespace(namespace, OPTIONS)
    return CellOptions(
        environment=environment_request(values),
        inputs=values["inputs"],
        outputs=values["outputs"],
        timeout=values["timeout"],
        restart=values["restart"],
        name=values["name"],
        branch=values["branch"],
    )


def unexpanded(line: str) -> str | None:
    """The first ``{expression}`` or ``$name`` in ``line``, which IPython would expand from
    the notebook's variables (``InteractiveShell.var_expand``), or None."""
    found = _EXPANSION.search(line)
    return found.group() if found else None


def expansions(text: str) -> list[str]:
    """Every ``{expression}`` and ``$name`` in ``text`` that IPython would expand, in order."""
    return _EXPANSION.findall(text)


def parse_branch_line(line: str) -> tuple[str, ...]:
    """The cell names of a ``%%branch`` line (``%%branch full_report short_report``).

    Raises
    ------
    OptionError
        If a quote is not closed, no name is given, or a name could not be a task id.
    """
    words = [word.text for word in split_line(line)]
    if not words:
        raise OptionError("", "name the cells this branch chooses among: %%branch A B")
    for word in words:
        if word.startswith("-"):
            raise OptionError("", f"%%branch takes cell names, not options ({shown(word)!r})")
        cell_name(word)
    return tuple(dict.fromkeys(words))
