"""The rules of an environment's name, and the refusal of a name that is taken."""

from __future__ import annotations

import re

from isocell.errors import NameTakenError, RegistryError

__all__ = ["check_name", "name_taken"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def name_taken(path: object, name: str) -> NameTakenError:
    """The error for a new environment whose ``name`` is registered already, in the words
    every door uses (the command, the REST API, the registry itself)."""
    return NameTakenError(str(path), name)


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
