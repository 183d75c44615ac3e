"""The files an export writes beside the DAG file: the runtime package, ``.airflowignore``,
the notebook's local modules, and the environments' requirements and Dockerfiles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from isocell.dag._model import Task
from isocell.dag._pods import IMAGE_ROOT as POD_ROOT
from isocell.dag._pods import PodImage
from isocell.dag._render import TaskEnvironment, templates
from isocell.dag._targets import IMAGE_ROOT, PrebuiltEnvironment
from isocell.dag._write import Destination
from isocell.transfer import WIRE_MODULES

__all__ = ["Image", "Pods", "runtime_sources", "write_export"]

# The wire modules the exported runtime imports (the child's agent is not one of them).
_WIRE = tuple(name for name in WIRE_MODULES if name != "agent")


def write_export(
    destination: Destination,
    name: str,
    text: str,
    modules: list[Path],
    tasks: list[Task],
    environments: dict[str, TaskEnvironment],
    image: Image | Pods | None = None,
) -> list[Path]:
    """Write the DAG file ``name`` (first in the list returned), the runtime package, the
    ``.airflowignore`` entry, the local modules, and the venv tasks' requirements and
    Dockerfile; for the prebuilt target (an :class:`Image`), each environment's lock, a
    complete ``Dockerfile`` and ``Dockerfile.astro`` instead; for the kubernetes target
    (:class:`Pods`), each environment's lock and ``images/<name>.Dockerfile``."""
    files = [destination.write(name, text.encode("utf-8")), *_copy_runtime(destination)]
    # The runtime package is no DAG: keep Airflow's DAG processor out of it.
    entries = destination.read(".airflowignore").decode("utf-8", "replace").splitlines()
    if "isocell_runtime/" not in entries:
        entries.append("isocell_runtime/")
    files.append(destination.write(".airflowignore", ("\n".join(entries) + "\n").encode()))
    for module in modules:
        files += destination.copy(module, module.name)
    if isinstance(image, Image):
        return files + _write_image(destination, image)
    if isinstance(image, Pods):
        libraries = ["isocell_runtime", *(module.name for module in modules)]
        return files + _write_pod_images(destination, image, libraries)
    venv_tasks = [t for t in tasks if environments[t.task_id].kind == "virtualenv"]
    if venv_tasks:
        for task in venv_tasks:
            lock = "\n".join(environments[task.task_id].requirements) + "\n"
            files.append(destination.write(f"requirements/{task.task_id}.txt", lock.encode()))
        docker = _dockerfile(tasks, environments).encode("utf-8")
        files.append(destination.write("Dockerfile.isocell", docker))
    return files


@dataclass(frozen=True)
class Image:
    """The prebuilt target's image: the environments to build and the image to build on."""

    dag_id: str
    base_image: str
    environments: tuple[PrebuiltEnvironment, ...]


@dataclass(frozen=True)
class Pods:
    """The kubernetes target's images, one per environment."""

    dag_id: str
    images: tuple[PodImage, ...]


def _write_pod_images(destination: Destination, pods: Pods, libraries: list[str]) -> list[Path]:
    files = []
    template = templates().get_template("Dockerfile.pod.j2")
    for environment in pods.images:
        lock = "\n".join(environment.requirements) + "\n"
        files.append(destination.write(f"requirements/{environment.name}.txt", lock.encode()))
        text = template.render(
            dag_id=pods.dag_id, env=environment, libraries=libraries, root=POD_ROOT
        )
        files.append(destination.write(environment.dockerfile, text.encode("utf-8")))
    return files


def _write_image(destination: Destination, image: Image) -> list[Path]:
    files = []
    for environment in image.environments:
        lock = "\n".join(environment.requirements) + "\n"
        files.append(destination.write(f"requirements/{environment.name}.txt", lock.encode()))
    values = {
        "dag_id": image.dag_id,
        "base_image": image.base_image,
        "environments": image.environments,
        "root": IMAGE_ROOT,
    }
    for template, target in (
        ("Dockerfile.prebuilt.j2", "Dockerfile"),
        ("Dockerfile.astro.j2", "Dockerfile.astro"),
    ):
        text = templates().get_template(template).render(**values).rstrip("\n") + "\n"
        files.append(destination.write(target, text.encode("utf-8")))
    return files


def _copy_runtime(destination: Destination) -> list[Path]:
    return [
        destination.write(f"isocell_runtime/{name}", source.read_bytes())
        for source, name in runtime_sources()
    ]


def runtime_sources() -> list[tuple[Path, str]]:
    """The files of the ``isocell_runtime`` package an export writes: source, name."""
    package = Path(__file__).parent
    wire = package.parent / "transfer" / "_wire"
    sources = [
        (package / "runtime" / name, name)
        for name in ("__init__.py", "airflow_lookups.py", "display.py", "legacy.py")
    ]
    # python2.py: the child of a Python 2.7 task (isocell.dag.runtime.legacy)
    return sources + [(wire / f"{name}.py", f"{name}.py") for name in (*_WIRE, "python2")]


def _dockerfile(tasks: list[Task], environments: dict[str, TaskEnvironment]) -> str:
    """The Dockerfile lines that build the virtualenv tasks' environments into an image
    (``templates/Dockerfile.isocell.j2``)."""
    venv_tasks = [
        {
            "task_id": task.task_id,
            "python_version": environments[task.task_id].python_version,
            "variable": re.sub(r"[^A-Za-z0-9_]", "_", task.task_id),
        }
        for task in tasks
        if environments[task.task_id].kind == "virtualenv"
    ]
    text = templates().get_template("Dockerfile.isocell.j2").render(tasks=venv_tasks)
    return text.rstrip("\n") + "\n"
