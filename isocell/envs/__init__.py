"""Environments: specs, the content-addressed store, named environments, interpreters.

The named environments as people see them (list, describe, create, register, remove,
rebuild: :func:`catalog` and its siblings) are what ``isocell env`` and the REST API call.

What a request is (:class:`EnvRequest`) and what a name may be (:func:`check_name`) load with
the package; the rest (builders, the store, the registry, discovery, and ``filelock`` and
``packaging`` under them) loads when first used (PEP 562 ``__getattr__``), so that reading a
cell's options, which ``%load_ext isocell`` does to write the magic's manual, stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from isocell.envs._names import check_name
from isocell.envs._request import EnvRequest

if TYPE_CHECKING:
    from isocell.envs._build import BuildProgress, ProgressCallback
    from isocell.envs._builders import BUILDER_NAMES
    from isocell.envs._cache import build_log, cached_environment, prune, remove_cached
    from isocell.envs._catalog import (
        catalog,
        create,
        create_named,
        describe,
        interpreter_of,
        plan,
        rebuild,
        register_external,
        remove,
    )
    from isocell.envs._discovery import Interpreter, find_interpreter, find_interpreters
    from isocell.envs._environment import Environment
    from isocell.envs._files import private_home
    from isocell.envs._lock import task_requirements
    from isocell.envs._processes import process_alive, process_exists
    from isocell.envs._published_builds import BuildPublisher, published_build, published_builds
    from isocell.envs._redact import redact_text, without_credentials
    from isocell.envs._registry import NamedEnvironment, Registry
    from isocell.envs._resolve import (
        check_request,
        external_environment,
        rebuild_kernel,
        resolve_environment,
        spec_for,
    )
    from isocell.envs._spec import EnvSpec, parse_requirements
    from isocell.envs._store import EnvStore, isocell_home

# Each public name that loads on first use, and its module.
_LAZY = {
    "BuildProgress": "_build",
    "ProgressCallback": "_build",
    "task_requirements": "_lock",
    "check_request": "_resolve",
    "BUILDER_NAMES": "_builders",
    "build_log": "_cache",
    "cached_environment": "_cache",
    "prune": "_cache",
    "remove_cached": "_cache",
    "catalog": "_catalog",
    "create": "_catalog",
    "create_named": "_catalog",
    "describe": "_catalog",
    "interpreter_of": "_catalog",
    "plan": "_catalog",
    "rebuild": "_catalog",
    "register_external": "_catalog",
    "remove": "_catalog",
    "Interpreter": "_discovery",
    "find_interpreter": "_discovery",
    "find_interpreters": "_discovery",
    "redact_text": "_redact",
    "without_credentials": "_redact",
    "NamedEnvironment": "_registry",
    "Registry": "_registry",
    "external_environment": "_resolve",
    "rebuild_kernel": "_resolve",
    "resolve_environment": "_resolve",
    "spec_for": "_resolve",
    "EnvSpec": "_spec",
    "parse_requirements": "_spec",
    "Environment": "_environment",
    "EnvStore": "_store",
    "isocell_home": "_store",
    "private_home": "_files",
    "process_alive": "_processes",
    "process_exists": "_processes",
    "BuildPublisher": "_published_builds",
    "published_build": "_published_builds",
    "published_builds": "_published_builds",
}

__all__ = [
    "BUILDER_NAMES",
    "BuildProgress",
    "BuildPublisher",
    "EnvRequest",
    "EnvSpec",
    "EnvStore",
    "Environment",
    "Interpreter",
    "NamedEnvironment",
    "ProgressCallback",
    "Registry",
    "build_log",
    "cached_environment",
    "catalog",
    "check_name",
    "check_request",
    "create",
    "create_named",
    "describe",
    "external_environment",
    "find_interpreter",
    "find_interpreters",
    "interpreter_of",
    "isocell_home",
    "parse_requirements",
    "plan",
    "private_home",
    "process_alive",
    "process_exists",
    "prune",
    "published_build",
    "published_builds",
    "rebuild",
    "rebuild_kernel",
    "redact_text",
    "register_external",
    "remove",
    "remove_cached",
    "resolve_environment",
    "spec_for",
    "task_requirements",
    "without_credentials",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
