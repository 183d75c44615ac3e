"""Named environments: a JSON registry file under ``ISOCELL_HOME``.

A name stands either for a spec (``isocell env create NAME --python 3.9 --req ...``), built
in the content-addressed store like any other, or for an existing interpreter used as it is
(``isocell env add NAME --python /path/to/python``), the twin of Airflow's
``@task.external_python``. The file is read and written under a file lock and replaced
atomically (write a temporary file, then ``os.replace``), so a reader never sees half of it.

Every write also refreshes a last good copy, ``registry.json.bak``. A registry damaged all
the same (cut short, garbled, the wrong shape, one malformed entry, a folder in its place) is
repaired on the next read: its damaged file is moved aside under a timestamped name, the
well-formed entries it still holds are kept, the others come from the last good copy, and a
:class:`~isocell.errors.RegistryRepairedWarning` says what was kept, what was lost and where
the damaged copy went.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from isocell.envs._files import private_home, write_atomic
from isocell.envs._names import check_name
from isocell.envs._spec import EnvSpec
from isocell.errors import (
    EnvironmentNotFoundError,
    NameTakenError,
    RegistryError,
    RegistryRepairedWarning,
)

__all__ = ["NamedEnvironment", "Registry", "check_name"]


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
        self.backup = home / "registry.json.bak"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        private_home(self.home)
        with FileLock(str(self.home / "registry.json.lock")):
            yield

    def _read(self) -> dict[str, Any]:
        """The entries, under the lock; a damaged file is repaired (see :meth:`_recover`)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as error:  # a folder in its place, a symbolic link loop, a bad disk
            return self._recover(None, f"cannot be read ({error.strerror or error})")
        text = data.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text)
        except ValueError as error:
            return self._recover(text, f"is not valid JSON ({error})")
        raw = parsed.get("environments") if isinstance(parsed, dict) else None
        if not isinstance(raw, dict):
            return self._recover(text, "is not an object with an 'environments' object")
        entries, malformed = _well_formed(raw)
        if malformed:
            return self._recover(text, f"has malformed entries ({'; '.join(malformed)})")
        return entries

    def _write(self, entries: dict[str, Any]) -> None:
        text = json.dumps({"version": 1, "environments": entries}, indent=2, sort_keys=True)
        write_atomic(self.path, text + "\n", durable=True)
        # The last good copy, for _recover. Its loss costs nothing today (the registry itself
        # was written), so a failure to write it does not fail the change the user asked for.
        with contextlib.suppress(OSError):
            write_atomic(self.backup, text + "\n", durable=True)

    def _recover(self, text: str | None, reason: str) -> dict[str, Any]:
        """Rebuild the registry from what can be read, keeping the damaged file.

        The well-formed entries of the damaged file (``text``) are kept, over those of the
        last good copy (``registry.json.bak``, written with every change); the damaged file
        is moved aside under a timestamped name, never deleted; the repaired registry is
        written; a :class:`~isocell.errors.RegistryRepairedWarning` tells the user all this.
        Runs under the registry lock, so one process repairs and the others read the result.
        """
        salvaged, malformed = _salvage(text)
        restored, _ = _salvage(_read_text(self.backup))
        entries = {**restored, **salvaged}
        notes = []
        aside = self.home / f"{self.path.name}.damaged-{_stamp()}"
        try:
            os.rename(self.path, aside)
        except OSError as error:
            notes.append(f"it could not be moved aside ({error.strerror or error}): fix it by hand")
        else:
            notes.append(f"it was moved to {aside}")
            try:
                self._write(entries)
            except OSError as error:
                notes.append(f"the repaired registry could not be written ({error})")
        kept = ", ".join(sorted(entries)) or "none"
        lost = [item for item in malformed if item.split(":")[0] not in entries]
        warnings.warn(
            RegistryRepairedWarning(
                str(self.path),
                f"{reason}; {'; '.join(notes)}. Kept {len(entries)} environment(s): {kept} "
                f"(read from the damaged file and from the last good copy {self.backup}). "
                f"Lost: {'; '.join(lost) or 'nothing'}. Check with `isocell env list`.",
            ),
            stacklevel=4,
        )
        return entries

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

    def refuse_taken(self, name: str) -> None:
        """Refuse a new environment's name that is registered already, before anything is
        built (:meth:`add` makes the same check again, under the lock, as it adds the name).

        Raises
        ------
        NameTakenError
            If ``name`` is taken.
        RegistryError
            If the registry file is damaged.
        """
        with self._locked():
            self._refuse_taken(self._read(), name)

    def _refuse_taken(self, entries: dict[str, Any], name: str) -> None:
        if name in entries:
            raise NameTakenError(str(self.path), name)

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
            self._refuse_taken(entries, name)
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


def _well_formed(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Split raw entries into the usable ones and ``"name: why"`` for the others."""
    good: dict[str, Any] = {}
    malformed: list[str] = []
    for name, value in raw.items():
        try:
            check_name(name)
            if not isinstance(value, dict):
                raise TypeError(f"an entry is an object, not {type(value).__name__}")
            entry = _entry(name, value)
            if entry.kind not in ("spec", "external") or not entry.python:
                raise ValueError(f"kind {entry.kind!r}, python {entry.python!r}")
            if (entry.kind == "spec") != (entry.spec is not None):
                raise ValueError(f"kind {entry.kind!r} with spec {value.get('spec')!r}")
        except (RegistryError, TypeError, ValueError, KeyError, AttributeError) as error:
            malformed.append(f"{name}: {error}")
            continue
        good[name] = value
    return good, malformed


_SEPARATOR = re.compile(r"\s*,?\s*")
_COLON = re.compile(r"\s*:\s*")


def _salvage(text: str | None) -> tuple[dict[str, Any], list[str]]:
    """The well-formed entries readable in ``text``, even when it is cut short or garbled.

    Valid JSON gives its well-formed entries. Otherwise the entries are read one by one
    from the start of the ``environments`` object up to the damage (a truncated write keeps
    every entry before the cut).
    """
    if text is None:
        return {}, []
    try:
        parsed = json.loads(text)
    except ValueError:
        pass
    else:
        raw = parsed.get("environments") if isinstance(parsed, dict) else None
        return _well_formed(raw) if isinstance(raw, dict) else ({}, [])
    start = re.search(r'"environments"\s*:\s*\{', text)
    if start is None:
        return {}, []
    decoder = json.JSONDecoder()
    found: dict[str, Any] = {}
    position = start.end()
    while True:
        position = _SEPARATOR.match(text, position).end()  # type: ignore[union-attr]
        try:
            name, position = decoder.raw_decode(text, position)
            colon = _COLON.match(text, position)
            if not isinstance(name, str) or colon is None or ":" not in colon.group():
                break
            value, position = decoder.raw_decode(text, colon.end())
        except ValueError:
            break
        found[name] = value
    return _well_formed(found)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
