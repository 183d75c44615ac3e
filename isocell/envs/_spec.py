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
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from isocell.envs._redact import redact_url, without_credentials, without_redacted
from isocell.errors import RequirementError, shown

__all__ = [
    "MAX_REQUIREMENT_LENGTH",
    "EnvSpec",
    "parse_exclude_newer",
    "parse_index_url",
    "parse_requirements",
    "read_requirements",
    "shown",
]

#: The longest requirement accepted, in characters: a direct URL with a hash fits easily; a
#: longer string is a paste gone wrong, and would only be echoed back by the index.
MAX_REQUIREMENT_LENGTH = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXAMPLES = "such as 'pandas==1.4.4', 'numpy>=1.23,<2' or 'name @ https://host/name-1.0.whl'"


# Packages the child side needs in every built environment: the kernel, and cloudpickle for
# values that only cloudpickle can carry between equal Python versions (Airflow's
# ``serializer="cloudpickle"`` adds it the same way).
KERNEL_REQUIREMENTS = ("ipykernel", "cloudpickle")


def _layer_requirements(python_version: str) -> tuple[str, ...]:
    """The kernel layer's requirements for ``python_version``: ipykernel 6 or newer where it
    runs (Python 3.7 and newer; the newest release otherwise: 5.5.6 on 3.6, 4.10.1 on 2.7).
    The floor also keeps an answer from uv's cache (``--offline`` first) from settling for an
    old release whose dependencies lack cached wheels for a new Python: on 3.14 that gave
    ipykernel 5.5.6, which imports ``imp``, gone since 3.12."""
    major, minor = (int(part) for part in python_version.split(".")[:2])
    if (major, minor) >= (3, 7):
        return tuple("ipykernel>=6" if r == "ipykernel" else r for r in KERNEL_REQUIREMENTS)
    return KERNEL_REQUIREMENTS


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
        If a string is empty, longer than :data:`MAX_REQUIREMENT_LENGTH`, holds a line break
        or another control character, looks like a command-line option (``-e .``,
        ``--index-url=...``, ``-r file``), is not valid PEP 508 (``pandas; rm -rf ~``), or
        has version specifiers no version can meet (``pandas>=2,<1``).
    """
    normalized = set()
    for text in texts:
        if not isinstance(text, str):
            raise RequirementError(repr(text), f"a requirement is a string {_EXAMPLES}")
        stripped = text.strip()
        if not stripped:
            raise RequirementError(text, f"it is empty; give a PEP 508 requirement {_EXAMPLES}")
        if len(stripped) > MAX_REQUIREMENT_LENGTH:
            raise RequirementError(
                shown(text),
                f"it is longer than {MAX_REQUIREMENT_LENGTH} characters; give a PEP 508 "
                f"requirement {_EXAMPLES}",
            )
        if _CONTROL.search(stripped):
            raise RequirementError(
                text,
                "it holds a line break or another control character; give one PEP 508 "
                f"requirement per string, {_EXAMPLES}",
            )
        if stripped.startswith("-"):
            raise RequirementError(
                text,
                "it looks like a command-line option; options (-e, -r, --index-url, ...) are "
                "not accepted as requirements: give a PEP 508 requirement "
                f"{_EXAMPLES}, and indexes with --index-url / --extra-index-url",
            )
        try:
            requirement = Requirement(stripped)
        except InvalidRequirement as error:
            raise RequirementError(
                text, f"not a PEP 508 requirement {_EXAMPLES} ({error})"
            ) from None
        impossible = _impossible(requirement.specifier)
        if impossible:
            raise RequirementError(
                text, f"no version can satisfy {impossible}; loosen the version specifiers"
            )
        normalized.add(str(requirement))
    return tuple(sorted(normalized, key=str.lower))


def _impossible(specifiers: SpecifierSet) -> str:
    """Why no version can meet ``specifiers`` (``">=2 and <1"``), or ``""`` if some may.

    Only what is certain is reported: exact pins (``==1.0``) that the other specifiers
    exclude, and an empty interval between lower (``>=``, ``>``, ``~=``) and upper (``<``,
    ``<=``, ``~=``) bounds. Wildcards and arbitrary equality (``===``) are left to the
    resolver.
    """
    lower: tuple[Version, bool, str] | None = None  # (version, inclusive, as written)
    upper: tuple[Version, bool, str] | None = None
    for spec in specifiers:
        if spec.operator == "===" or spec.version.endswith(".*"):
            continue
        try:
            version = Version(spec.version)
        except InvalidVersion:
            continue
        if spec.operator == "==":
            others = [s for s in specifiers if str(s) != str(spec)]
            if not SpecifierSet(",".join(map(str, others))).contains(version, prereleases=True):
                return f"{spec} and {','.join(map(str, others))}"
            continue
        bounds: list[tuple[str, Version, bool]] = []
        if spec.operator in (">=", ">"):
            bounds.append(("lower", version, spec.operator == ">="))
        elif spec.operator in ("<=", "<"):
            bounds.append(("upper", version, spec.operator == "<="))
        elif spec.operator == "~=":
            release = version.release[:-1] or version.release
            ceiling = Version(".".join(map(str, [*release[:-1], release[-1] + 1])))
            bounds += [("lower", version, True), ("upper", ceiling, False)]
        for side, bound, inclusive in bounds:
            if side == "lower" and (lower is None or bound > lower[0]):
                lower = (bound, inclusive, str(spec))
            if side == "upper" and (upper is None or bound < upper[0]):
                upper = (bound, inclusive, str(spec))
    if lower is not None and upper is not None:
        if lower[0] > upper[0] or (lower[0] == upper[0] and not (lower[1] and upper[1])):
            return f"{lower[2]} and {upper[2]}"
    return ""


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
    except (OSError, UnicodeDecodeError) as error:
        raise RequirementError(
            f"-r {path}",
            f"cannot read the requirements file ({error}); -r takes a text file of PEP 508 "
            "requirements, one a line",
        ) from None
    found: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", line).strip()
        if not line:
            continue
        try:
            found += parse_requirements([line])
        except RequirementError as error:
            raise RequirementError(
                error.requirement, f"{error.reason} (line {number} of {path})"
            ) from None
    return parse_requirements(found)


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
            f"--exclude-newer {shown(value)}",
            "--exclude-newer takes auto, none, a date (2022-09-01) or an RFC 3339 time "
            "(2022-09-01T12:00:00Z)",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_URL = re.compile(r"^(https?|file)://[^\s]+$", re.IGNORECASE)


def parse_index_url(url: str, option: str = "--index-url") -> str:
    """Check a package index URL: ``http(s)://`` or ``file://``, one word, not an option.

    The URL reaches the builder as the value of its own option, so text that starts with
    ``-`` or holds spaces would read as another option there.

    Raises
    ------
    RequirementError
        If ``url`` is not such a URL.
    """
    if not isinstance(url, str) or not _URL.match(url):
        raise RequirementError(
            f"{option} {shown(str(url))}",
            f"{option} takes a package index URL, http(s):// or file:// without spaces "
            "(https://pypi.org/simple)",
        )
    return url


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
    kernel_layer : bool
        This environment is the kernel layer of its interpreter: ipykernel and cloudpickle,
        installed once and shared, put after an environment's own packages on the child
        kernel's ``sys.path`` (:mod:`isocell.envs._kernel_layer`).
    kernel_inside : bool
        The kernel's packages are installed with the user's (resolved together), for
        requirements that clash with the kernel layer's; otherwise an environment holds the
        user's packages only, exactly what its exported task installs.
    """

    python: str
    python_version: str
    requirements: tuple[str, ...] = ()
    system_site_packages: bool = False
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    exclude_newer: str = "auto"
    builder: str = "uv"
    kernel_layer: bool = False
    kernel_inside: bool = False
    _key: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Credentials change no package: the key is the same with or without them.
        payload = self.to_dict()
        payload["index_url"] = without_credentials(self.index_url or "") or None
        payload["extra_index_urls"] = [without_credentials(u) for u in self.extra_index_urls]
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
        """The requirements to install: the user's alone (the kernel comes from the kernel
        layer), the kernel's alone (for the layer), or both resolved together
        (``kernel_inside``)."""
        if self.kernel_layer:
            return _layer_requirements(self.python_version)
        if not self.kernel_inside:
            return self.requirements
        names = {Requirement(text).name.lower() for text in self.requirements}
        extra = tuple(r for r in KERNEL_REQUIREMENTS if r not in names)
        return self.requirements + extra

    def layer_spec(self) -> EnvSpec:
        """The spec of the kernel layer for this spec's interpreter (same indexes and
        builder; the kernel's newest release that supports the interpreter)."""
        return EnvSpec(
            python=self.python,
            python_version=self.python_version,
            index_url=self.index_url,
            extra_index_urls=self.extra_index_urls,
            exclude_newer="none",
            builder=self.builder,
            kernel_layer=True,
        )

    @property
    def layered(self) -> bool:
        """Whether a child kernel of this environment takes the kernel from the layer."""
        return not (self.kernel_layer or self.kernel_inside)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready copy, as stored beside the environment and in the registry: index URLs
        without their credentials (:mod:`isocell.envs._redact`), which are never written."""
        payload = {k: v for k, v in asdict(self).items() if k != "_key"}
        payload["requirements"] = list(self.requirements)
        if self.index_url is not None:
            payload["index_url"] = redact_url(self.index_url)
        payload["extra_index_urls"] = [redact_url(url) for url in self.extra_index_urls]
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, object]) -> EnvSpec:
        """Inverse of :meth:`to_dict`."""
        data = dict(payload)
        data["requirements"] = tuple(data.get("requirements") or ())  # type: ignore[arg-type]
        urls: list[str] = list(data.get("extra_index_urls") or ())  # type: ignore[call-overload]
        data["extra_index_urls"] = tuple(without_redacted(u) for u in urls)
        if isinstance(data.get("index_url"), str):
            data["index_url"] = without_redacted(data["index_url"])  # type: ignore[arg-type]
        return cls(**data)  # type: ignore[arg-type]
