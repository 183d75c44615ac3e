"""The checks an option's value must pass: each takes the text as given and returns the value,
or raises :class:`~isocell.errors.OptionError` with an empty option (the caller names it)."""

from __future__ import annotations

import argparse
import keyword
import math
from collections.abc import Callable
from typing import Any

from isocell.envs import check_name
from isocell.errors import OptionError, RegistryError, shown

__all__ = ["argparse_type", "cell_name", "environment_name", "identifier", "seconds"]


def seconds(text: str) -> float:
    """A time limit in seconds: a finite number greater than 0.

    Raises
    ------
    OptionError
        For anything else (``-1``, ``0``, ``nan``, ``inf``, ``ten``).
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise OptionError(
            "",
            f"{shown(text)!r} is not a time limit: give a number of seconds greater than 0 "
            "(for example 60 or 0.5)",
        )
    return value


def identifier(text: str) -> str:
    """A Python variable name that is not a keyword.

    Raises
    ------
    OptionError
        For ``1x``, ``a-b``, ``x y``, ``class``.
    """
    if not text.isidentifier() or keyword.iskeyword(text):
        why = "a Python keyword" if keyword.iskeyword(text) else "not a Python identifier"
        raise OptionError(
            "", f"{shown(text)!r} is {why}: give variable names such as df or total_2024"
        )
    return text


def environment_name(text: str) -> str:
    """A valid environment name (the rules of :func:`isocell.envs.check_name`).

    Raises
    ------
    OptionError
        With the registry's reason, the name cut to 80 characters.
    """
    try:
        return check_name(text)
    except RegistryError as error:
        raise OptionError("", error.reason.replace(repr(text), repr(shown(text)))) from None


def cell_name(text: str) -> str:
    """A cell's name: it becomes the task id of an export, so an environment name's rules.

    Raises
    ------
    OptionError
        For a name an environment could not have either (``../x``, ``''``, ``café``).
    """
    try:
        return check_name(text)
    except RegistryError:
        raise OptionError(
            "",
            f"{shown(text)!r} is not a cell name: it becomes the task id of an export, so use "
            "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        ) from None


def argparse_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """``check`` as an ``argparse`` ``type=``: its reason becomes argparse's message."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except OptionError as error:
            raise argparse.ArgumentTypeError(error.reason) from None

    convert.__name__ = check.__name__
    return convert
