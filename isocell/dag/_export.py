"""``export_notebook``: the notebook → DAG export and every file written beside the DAG.

Written into the output folder::

    <dag_id>.py                     the DAG
    isocell_runtime/                the codec tasks use to pass values (see its docstring)
    .airflowignore                  keeps Airflow's DAG processor out of isocell_runtime/
    <module>.py, <package>/         local modules the notebook imports, copied from beside it
    requirements/<task_id>.txt      the lock of each virtualenv task's environment
    Dockerfile.isocell              builds those environments into an image, for teams that run
                                    them as @task.external_python on prebuilt environments

With ``--target prebuilt`` (:mod:`isocell.dag._targets`), ``requirements/<environment>.txt``, a
complete ``Dockerfile`` and ``Dockerfile.astro`` instead of the last two; with ``--target
kubernetes`` (:mod:`isocell.dag._pods`), ``requirements/<environment>.txt`` and
``images/<environment>.Dockerfile``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isocell.analysis import parse_cell
from isocell.dag._branches import link_branches
from isocell.dag._collect import NotebookCell, read_cells
from isocell.dag._model import Task, build_tasks
from isocell.dag._outputs import Image, Pods, runtime_sources, write_export
from isocell.dag._params import read_parameters
from isocell.dag._pods import POD_SECRET, PodOptions, pod_environments, pod_options
from isocell.dag._render import DagOptions, TaskEnvironment, render_dag
from isocell.dag._requirements import link_requirements, templated_requirements
from isocell.dag._schedule import schedule_of, start_date_of
from isocell.dag._storage import moved_pins, storage_requirements
from isocell.dag._targets import image_for, prebuilt_environments
from isocell.dag._write import Destination
from isocell.errors import (
    DagFileExistsError,
    EnvironmentNotFoundError,
    ExportError,
    InterpreterNotFoundError,
    RequirementError,
)

__all__ = ["ExportResult", "export_notebook"]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    Attributes
    ----------
    dag_file : Path
        The DAG file.
    dag_id : str
    text : str
        The DAG file's contents.
    files : tuple of Path
        Every file written, the DAG first.
    tasks : tuple of str
        The task ids, in cell order.
    notices : tuple of str
        What the user should know but did not stop the export: a cell whose environment's
        lock is not the one the notebook recorded when the cell last ran.
    """

    dag_file: Path
    dag_id: str
    text: str
    files: tuple[Path, ...]
    tasks: tuple[str, ...]
    notices: tuple[str, ...] = ()


def _dag_id(notebook: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", notebook.stem).strip("_") or "notebook"
    return name if not name[0].isdigit() else "nb_" + name


def _shown(text: str) -> str:
    return text if len(text) <= 80 else f"{text[:80]}… ({len(text)} characters)"


def _data_dir(text: str | None, dag_id: str) -> str:
    """The data location the DAG's tasks get: a URL or an absolute folder as given (a relative
    folder made absolute here), or by default the DAG id, which the runtime places under
    ``$ISOCELL_DATA_DIR`` (default ``~/.local/share/isocell/airflow-data``) of the task's
    user: never a shared folder such as ``/tmp``, where another user could plant payloads."""
    if text is None:
        return dag_id
    if not text.strip() or re.search(r"[\x00-\x1f\x7f]", text):
        raise ExportError(
            None,
            None,
            f"--data-dir {_shown(text)!r} is empty or holds a control character: give a "
            "folder or an fsspec URL such as s3://bucket/prefix",
        )
    return text if "://" in text else str(Path(text).expanduser().absolute())


def _dag_file(notebook: Path, output: str | Path | None, dag_id: str) -> Path:
    """Where the DAG goes; its folder may be made, but only inside one that exists."""
    if output is not None and not str(output).strip():
        raise ExportError(None, None, "the output path is empty: give a folder or a .py path")
    target = Path(output) if output is not None else notebook.parent / "dags"
    dag_file = target if target.suffix == ".py" else target / f"{dag_id}.py"
    folder = dag_file.parent
    if folder.exists() and not folder.is_dir():
        raise ExportError(
            None, None, f"the output {folder} is a file, not a folder: give a folder or a .py path"
        )
    if not folder.exists() and not folder.parent.is_dir():
        raise ExportError(
            None,
            None,
            f"the output folder {folder} cannot be made: {folder.parent} does not exist; "
            "create it first, or give a folder that exists",
        )
    if dag_file.is_dir():
        raise ExportError(
            None,
            None,
            f"the output {dag_file} is a folder, not a .py file: give that folder (without "
            "the .py ending) or the path of a .py file",
        )
    return dag_file


def _request(cell: NotebookCell) -> Any:
    """The cell's environment request, checked without building anything."""
    from isocell.envs import EnvStore, Registry, check_request

    assert cell.options is not None
    request = cell.options.environment
    try:
        check_request(request, Registry(EnvStore().home))
    except (RequirementError, InterpreterNotFoundError, EnvironmentNotFoundError) as error:
        raise ExportError(cell.index, 1, f"{cell.magic_line}: {error}") from None
    return request


def _per_run_environment(task: Task, extra: tuple[str, ...]) -> TaskEnvironment:
    """A ``@task.virtualenv`` whose requirements Airflow renders for each run: nothing is
    built or locked here (:mod:`isocell.dag._requirements`)."""
    from isocell.envs import spec_for

    cell = task.cell
    request = _request(cell)
    try:
        spec = spec_for(request)
    except (RequirementError, InterpreterNotFoundError) as error:
        raise ExportError(cell.index, 1, f"{cell.magic_line}: {error}") from None
    if _before_virtualenv_tasks(spec.minor):
        raise ExportError(
            cell.index,
            1,
            f"{cell.magic_line}: requirements rendered per run need a @task.virtualenv, "
            f"which runs Python 3.7 and newer, not {spec.minor}: pin them in the cell",
        )
    urls = _index_urls(spec)
    requirements = (*spec.requirements, *templated_requirements(task), *extra)
    return TaskEnvironment("virtualenv", spec.minor, requirements, index_urls=urls)


def _index_urls(spec: Any) -> tuple[str, ...]:
    """The spec's package indexes as the export writes them: without credentials, which
    stay out of every file (the workers' and the image build's uv takes them from
    ``~/.netrc``, a keyring or ``UV_INDEX_*`` variables)."""
    from isocell.envs import without_credentials

    return tuple(without_credentials(u) for u in (spec.index_url, *spec.extra_index_urls) if u)


def _before_virtualenv_tasks(minor: str) -> bool:
    """Whether Python ``minor`` (``"3.6"``) is older than Airflow's virtualenv tasks run:
    their script (and the kubernetes provider's pod script) starts with ``from __future__
    import annotations``, which came with 3.7."""
    return tuple(int(part) for part in minor.split(".")) < (3, 7)


def _environment(task: Task, extra: tuple[str, ...], notices: list[str]) -> TaskEnvironment:
    cell = task.cell
    if not cell.isolated:
        return TaskEnvironment()
    from isocell.envs import EnvStore, resolve_environment, task_requirements

    if cell.requirement_templates:
        return _per_run_environment(task, extra)
    environment = resolve_environment(_request(cell), EnvStore())
    current = environment.lock_hash
    if cell.recorded_lock and current and cell.recorded_lock != current:
        notices.append(
            f"cell {cell.index + 1} ({task.task_id}) last ran in {environment.label} with "
            "other packages than it has now (its lock changed since: rebuilt, or other "
            "versions resolved); the task gets the packages it has now. Run the cell again "
            "to check it with them"
        )
    minor = ".".join(environment.python_version.split(".")[:2])
    label = environment.name or "py" + minor.replace(".", "")
    variable = "ASTRO_PYENV_" + re.sub(r"\W", "_", label)
    if _before_virtualenv_tasks(minor):
        # the cell runs from a task in Airflow's own Python instead
        return TaskEnvironment("legacy", minor, python=str(environment.python), variable=variable)
    as_is = environment.interpreter_as_is
    if as_is is not None:
        return TaskEnvironment("external_python", minor, python=str(as_is), variable=variable)
    spec = environment.spec
    assert spec is not None
    urls = _index_urls(spec)
    requirements = tuple(task_requirements(environment, extra))
    if extra:
        moved = moved_pins(list(environment.lock), requirements)
        if moved:
            notices.append(
                f"cell {cell.index + 1} ({task.task_id}): the data location's packages "
                f"({', '.join(extra)}) need other versions than the cell ran with: "
                f"{', '.join(moved)}; the task gets those. Put them in the cell's --req to run "
                "the cell with them too"
            )
    return TaskEnvironment("virtualenv", minor, requirements, index_urls=urls)


def _local_modules(cells: list[NotebookCell], folder: Path) -> list[Path]:
    found: set[Path] = set()
    for cell in cells:
        for node in ast.walk(parse_cell(cell.source)):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                for candidate in (folder / f"{top}.py", folder / top):
                    if candidate.is_file() or (candidate / "__init__.py").is_file():
                        found.add(candidate)
    return sorted(found)


def _for_target(
    tasks: list[Task],
    environments: dict[str, TaskEnvironment],
    dag_id: str,
    base: str | None,
    pods: PodOptions | None,
    modules: list[Path],
    notices: list[str],
) -> tuple[dict[str, TaskEnvironment], Image | Pods | None]:
    """The tasks' environments as the target has them, and its images (None for the
    ``virtualenv`` target)."""
    if base is not None:
        changed, built = prebuilt_environments(tasks, environments, notices)
        return changed, Image(dag_id, base, tuple(built))
    if pods is not None:
        contents = _image_contents(modules)
        changed, made = pod_environments(tasks, environments, dag_id, pods, contents)
        return changed, Pods(dag_id, tuple(made))
    return environments, None


def _pod_fields(pods: PodOptions) -> dict[str, Any]:
    return {"namespace": pods.namespace, "resources": pods.resources, "pod_secret": POD_SECRET}


def _image_contents(modules: list[Path]) -> bytes:
    """What a pod image holds besides its lock, for its tag: the codec's and the local
    modules' files."""
    parts = [name.encode() + source.read_bytes() for source, name in runtime_sources()]
    for module in modules:
        files = sorted(module.rglob("*.py")) if module.is_dir() else [module]
        parts += [f"{p.relative_to(module.parent)}".encode() + p.read_bytes() for p in files]
    return b"\0".join(parts)


def export_notebook(
    notebook: str | Path,
    output: str | Path | None = None,
    *,
    dag_id: str | None = None,
    schedule: str | None = None,
    start_date: str | None = None,
    airflow: int = 3,
    data_dir: str | None = None,
    confine: str | Path | None = None,
    overwrite: bool = True,
    target: str = "virtualenv",
    base_image: str | None = None,
    namespace: str | None = None,
    registry: str | None = None,
    resources: str | None = None,
) -> ExportResult:
    """Export ``notebook`` to an Airflow DAG file and its companions.

    Parameters
    ----------
    notebook : str or Path
        The ``.ipynb`` file.
    output : str or Path or None
        A folder, or a ``.py`` file path; default: ``dags/`` beside the notebook.
    dag_id : str or None
        Default: the notebook's file name.
    schedule : str or None
        A cron expression, an Airflow preset (``@daily``) or ``none`` (the default).
    start_date : str or None
        ``YYYY-MM-DD`` (UTC); default 2024-01-01.
    airflow : int
        3 (``airflow.sdk``, the default) or 2 (``airflow.decorators``).
    data_dir : str or None
        Where tasks keep the values they pass on: a local folder (default: ``<dag_id>``
        under the task user's ``$ISOCELL_DATA_DIR``, see :mod:`isocell.dag.runtime`) or an
        fsspec URL such as ``s3://bucket/prefix``.
    confine : str or Path or None
        A folder nothing may be written or copied from outside of (the Jupyter server's
        root); the output folder's real path must be in it. Default: the output folder.
    overwrite : bool
        Replace a DAG file that exists (the default, as the command does); False: raise
        :class:`~isocell.errors.DagFileExistsError` instead, before anything is built.
    target : str
        ``virtualenv`` (the default), ``prebuilt`` (:mod:`isocell.dag._targets`) or
        ``kubernetes`` (:mod:`isocell.dag._pods`).
    base_image : str or None
        The Airflow image the ``prebuilt`` target builds on.
    namespace, registry, resources : str or None
        The ``kubernetes`` target's namespace (default ``default``), image registry prefix
        and container resources (``cpu=500m,memory=1Gi``: requests and limits).

    Returns
    -------
    ExportResult

    Raises
    ------
    ExportError
        For a notebook that cannot be exported (the message names the cell and line).
    IsocellError
        If an environment of an isolated cell cannot be found or built.
    """
    path = Path(notebook)
    if isinstance(airflow, bool) or airflow not in (2, 3):
        raise ExportError(None, None, f"--airflow takes 3 or 2, not {_shown(repr(airflow))}")
    identifier = dag_id if dag_id is not None else _dag_id(path)
    if not isinstance(identifier, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,250}", identifier):
        raise ExportError(
            None,
            None,
            f"invalid DAG id {_shown(str(identifier))!r}: use 1-250 letters, digits, '_', '.' "
            "or '-' (Airflow's rule)",
        )
    options_schedule, options_start = schedule_of(schedule), start_date_of(start_date)
    base = image_for(target, base_image, airflow)
    location = _data_dir(data_dir, identifier)
    pods = pod_options(namespace, registry, resources, target, location)
    cells = read_cells(path)
    parameters = read_parameters(cells)
    tasks = build_tasks(cells, parameters)
    link_branches(tasks)
    link_requirements(tasks, frozenset(parameter.name for parameter in parameters))
    if not tasks:
        raise ExportError(
            None,
            None,
            f"{path} has no cell that does work: nothing to export (a notebook of only "
            "markdown, empty cells or set-up magics)",
        )
    dag_file = _dag_file(path, output, identifier)
    if not overwrite and dag_file.exists():
        raise DagFileExistsError(str(dag_file))
    # Every isolated cell's options are checked before any environment is built.
    for task in tasks:
        if task.cell.isolated:
            _request(task.cell)
    # A remote data location is opened through fsspec and its protocol's package, which
    # every isolated task's environment needs.
    extra = storage_requirements(location) if "://" in location else ()
    notices: list[str] = []
    environments = {task.task_id: _environment(task, extra, notices) for task in tasks}
    modules = _local_modules(cells, path.parent)
    environments, image = _for_target(tasks, environments, identifier, base, pods, modules, notices)
    options = DagOptions(
        dag_id=identifier,
        notebook=path.name,
        schedule=options_schedule,
        start_date=options_start,
        airflow=airflow,
        data_dir=location,
        environments=environments,
        parameters=parameters,
        **(_pod_fields(pods) if pods is not None else {}),
    )
    text = render_dag(tasks, options)
    destination = Destination(dag_file.parent, Path(confine) if confine is not None else None)
    for module in modules:  # refused before anything is written
        destination.inside(module, "the local module")
    files = write_export(destination, dag_file.name, text, modules, tasks, environments, image)
    task_ids = tuple(t.task_id for t in tasks)
    return ExportResult(files[0], identifier, text, tuple(files), task_ids, tuple(notices))
