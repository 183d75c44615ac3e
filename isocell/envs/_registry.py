"""Named environments: a JSON registry file under ``ISOCELL_HOME``.

A name stands either for a spec (``isocell env create NAME --python 3.9 --req ...``), built
in the content-addressed store like any other, or for an existing interpreter used as it is
(``isocell env add NAME --python /path/to/python``), the twin of Airflow's
``@task.external_python``. The file is read and written under a file lock and replaced
atomically (write a temporary file, then ``os.replace``), so a reader never sees half of it.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from isocell.envs._files import write_atomic
from isocell.envs._spec import EnvSpec
from isocell.errors import EnvironmentNotFoundError, RegistryError

__all__ = ["NamedEnvironment", "Registry", "check_name"]

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


@dataclass(frozen=True)
class NamedEnvironment:
    """One registry entry.

    Attributes
    ----------
    name : str
        The registered name.
    kind : str
        ``"spec"`` (built by isocell) or ``"external"`` (an interpreter used as it is).
    spec : EnvSpec or None
        The recipe, for ``"spec"`` entries.
    python : str
        The interpreter: the spec's base interpreter, or the external one.
    created : str
        ISO 8601 time of registration.
    """

    name: str
    kind: str
    spec: EnvSpec | None
    python: str
    created: str

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"kind": self.kind, "python": self.python, "created": self.created}
        if self.spec is not None:
            entry["spec"] = self.spec.to_dict()
        return entry


class Registry:
    """The named environments of one ``ISOCELL_HOME``.

    Parameters
    ----------
    home : Path
        The isocell home folder; the registry is ``home / "registry.json"``.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / "registry.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.home / "registry.json.lock")):
            yield

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise RegistryError(str(self.path), f"cannot be read: {error}") from None
        try:
            data = json.loads(text)
            entries = data["environments"]
            if not isinstance(entries, dict):
                raise TypeError("'environments' is not an object")
        except (ValueError, KeyError, TypeError) as error:
            raise RegistryError(
                str(self.path),
                f"is damaged ({error}); fix or delete the file, then register the "
                "environments again",
            ) from None
        return entries

    def _write(self, entries: dict[str, Any]) -> None:
        text = json.dumps({"version": 1, "environments": entries}, indent=2, sort_keys=True)
        write_atomic(self.path, text + "\n", durable=True)

    def all(self) -> list[NamedEnvironment]:
        """Every entry, sorted by name."""
        with self._locked():
            entries = self._read()
        return [_entry(name, entries[name]) for name in sorted(entries)]

    def get(self, name: str) -> NamedEnvironment:
        """The entry named ``name``; raises :class:`EnvironmentNotFoundError`."""
        with self._locked():
            entries = self._read()
        if name not in entries:
            raise EnvironmentNotFoundError(name, sorted(entries))
        return _entry(name, entries[name])

    def add(
        self, name: str, *, spec: EnvSpec | None = None, python: str | None = None
    ) -> NamedEnvironment:
        """Register ``name`` for a spec or for an external interpreter (one of the two).

        Raises
        ------
        RegistryError
            If the name is invalid or already taken.
        """
        check_name(name)
        if (spec is None) == (python is None):
            raise ValueError("give exactly one of spec or python")
        created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        entry = NamedEnvironment(
            name=name,
            kind="spec" if spec is not None else "external",
            spec=spec,
            python=spec.python if spec is not None else str(python),
            created=created,
        )
        with self._locked():
            entries = self._read()
            if name in entries:
                raise RegistryError(
                    str(self.path),
                    f"an environment named {name!r} exists already; remove it first "
                    f"(`isocell env remove {name}`)",
                )
            entries[name] = entry.to_dict()
            self._write(entries)
        return entry

    def remove(self, name: str) -> NamedEnvironment:
        """Unregister ``name`` and return what it was; raises :class:`EnvironmentNotFoundError`."""
        with self._locked():
            entries = self._read()
            if name not in entries:
                raise EnvironmentNotFoundError(name, sorted(entries))
            entry = _entry(name, entries.pop(name))
            self._write(entries)
        return entry


def _entry(name: str, raw: dict[str, Any]) -> NamedEnvironment:
    spec = EnvSpec.from_dict(raw["spec"]) if raw.get("spec") else None
    return NamedEnvironment(
        name=name,
        kind=str(raw.get("kind", "spec" if spec else "external")),
        spec=spec,
        python=str(raw.get("python", spec.python if spec else "")),
        created=str(raw.get("created", "")),
    )
