"""``export_notebook``: the notebook → DAG export and every file written beside the DAG.

Written into the output folder::

    <dag_id>.py                     the DAG
    isocell_runtime/                the codec tasks use to pass values (see its docstring)
    .airflowignore                  keeps Airflow's DAG processor out of isocell_runtime/
    <module>.py, <package>/         local modules the notebook imports, copied from beside it
    requirements/<task_id>.txt      the lock of each virtualenv task's environment
    Dockerfile.isocell              builds those environments into an image, for teams that run
                                    them as @task.external_python on prebuilt environments
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from isocell.dag._collect import NotebookCell, read_cells
from isocell.dag._model import Task, build_tasks
from isocell.dag._render import DagOptions, TaskEnvironment, render_dag
from isocell.errors import ExportError

__all__ = ["ExportResult", "export_notebook"]

_WIRE = ("framing", "arrays", "restore", "frames", "source", "codec", "exchange")


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
    """

    dag_file: Path
    dag_id: str
    text: str
    files: tuple[Path, ...]
    tasks: tuple[str, ...]


def _dag_id(notebook: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", notebook.stem).strip("_") or "notebook"
    return name if not name[0].isdigit() else "nb_" + name


def _start_date(text: str | None) -> tuple[int, int, int]:
    if not text:
        return (2024, 1, 1)
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if not match:
        raise ExportError(None, None, f"--start-date takes YYYY-MM-DD, not {text!r}")
    return (int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _schedule(text: str | None) -> str | None:
    if text is None or text.lower() == "none":
        return None
    if text.startswith("@") or len(text.split()) in (5, 6):
        return text
    raise ExportError(
        None, None, f"--schedule takes a cron expression, @daily-style or none: {text!r}"
    )


def _environment(cell: NotebookCell, remote: bool) -> TaskEnvironment:
    if not cell.isolated:
        return TaskEnvironment()
    from isocell.envs import EnvRequest, EnvStore, resolve_environment
    from isocell.envs._lock import task_requirements

    request = EnvRequest.from_arguments(cell.options)
    environment = resolve_environment(request, EnvStore())
    minor = ".".join(environment.python_version.split(".")[:2])
    if environment.spec is None:
        label = environment.name or "py" + minor.replace(".", "")
        variable = "ASTRO_PYENV_" + re.sub(r"\W", "_", label)
        return TaskEnvironment(
            "external_python", minor, python=str(environment.python), variable=variable
        )
    spec = environment.spec
    urls = tuple(u for u in (spec.index_url, *spec.extra_index_urls) if u)
    # A remote data location is opened through fsspec, which the task's environment needs.
    extra = ("fsspec",) if remote else ()
    requirements = tuple(task_requirements(environment, extra))
    return TaskEnvironment("virtualenv", minor, requirements, index_urls=urls)


def _local_modules(cells: list[NotebookCell], folder: Path) -> list[Path]:
    found: set[Path] = set()
    for cell in cells:
        for node in ast.walk(ast.parse(cell.source)):
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


def _copy_runtime(target: Path) -> list[Path]:
    package = Path(__file__).parent
    wire = package.parent / "transfer" / "_wire"
    runtime = target / "isocell_runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    written = []
    sources = [(package / "runtime" / "__init__.py", "__init__.py")]
    sources += [(wire / f"{name}.py", f"{name}.py") for name in _WIRE]
    for source, name in sources:
        shutil.copyfile(source, runtime / name)
        written.append(runtime / name)
    return written


def _dockerfile(tasks: list[Task], environments: dict[str, TaskEnvironment]) -> str:
    lines = [
        "# Builds the environments of the exported DAG's @task.virtualenv tasks into the image.",
        "# Append to your Airflow image's Dockerfile; then each environment can run as",
        "# @task.external_python(python=os.environ['ASTRO_PYENV_<task>']).",
        "RUN pip install --no-cache-dir uv",
    ]
    for task in tasks:
        environment = environments[task.task_id]
        if environment.kind != "virtualenv":
            continue
        where = f"/opt/isocell/envs/{task.task_id}"
        lines += [
            f"COPY requirements/{task.task_id}.txt /opt/isocell/requirements/{task.task_id}.txt",
            f"RUN uv venv --python {environment.python_version} {where} && \\",
            f"    uv pip install --python {where}/bin/python "
            f"-r /opt/isocell/requirements/{task.task_id}.txt",
            f"ENV ASTRO_PYENV_{re.sub(r'[^A-Za-z0-9_]', '_', task.task_id)}={where}/bin/python",
        ]
    return "\n".join(lines) + "\n"


def export_notebook(
    notebook: str | Path,
    output: str | Path | None = None,
    *,
    dag_id: str | None = None,
    schedule: str | None = None,
    start_date: str | None = None,
    airflow: int = 3,
    data_dir: str | None = None,
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
        Where tasks keep the values they pass on: a local folder (default
        ``/tmp/isocell-data/<dag_id>``) or an fsspec URL such as ``s3://bucket/prefix``.

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
    if airflow not in (2, 3):
        raise ExportError(None, None, f"--airflow takes 3 or 2, not {airflow!r}")
    identifier = dag_id or _dag_id(path)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,250}", identifier):
        raise ExportError(None, None, f"invalid DAG id {identifier!r}")
    options_schedule, options_start = _schedule(schedule), _start_date(start_date)
    cells = read_cells(path)
    tasks = build_tasks(cells)
    if not tasks:
        raise ExportError(None, None, f"{path} has no cell that does work: nothing to export")
    location = data_dir or f"/tmp/isocell-data/{identifier}"
    remote = "://" in location
    environments = {task.task_id: _environment(task.cell, remote) for task in tasks}
    options = DagOptions(
        dag_id=identifier,
        notebook=path.name,
        schedule=options_schedule,
        start_date=options_start,
        airflow=airflow,
        data_dir=location,
        environments=environments,
    )
    text = render_dag(tasks, options)
    target = Path(output) if output else path.parent / "dags"
    dag_file = target if target.suffix == ".py" else target / f"{identifier}.py"
    folder = dag_file.parent
    folder.mkdir(parents=True, exist_ok=True)
    dag_file.write_text(text, encoding="utf-8")
    files = [dag_file, *_copy_runtime(folder)]
    # The runtime package is no DAG: keep Airflow's DAG processor out of it.
    ignore = folder / ".airflowignore"
    entries = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    if "isocell_runtime/" not in entries:
        ignore.write_text("\n".join([*entries, "isocell_runtime/"]) + "\n", encoding="utf-8")
    files.append(ignore)
    for module in _local_modules(cells, path.parent):
        destination = folder / module.name
        if module.is_dir():
            shutil.copytree(module, destination, dirs_exist_ok=True)
        else:
            shutil.copyfile(module, destination)
        files.append(destination)
    venv_tasks = [t for t in tasks if environments[t.task_id].kind == "virtualenv"]
    if venv_tasks:
        (folder / "requirements").mkdir(exist_ok=True)
        for task in venv_tasks:
            lock = folder / "requirements" / f"{task.task_id}.txt"
            lock.write_text("\n".join(environments[task.task_id].requirements) + "\n")
            files.append(lock)
        docker = folder / "Dockerfile.isocell"
        docker.write_text(_dockerfile(tasks, environments), encoding="utf-8")
        files.append(docker)
    return ExportResult(dag_file, identifier, text, tuple(files), tuple(t.task_id for t in tasks))
