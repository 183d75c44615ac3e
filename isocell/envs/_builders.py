"""The builders there are, and which one builds a spec.

:data:`BUILDERS` is made from the implementations, so a new builder is one class here and its
name becomes a valid ``--builder`` (the options read :data:`BUILDER_NAMES`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from isocell.envs._build import BuildCommands, Builder
from isocell.envs._uv import UvBuilder
from isocell.envs._virtualenv import VirtualenvBuilder
from isocell.errors import BuildError

if TYPE_CHECKING:
    from isocell.envs._spec import EnvSpec

__all__ = ["BUILDERS", "BUILDER_NAMES", "builder_for"]

#: Every builder by name, the default first; where one cannot build, the next is tried.
BUILDERS: dict[str, Builder] = {
    builder.name: builder for builder in (UvBuilder(), VirtualenvBuilder())
}
BUILDER_NAMES: tuple[str, ...] = tuple(BUILDERS)


def builder_for(spec: EnvSpec, commands: BuildCommands) -> Builder:
    """The builder the spec asks for, or where it cannot build here, the first that can
    (uv falls back to virtualenv); why one was passed over goes to the log.

    Raises
    ------
    BuildError
        If no builder can build here, or the spec names one isocell does not have.
    """
    if spec.builder not in BUILDERS:  # a spec stored by another version of isocell
        raise BuildError(f"unknown builder {spec.builder!r}: isocell has {BUILDER_NAMES}", "")
    order = [spec.builder] + [name for name in BUILDERS if name != spec.builder]
    reasons = []
    for name in order:
        builder = BUILDERS[name]
        why = builder.unavailable(spec)
        if why is None:
            return builder
        commands.log.append(f"note: the {name} builder cannot build here: {why}")
        reasons.append(f"{name}: {why}")
    raise BuildError("no builder can build here (" + "; ".join(reasons) + ")", "")
