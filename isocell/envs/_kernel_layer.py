"""The kernel layer: the child kernel's own packages, kept out of the user's environment.

An environment isocell builds holds the user's requirements and what they need, nothing
more: exactly what its exported ``@task.virtualenv`` installs. The child ipykernel's
packages (ipykernel, IPython, pyzmq, tornado, psutil, ... and cloudpickle for the transfer)
live in one *kernel layer* per interpreter, an environment built once and shared by every
environment of that interpreter, which the child's launcher appends to ``sys.path`` after
the environment's own packages (``site.addsitedir``): where both hold a package, the user's
version wins, as in the task. A guard in the child (:mod:`isocell.kernel`'s launcher) makes a
cell's own import of a package that only the layer has fail with ``ModuleNotFoundError``
saying which ``--req`` adds it.

The layer's packages then run on whatever versions of their dependencies the environment
pins. :func:`layer_clash` checks, from the packages' metadata, that every requirement of
every package in the layer is met by the environment's version where the environment has
that package; when one is not, the environment is built with the kernel inside instead
(``EnvSpec.kernel_inside``), resolved together with the user's packages, and the cell is told.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from isocell.envs._environment import Environment

__all__ = ["layer_clash", "layer_site"]


def layer_site(layer: Environment) -> Path:
    """The site-packages folder of the kernel layer ``layer``.

    Raises
    ------
    FileNotFoundError
        If the layer has none (a damaged layer: rebuild it).
    """
    patterns = ("Lib/site-packages",) if sys.platform == "win32" else ("lib/python*/site-packages",)
    for pattern in patterns:
        for found in sorted(layer.path.glob(pattern)):
            return found
    raise FileNotFoundError(f"the kernel layer {layer.path} has no site-packages folder")


def _versions(lock: tuple[str, ...]) -> dict[str, Version]:
    versions: dict[str, Version] = {}
    for pin in lock:
        name, _, version = pin.partition("==")
        try:
            versions[canonicalize_name(name)] = Version(version.strip())
        except InvalidVersion:
            continue
    return versions


def layer_clash(environment: Environment, site: Path) -> str | None:
    """Why the packages of the kernel layer at ``site`` (:func:`layer_site`) cannot run on
    ``environment``'s versions, or None. Remembered for the process (:func:`_clash`): both
    are immutable once built, and a cell's environment is resolved again for every cell.

    Reads the ``Requires-Dist`` of every distribution in the layer (markers evaluated for the
    environment's Python, extras not taken) and compares each requirement that names a
    package the environment has with the environment's version of it.

    Returns
    -------
    str or None
        The first clash, such as ``"ipykernel needs traitlets>=5.4.0, the environment has
        traitlets 4.3.3"``.
    """
    return _clash(environment.lock, environment.python_version, site)


@functools.lru_cache(maxsize=256)
def _clash(lock: tuple[str, ...], python_version: str, site: Path) -> str | None:
    from importlib.metadata import distributions

    mine = _versions(lock)
    if not mine:
        return None
    markers = {key: str(value) for key, value in default_environment().items()}
    minor = ".".join(python_version.split(".")[:2])
    markers.update(python_version=minor, python_full_version=python_version)
    markers["extra"] = ""
    for distribution in distributions(path=[str(site)]):
        owner = distribution.metadata["Name"]
        for text in distribution.requires or ():
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(markers):
                continue
            have = mine.get(canonicalize_name(requirement.name))
            if have is None or requirement.specifier.contains(have, prereleases=True):
                continue
            return (
                f"{owner} needs {requirement.name}{requirement.specifier}, the environment "
                f"has {requirement.name} {have}"
            )
    return None
