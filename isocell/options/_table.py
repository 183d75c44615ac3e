"""The table of a cell's options (:data:`OPTIONS`) and what is derived from it for argparse
parsers and for an :class:`~isocell.envs.EnvRequest`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from isocell.envs import BUILDER_NAMES, EnvRequest
from isocell.errors import OptionError
from isocell.options._checks import cell_name, environment_name, identifier, seconds

__all__ = [
    "BUILD_OPTIONS",
    "OPTIONS",
    "Option",
    "add_arguments",
    "environment_request",
    "read_namespace",
]


@dataclass(frozen=True)
class Option:
    """One option of a cell.

    Attributes
    ----------
    flags : tuple of str
        As typed (``("-r", "--requirements")``).
    dest : str
        Its name in a parsed result: an :class:`~isocell.envs.EnvRequest` field for the
        options of an environment, a :class:`CellOptions` field for the others.
    help : str
        One line for the manual and ``--help``.
    metavar : str or None
        The value's placeholder in the manual.
    nargs : str or None
        ``"+"``: one or more values per use; ``"*"``: zero or more; None: exactly one.
    flag : bool
        Takes no value (true when given).
    repeatable : bool
        May be given more than once; the values add up.
    choices : tuple of str
        The only values accepted, if any.
    check : callable or None
        Checks one value and returns it converted; raises :class:`~isocell.errors.OptionError`.
    builds : bool
        Describes the environment to build (also ``isocell env create``'s and the REST body's).
    field : str or None
        Its field in the body of ``POST /isocell/envs`` (a build option a server can take).
    """

    flags: tuple[str, ...]
    dest: str
    help: str
    metavar: str | None = None
    nargs: str | None = None
    flag: bool = False
    repeatable: bool = False
    choices: tuple[str, ...] = ()
    check: Callable[[str], Any] | None = None
    builds: bool = False
    field: str | None = None

    @property
    def name(self) -> str:
        """The long flag (``--requirements``)."""
        return self.flags[-1]

    @property
    def many(self) -> bool:
        """Whether its value is a list (several values, or a repeatable option)."""
        return self.nargs is not None or self.repeatable

    def argparse_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``argparse.ArgumentParser.add_argument`` (and of IPython's
        ``magic_arguments.argument``) for this option. Values are checked after parsing."""
        if self.flag:
            return {"dest": self.dest, "action": "store_true", "help": self.help}
        kwargs: dict[str, Any] = {"dest": self.dest, "metavar": self.metavar, "help": self.help}
        if self.nargs is not None:
            kwargs["nargs"] = self.nargs
        if self.repeatable:
            kwargs.update(action="append", default=[])
        if self.choices:
            kwargs["choices"] = list(self.choices)
        return kwargs

    def value(self, raw: Any) -> Any:
        """The parsed ``raw`` value (argparse's) as a plain one: a tuple for a list, checked.

        Raises
        ------
        OptionError
            Naming this option, when a value fails its check.
        """
        if self.flag or raw is None:
            return raw
        if self.nargs is not None and self.repeatable:  # lists of lists, one per use
            raw = [item for group in raw for item in group]
        values = list(raw) if self.many else [raw]
        if self.check is not None:
            try:
                values = [self.check(item) for item in values]
            except OptionError as error:
                raise OptionError(self.name, error.reason) from None
        return tuple(values) if self.many else values[0]


#: Every option of ``%%isolated``, in the manual's order.
OPTIONS: tuple[Option, ...] = (
    Option(
        ("--req",), "requirements", "PEP 508 requirements to install (repeatable): "
        "--req pandas==1.4.4 pyarrow", "SPEC", nargs="+", repeatable=True, builds=True,
        field="requirements",
    ),
    Option(
        ("-r", "--requirements"), "requirement_files", "a requirements file, one requirement a "
        "line (repeatable)", "FILE", repeatable=True, builds=True,
    ),
    Option(
        ("--python",), "python", "an installed Python version (3.9) or an interpreter path. "
        "Without requirements: that interpreter's own environment, used as it is",
        "VERSION|PATH", builds=True, field="python",
    ),
    Option(
        ("--env",), "environment_name", "a named environment (see `%%isocell envs`)", "NAME",
        check=environment_name,
    ),
    Option(
        ("--in",), "inputs", "the notebook variables to send (default: those the cell reads)",
        "NAME", nargs="*", check=identifier,
    ),
    Option(
        ("--out",), "outputs", "the variables to return (default: those the cell binds or "
        "mutates)", "NAME", nargs="*", check=identifier,
    ),
    Option(
        ("--system-site-packages",), "system_site_packages", "let the environment see the base "
        "interpreter's packages", flag=True, builds=True, field="system_site_packages",
    ),
    Option(
        ("--index-url",), "index_url", "the package index (default: PyPI)", "URL", builds=True,
        field="index_url",
    ),
    Option(
        ("--extra-index-url",), "extra_index_urls", "another package index (repeatable)", "URL",
        repeatable=True, builds=True, field="extra_index_urls",
    ),
    Option(
        ("--builder",), "builder", "how to build the environment (default: uv, else "
        "virtualenv + pip)", choices=BUILDER_NAMES, builds=True, field="builder",
    ),
    Option(
        ("--exclude-newer",), "exclude_newer", "resolve as if nothing newer was published. auto "
        "(default): the release date of the newest exactly pinned requirement; none: off",
        "DATE|auto|none", builds=True, field="exclude_newer",
    ),
    Option(
        ("--timeout",), "timeout", "interrupt the cell after this long, then kill the child",
        "SECONDS", check=seconds,
    ),
    Option(("--restart",), "restart", "start a fresh child kernel first", flag=True),
    Option(
        ("--name",), "name", "a name for the cell (the task id when exported)", "NAME",
        check=cell_name,
    ),
    Option(
        ("--branch",), "branch", "make the cell a branch over these named cells: its last "
        "expression (a name, a list of names or None) chooses which run; the others are "
        "skipped, as Airflow's @task.branch_virtualenv does", "TASK", nargs="+",
        check=cell_name,
    ),
)  # fmt: skip

#: The options that describe an environment to build: ``isocell env create`` takes these.
BUILD_OPTIONS: tuple[Option, ...] = tuple(option for option in OPTIONS if option.builds)
_ENVIRONMENT = frozenset({"environment_name"} | {option.dest for option in BUILD_OPTIONS})


def add_arguments(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    """Declare ``options`` on an ``argparse`` parser (``isocell env create``'s)."""
    for option in options:
        parser.add_argument(*option.flags, **option.argparse_kwargs())


def read_namespace(namespace: argparse.Namespace, options: Iterable[Option]) -> dict[str, Any]:
    """The values of ``options`` in a namespace parsed by a parser that
    :func:`add_arguments` declared them on, checked (:meth:`Option.value`).

    Raises
    ------
    OptionError
        When a value fails its option's check.
    """
    return {option.dest: option.value(getattr(namespace, option.dest)) for option in options}


def environment_request(values: Mapping[str, Any]) -> EnvRequest:
    """The environment that parsed option values ask for.

    Parameters
    ----------
    values : mapping
        Option values by :attr:`Option.dest`, as :meth:`Option.value` returns them; options
        that are absent take their defaults.
    """
    fields = {key: value for key, value in values.items() if key in _ENVIRONMENT}
    fields["system_site_packages"] = bool(fields.get("system_site_packages"))
    for key in ("requirements", "requirement_files", "extra_index_urls"):
        fields[key] = tuple(fields.get(key) or ())
    return EnvRequest(**fields)
