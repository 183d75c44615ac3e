"""The rules of an environment's name."""

from __future__ import annotations

import re

from isocell.errors import RegistryError

__all__ = ["check_name"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid environment name, else raise :class:`RegistryError`.

    Names are 1 to 64 characters of letters, digits, ``.``, ``_`` and ``-``, starting with a
    letter or digit: safe as a file name, a task id part and an environment variable suffix.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistryError(
            "registry",
            f"invalid environment name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return name
