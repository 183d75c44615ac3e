"""What an environment is made of, and the content address that names it.

An :class:`EnvSpec` is the full recipe of one environment: the base interpreter, the
requirements and the build options. Two equal specs give one environment on disk, whose
folder name is :attr:`EnvSpec.key`. Requirements are checked with ``packaging`` (PEP 508)
before anything runs, so user text never reaches a command line as an option.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from isocell.errors import RequirementError

__all__ = ["BUILDERS", "EnvSpec", "parse_exclude_newer", "parse_requirements", "read_requirements"]

#: The builders an environment may be made with.
BUILDERS = ("uv", "virtualenv")

# Packages the child side needs in every built environment: the kernel, and cloudpickle for
# values that only cloudpickle can carry between equal Python versions (Airflow's
# ``serializer="cloudpickle"`` adds it the same way).
KERNEL_REQUIREMENTS = ("ipykernel", "cloudpickle")


def parse_requirements(texts: Iterable[str]) -> tuple[str, ...]:
    """Check requirement strings and return them normalized, sorted and unique.

    Parameters
    ----------
    texts : iterable of str
        PEP 508 requirement strings, as typed by the user (``"pandas==1.4.4"``).

    Returns
    -------
    tuple of str
        ``str(packaging.requirements.Requirement(text))`` for each, sorted.

    Raises
    ------
    RequirementError
        If a string is empty, looks like a command-line option (``-e .``,
        ``--index-url=...``) or is not valid PEP 508 (``pandas; rm -rf ~``).
    """
    normalized = set()
    for text in texts:
        stripped = text.strip()
        if not stripped:
            raise RequirementError(text, "it is empty")
        if stripped.startswith("-"):
            raise RequirementError(
                text,
                "it looks like a command-line option; options are not accepted as requirements "
                "(use --index-url / --extra-index-url of %%isolated for indexes)",
            )
        try:
            requirement = Requirement(stripped)
        except InvalidRequirement as error:
            raise RequirementError(text, f"not a PEP 508 requirement ({error})") from None
        normalized.add(str(requirement))
    return tuple(sorted(normalized, key=str.lower))


_COMMENT = re.compile(r"(^|\s)#.*$")


def read_requirements(path: str | Path) -> tuple[str, ...]:
    """Read a requirements file: one PEP 508 requirement a line, ``#`` comments.

    Options lines (``-r``, ``--index-url``, ``-e``) are refused rather than passed to the
    installer, because the file is user text.

    Raises
    ------
    RequirementError
        If the file cannot be read or a line is not a requirement.
    """
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as error:
        raise RequirementError(str(path), f"cannot read the requirements file: {error}") from None
    lines = (_COMMENT.sub("", line).strip() for line in text.splitlines())
    return parse_requirements(line for line in lines if line)


def parse_exclude_newer(value: str | None) -> str:
    """Check an ``--exclude-newer`` value: ``auto``, ``none``, a date or an RFC 3339 time.

    Returns
    -------
    str
        ``"auto"``, ``"none"`` or the UTC time in RFC 3339 (``"2022-09-01T00:00:00Z"``).

    Raises
    ------
    RequirementError
        If the value is none of these.
    """
    if value is None or value.lower() == "auto":
        return "auto"
    if value.lower() == "none":
        return "none"
    try:
        moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RequirementError(
            value, "--exclude-newer takes auto, none, a date (2022-09-01) or an RFC 3339 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class EnvSpec:
    """The recipe of one environment; equal specs share one environment on disk.

    Parameters
    ----------
    python : str
        Absolute path of the base interpreter.
    python_version : str
        Its full version (``"3.9.18"``).
    requirements : tuple of str
        Normalized PEP 508 requirements (see :func:`parse_requirements`).
    system_site_packages : bool
        Make the base interpreter's site-packages visible, as ``venv`` does.
    index_url, extra_index_urls
        Package indexes, as pip and uv take them.
    exclude_newer : str
        ``"auto"``, ``"none"`` or an RFC 3339 time (see :func:`parse_exclude_newer`).
    builder : str
        ``"uv"`` or ``"virtualenv"``.
    overlay_of : str or None
        For an overlay on an existing interpreter that lacks ipykernel: that interpreter's
        path. The overlay sees its packages and adds only the kernel.
    """

    python: str
    python_version: str
    requirements: tuple[str, ...] = ()
    system_site_packages: bool = False
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    exclude_newer: str = "auto"
    builder: str = "uv"
    overlay_of: str | None = None
    _key: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.builder not in BUILDERS:
            raise RequirementError(self.builder, f"the builder must be one of {BUILDERS}")
        payload = {k: v for k, v in asdict(self).items() if k != "_key"}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        object.__setattr__(self, "_key", digest[:16])

    @property
    def key(self) -> str:
        """The content address: 16 hex digits of the SHA-256 of the spec."""
        return self._key

    @property
    def minor(self) -> str:
        """The base interpreter's ``major.minor`` (``"3.9"``)."""
        return ".".join(self.python_version.split(".")[:2])

    def install_requirements(self) -> tuple[str, ...]:
        """The requirements to install: the user's, plus the kernel's, resolved together."""
        if self.overlay_of:
            # Only the kernel: the user's own packages come from the interpreter underneath.
            return ("ipykernel",)
        names = {Requirement(text).name.lower() for text in self.requirements}
        extra = tuple(r for r in KERNEL_REQUIREMENTS if r not in names)
        return self.requirements + extra

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready copy, as stored beside the environment and in the registry."""
        payload = {k: v for k, v in asdict(self).items() if k != "_key"}
        payload["requirements"] = list(self.requirements)
        payload["extra_index_urls"] = list(self.extra_index_urls)
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, object]) -> EnvSpec:
        """Inverse of :meth:`to_dict`."""
        data = dict(payload)
        data["requirements"] = tuple(data.get("requirements") or ())  # type: ignore[arg-type]
        data["extra_index_urls"] = tuple(data.get("extra_index_urls") or ())  # type: ignore[arg-type]
        return cls(**data)  # type: ignore[arg-type]
