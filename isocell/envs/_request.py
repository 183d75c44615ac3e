"""What a cell or ``isocell env create`` asks for, as typed: light, for the options core.

Nothing here checks or resolves anything (:func:`isocell.envs.spec_for` does); this module
imports only the standard library, so that reading a cell's options stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EnvRequest"]


@dataclass(frozen=True)
class EnvRequest:
    """What a cell (or ``isocell env create``) asks for, as typed.

    Attributes
    ----------
    python : str or None
        A version (``"3.9"``) or an interpreter path.
    requirements : tuple of str
        PEP 508 strings from ``--req``.
    requirement_files : tuple of str
        Paths from ``-r/--requirements``.
    environment_name : str or None
        A registered environment name.
    system_site_packages : bool
    index_url : str or None
    extra_index_urls : tuple of str
    exclude_newer : str or None
        ``auto`` (default), ``none``, a date or an RFC 3339 time.
    builder : str or None
        ``uv`` (default) or ``virtualenv``.
    """

    python: str | None = None
    requirements: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    environment_name: str | None = None
    system_site_packages: bool = False
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    exclude_newer: str | None = None
    builder: str | None = None

    @property
    def builds(self) -> bool:
        """True when the request describes a new environment rather than an existing one."""
        return bool(
            self.requirements
            or self.requirement_files
            or self.system_site_packages
            or self.index_url
            or self.extra_index_urls
            or self.builder
            or (self.exclude_newer not in (None, "auto"))
        )
