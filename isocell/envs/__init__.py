"""Environments: specs, the content-addressed store, named environments, interpreters."""

from __future__ import annotations

from isocell.envs._build import BuildProgress
from isocell.envs._discovery import Interpreter, find_interpreter, find_interpreters
from isocell.envs._registry import NamedEnvironment, Registry, check_name
from isocell.envs._resolve import EnvRequest, external_environment, resolve_environment, spec_for
from isocell.envs._spec import EnvSpec, parse_requirements
from isocell.envs._store import Environment, EnvStore, isocell_home

__all__ = [
    "BuildProgress",
    "EnvRequest",
    "EnvSpec",
    "EnvStore",
    "Environment",
    "Interpreter",
    "NamedEnvironment",
    "Registry",
    "check_name",
    "external_environment",
    "find_interpreter",
    "find_interpreters",
    "isocell_home",
    "parse_requirements",
    "resolve_environment",
    "spec_for",
]
