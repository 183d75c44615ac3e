"""Where the exported tasks' environments come from: ``isocell export --target``.

``virtualenv`` (the default)
    Each isolated cell is a ``@task.virtualenv`` pinned to its environment's lock; Airflow
    builds the environment on each worker at run time and caches it there.
``prebuilt``
    The environments are built into the Airflow image once: one per distinct environment
    (named after the cell's ``--env NAME``, else after the first task that uses it), made with
    uv from its lock on the Python version it needs under :data:`IMAGE_ROOT`, with
    ``ASTRO_PYENV_<name>`` naming its interpreter as astro-provider-venv does; the tasks are
    ``@task.external_python(python=os.environ["ASTRO_PYENV_<name>"])``. The export writes a
    complete ``Dockerfile`` (``FROM`` the ``--base-image``) and the same environments as
    ``PYENV <version> <name> <requirements file>`` lines for Astronomer's BuildKit frontend
    (``Dockerfile.astro``; astro-provider-venv's README).

An interpreter used as it is (``--python /path``) stays an ``external_python`` task on that
path in both targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from isocell.dag._model import Task
from isocell.dag._render import TaskEnvironment
from isocell.errors import ExportError

__all__ = [
    "DEFAULT_BASE_IMAGES",
    "IMAGE_ROOT",
    "TARGETS",
    "PrebuiltEnvironment",
    "check_target",
    "distinct_environments",
    "image_for",
    "prebuilt_environments",
]

#: The export targets, the default first.
TARGETS = ("virtualenv", "prebuilt", "kubernetes")

#: Where the image holds the prebuilt environments.
IMAGE_ROOT = "/opt/isocell/envs"

#: The Airflow image a prebuilt target builds on when no ``--base-image`` is given, by
#: Airflow major version (the Apache Airflow project's images on Docker Hub). Pin your own.
DEFAULT_BASE_IMAGES = {3: "apache/airflow:latest", 2: "apache/airflow:2.10.5"}


@dataclass(frozen=True)
class PrebuiltEnvironment:
    """One environment built into the image.

    Attributes
    ----------
    name : str
        The ``--env`` name of the cells that use it, else the first such task's id.
    python_version : str
        ``major.minor``.
    requirements : tuple of str
        The lock, as the ``@task.virtualenv`` target pins it.
    index_urls : tuple of str
        The package indexes to install from (the first replaces PyPI).
    tasks : tuple of str
        The task ids that run in it.
    """

    name: str
    python_version: str
    requirements: tuple[str, ...]
    index_urls: tuple[str, ...]
    tasks: tuple[str, ...]

    @property
    def variable(self) -> str:
        """``ASTRO_PYENV_<name>``, the name's other characters made ``_``."""
        return "ASTRO_PYENV_" + re.sub(r"\W", "_", self.name)

    @property
    def python(self) -> str:
        """The interpreter's path in the image."""
        return f"{IMAGE_ROOT}/{self.name}/bin/python"


def check_target(target: str) -> str:
    """``target`` if it is one of :data:`TARGETS`.

    Raises
    ------
    ExportError
        For any other value.
    """
    if target not in TARGETS:
        raise ExportError(
            None, None, f"--target takes {' or '.join(TARGETS)}, not {str(target)[:80]!r}"
        )
    return target


# An image reference: [registry/]name[:tag][@digest]; nothing a Dockerfile would read as more.
_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}")


def image_for(target: str, base_image: str | None, airflow: int) -> str | None:
    """The image the ``prebuilt`` target builds on (``--base-image``, else
    :data:`DEFAULT_BASE_IMAGES`); None for the ``virtualenv`` target.

    Raises
    ------
    ExportError
        For an unknown target, a base image that is no image reference, or a base image
        given to the ``virtualenv`` target.
    """
    check_target(target)
    if target != "prebuilt":
        if base_image is not None:
            raise ExportError(
                None, None, "--base-image applies to --target prebuilt only: leave it out"
            )
        return None
    if base_image is None:
        return DEFAULT_BASE_IMAGES[airflow]
    if not _IMAGE.fullmatch(base_image):
        raise ExportError(
            None,
            None,
            f"--base-image {base_image[:80]!r} is not an image reference: give one such as "
            "apache/airflow:3.1.0 or registry.example.com/team/airflow:2025-06",
        )
    return base_image


def distinct_environments(
    tasks: list[Task], environments: dict[str, TaskEnvironment], target: str
) -> list[tuple[str, TaskEnvironment, tuple[Task, ...]]]:
    """The ``virtualenv`` tasks grouped by environment (same Python, lock and indexes), in
    task order: each group's name (the ``--env`` name of a cell in it, else its first task's
    id, made unique), its environment and its tasks.

    Raises
    ------
    ExportError
        For a cell whose requirements are rendered per run (``{{ params.x }}``): no image
        can hold an environment chosen at run time.
    """
    groups: dict[tuple[object, ...], list[Task]] = {}
    for task in tasks:
        environment = environments[task.task_id]
        if environment.kind != "virtualenv":
            continue
        if task.cell.requirement_templates:
            raise ExportError(
                task.cell.index,
                1,
                f"{task.cell.magic_line}: its requirements are rendered per run, so no "
                f"image can hold its environment; export with --target virtualenv, not {target}",
            )
        if any(re.search(r"\s", url) for url in environment.index_urls):
            raise ExportError(
                task.cell.index, 1, f"{task.cell.magic_line}: an index URL holds a space"
            )
        key = (environment.python_version, environment.requirements, environment.index_urls)
        groups.setdefault(key, []).append(task)
    taken: set[str] = set()
    return [
        (_unique(_name_of(members), taken), environments[members[0].task_id], tuple(members))
        for members in groups.values()
    ]


def prebuilt_environments(
    tasks: list[Task], environments: dict[str, TaskEnvironment], notices: list[str]
) -> tuple[dict[str, TaskEnvironment], list[PrebuiltEnvironment]]:
    """The tasks' environments for the ``prebuilt`` target, and the environments to build.

    Every ``virtualenv`` task becomes an ``external_python`` task on its environment in the
    image; tasks with the same Python, lock and indexes share one. A task on Python 3.6 or
    2.7 (``legacy``) is not built into the image (uv makes no 2.7 environment, nor installs
    either interpreter): ``notices`` gets a line saying what the image needs for it.

    Raises
    ------
    ExportError
        As :func:`distinct_environments`.
    """
    built: list[PrebuiltEnvironment] = []
    changed = dict(environments)
    for task in tasks:
        environment = environments[task.task_id]
        if environment.kind == "legacy":
            notices.append(
                f"{task.task_id} runs on Python {environment.python_version}, which the "
                f"image does not hold: install that interpreter and the cell's packages in "
                f"it and set {environment.variable} to its python (else the task looks for "
                f"{environment.python})"
            )
    for name, first, members in distinct_environments(tasks, environments, "prebuilt"):
        image = PrebuiltEnvironment(
            name,
            first.python_version,
            first.requirements,
            first.index_urls,
            tuple(task.task_id for task in members),
        )
        built.append(image)
        for task in members:
            changed[task.task_id] = replace(
                environments[task.task_id],
                kind="external_python",
                python=image.python,
                variable=image.variable,
            )
    return changed, built


def _name_of(members: list[Task]) -> str:
    for task in members:
        options = task.cell.options
        name = options.environment.environment_name if options is not None else None
        if name:
            return name
    return members[0].task_id


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    taken.add(candidate)
    return candidate
