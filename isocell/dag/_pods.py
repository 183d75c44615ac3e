"""``isocell export --target kubernetes``: each isolated cell a ``@task.kubernetes`` task.

The cncf-kubernetes provider's ``@task.kubernetes`` runs the task's function in a pod: it
pickles the arguments, renders a script around the function's source, and the pod's container
runs ``python`` on them; with ``do_xcom_push`` the JSON the function returns comes back as
XCom through the provider's sidecar (``airflow/providers/cncf/kubernetes/decorators/
kubernetes.py``). So each distinct environment becomes an image (:class:`PodImage`): a slim
Python base of the version it needs, the lock installed with uv into ``/opt/isocell/venv``
(first on ``PATH``, so it is the ``python`` the pod runs), and the runtime codec
(``isocell_runtime``) and the notebook's local modules under ``/opt/isocell/lib``
(``PYTHONPATH``). Values travel through ``--data-dir`` on storage every pod and worker reaches
(an fsspec URL such as ``s3://bucket/prefix``: a pod has no disk of the workers'); XCom
carries their references, as in the other targets.

Each pod takes its environment variables from the Kubernetes Secret :data:`POD_SECRET`
(``ISOCELL_PAYLOAD_KEY``, the data location's credentials): nothing secret is written into
the DAG or the images.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from isocell.dag._model import Task
from isocell.dag._render import TaskEnvironment
from isocell.dag._targets import distinct_environments
from isocell.errors import ExportError

__all__ = ["POD_SECRET", "PodImage", "PodOptions", "pod_environments", "pod_options"]

#: The Kubernetes Secret whose keys become each pod's environment variables.
POD_SECRET = "isocell"

#: Where the images hold the environment and the codec.
IMAGE_ROOT = "/opt/isocell"

# Kubernetes resource names (cpu, memory, ephemeral-storage, nvidia.com/gpu) and quantities
# (Kubernetes' resource.Quantity: 500m, 1.5, 2Gi, 1e3).
_RESOURCE = re.compile(
    r"(?P<name>[a-z0-9]([a-z0-9.-]*[a-z0-9])?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)?)"
    r"=(?P<quantity>[0-9]+(\.[0-9]+)?([eE][0-9]+|[mkMGTPE]|[KMGTPE]i)?)"
)
# A DNS-1123 label (a Kubernetes namespace).
_NAMESPACE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# An image registry and repository prefix: registry.example.com:5000/team.
_REGISTRY = re.compile(r"[a-z0-9]([a-z0-9.:_/-]{0,200}[a-z0-9])?")


@dataclass(frozen=True)
class PodOptions:
    """Where and how the pods run.

    Attributes
    ----------
    namespace : str
        The Kubernetes namespace.
    registry : str
        Prefix of the images' names (``registry.example.com/team``); "" for none.
    resources : tuple of (str, str)
        Resource name and quantity, each both the container's request and its limit.
    """

    namespace: str = "default"
    registry: str = ""
    resources: tuple[tuple[str, str], ...] = ()


def pod_options(
    namespace: str | None,
    registry: str | None,
    resources: str | None,
    target: str,
    data_dir: str,
) -> PodOptions | None:
    """The ``--namespace``, ``--registry`` and ``--resources`` (``cpu=500m,memory=1Gi``)
    options, checked; None for a target other than ``kubernetes``.

    Raises
    ------
    ExportError
        For a value Kubernetes would refuse, any of them given to another target, or a
        ``data_dir`` that is no URL (a pod has no disk of the workers').
    """
    given = {"--namespace": namespace, "--registry": registry, "--resources": resources}
    if target != "kubernetes":
        named = [flag for flag, value in given.items() if value is not None]
        if named:
            raise ExportError(
                None, None, f"{', '.join(named)} applies to --target kubernetes only: leave it out"
            )
        return None
    if "://" not in data_dir:
        raise ExportError(
            None,
            None,
            "--target kubernetes needs --data-dir on storage every pod and worker reaches, "
            "an fsspec URL such as s3://bucket/prefix: a pod has no disk of the workers'",
        )
    options = PodOptions()
    if namespace is not None:
        if not _NAMESPACE.fullmatch(namespace):
            raise ExportError(
                None,
                None,
                f"--namespace {namespace[:80]!r} is no Kubernetes namespace: 1-63 lower-case "
                "letters, digits and '-', starting and ending with a letter or digit",
            )
        options = replace(options, namespace=namespace)
    if registry is not None:
        if not _REGISTRY.fullmatch(registry.rstrip("/")):
            raise ExportError(
                None,
                None,
                f"--registry {registry[:80]!r} is no image registry prefix: give one such as "
                "registry.example.com/team (lower case)",
            )
        options = replace(options, registry=registry.rstrip("/"))
    if resources is not None:
        pairs = [part.strip() for part in resources.split(",")]
        matches = [_RESOURCE.fullmatch(part) for part in pairs]
        if not pairs or not all(matches):
            raise ExportError(
                None,
                None,
                f"--resources {resources[:80]!r}: give NAME=QUANTITY pairs separated by ',' "
                "as Kubernetes writes them, such as cpu=500m,memory=1Gi",
            )
        found = tuple((m["name"], m["quantity"]) for m in matches if m is not None)
        options = replace(options, resources=found)
    return options


@dataclass(frozen=True)
class PodImage:
    """One environment's image.

    Attributes
    ----------
    name : str
        The ``--env`` name of the cells that use it, else the first such task's id.
    image : str
        ``[registry/]<dag_id>-<name>:<tag>``, the tag a hash of what the image holds.
    python_version : str
        ``major.minor``: the base image is ``python:<python_version>-slim``.
    requirements, index_urls, tasks : tuple of str
        As :class:`~isocell.dag._targets.PrebuiltEnvironment`'s.
    """

    name: str
    image: str
    python_version: str
    requirements: tuple[str, ...]
    index_urls: tuple[str, ...]
    tasks: tuple[str, ...]

    @property
    def dockerfile(self) -> str:
        """Its Dockerfile's path in the export folder."""
        return f"images/{self.name}.Dockerfile"


def pod_environments(
    tasks: list[Task],
    environments: dict[str, TaskEnvironment],
    dag_id: str,
    options: PodOptions,
    contents: bytes,
) -> tuple[dict[str, TaskEnvironment], list[PodImage]]:
    """The tasks' environments for the ``kubernetes`` target, and the images to build.

    ``contents`` is what every image holds besides its lock (the codec and the local
    modules): its hash goes into each image's tag, so a changed image is a new tag.

    Raises
    ------
    ExportError
        As :func:`~isocell.dag._targets.distinct_environments`; for an isolated branch cell
        (the provider has no ``@task.branch_kubernetes``) or an interpreter used as it is (no
        image holds it) or a Python older than 3.7 (the provider's pod script needs 3.7).
    """
    for task in tasks:
        environment = environments[task.task_id]
        refusal = None
        if environment.kind == "external_python":
            refusal = "it runs an interpreter as it is, which no image holds; give --python X.Y"
        elif environment.kind == "legacy":
            refusal = (
                f"the provider's pod script runs Python 3.7 and newer, not "
                f"{environment.python_version}; export with --target virtualenv (the cell "
                "then runs from a task, in its environment's interpreter)"
            )
        elif environment.kind == "virtualenv" and task.cell.branch:
            refusal = (
                "a branch cell cannot run in a pod (the cncf-kubernetes provider has no "
                "branch decorator); drop %%isolated from it or export with another --target"
            )
        if refusal:
            raise ExportError(task.cell.index, 1, f"{task.cell.magic_line}: {refusal}")
    images: list[PodImage] = []
    changed = dict(environments)
    for name, first, members in distinct_environments(tasks, environments, "kubernetes"):
        digest = hashlib.sha256(contents)
        for part in (first.python_version, *first.requirements, "", *first.index_urls):
            digest.update(part.encode() + b"\0")
        repository = re.sub(r"[^a-z0-9._-]+", "-", f"{dag_id}-{name}".lower()).strip("-._")
        prefix = f"{options.registry}/" if options.registry else ""
        image = PodImage(
            name,
            f"{prefix}{repository}:{digest.hexdigest()[:12]}",
            first.python_version,
            first.requirements,
            first.index_urls,
            tuple(task.task_id for task in members),
        )
        images.append(image)
        for task in members:
            changed[task.task_id] = replace(
                changed[task.task_id], kind="kubernetes", image=image.image
            )
    return changed, images
