"""Run DAG files in a real Apache Airflow: cached Airflow environments, import checks, dag runs.

Airflow lives in its own virtual environment (it pulls ~250 packages and must not meet the dev
environment's pins), built once with uv and kept across test sessions in
``$ISOCELL_AIRFLOW_CACHE`` (default ``~/.cache/isocell-tests``) as ``airflow-<major>-<hash>``.
Airflow 3 runs DAGs for real; Airflow 2 is only used to check that a rendering imports.

Everything here talks to Airflow through subprocesses: its own interpreter, its own CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

#: What each Airflow environment is built from. No constraints file (only PyPI is reachable),
#: so the resolver picks the versions; pandas and pyarrow serve plain notebook cells, which run
#: in Airflow's own interpreter. Airflow 2.10's PythonVirtualenvOperator refuses to be built (so
#: a DAG using it fails to import) unless the ``virtualenv`` package is installed. uv in the
#: Airflow 3 environment puts ``uv`` on the PATH of Airflow's processes: virtualenv tasks use it.
#: The cncf-kubernetes provider imports the kubernetes target's DAGs; the celery provider,
#: psycopg2, asyncpg, paramiko and s3fs (fsspec's SFTP and S3) serve the multi-worker
#: deployment test.
REQUIREMENTS: dict[int, tuple[str, ...]] = {
    3: (
        "apache-airflow==3.3.*",
        "apache-airflow-providers-standard",
        "apache-airflow-providers-cncf-kubernetes",
        "apache-airflow-providers-celery",
        # celery 5.7 dropped celery.backends.database.retry, which the celery provider 3.26
        # imports (the scheduler fails to start with it)
        "celery<5.7",
        "psycopg2-binary",
        "asyncpg",
        "paramiko",
        "s3fs",
        "pandas>=3",
        "pyarrow",
        "uv",
    ),
    2: ("apache-airflow[virtualenv]==2.10.*",),
}
#: Distributions whose versions the marker file records (and ``installed_versions`` reports).
_REPORTED = (
    "apache-airflow",
    "apache-airflow-core",
    "apache-airflow-task-sdk",
    "apache-airflow-providers-standard",
    "apache-airflow-providers-cncf-kubernetes",
    "apache-airflow-providers-celery",
    "pandas",
    "pyarrow",
    "numpy",
    "sqlalchemy",
    "virtualenv",
    "uv",
)
_MARKER = "isocell-airflow.json"
_BUILD_TIMEOUT = 1800.0  # seconds: a cold resolve and download of ~250 packages
_failures: dict[int, str] = {}  # major -> why its environment could not be built (this process)


@dataclass
class DagBagView:
    """What Airflow's DagBag made of a DAG folder.

    Attributes
    ----------
    import_errors : dict[str, str]
        File path to error text (a traceback); empty when every file imports.
    dag_ids : list[str]
        The ids of the DAGs that loaded, sorted.
    """

    import_errors: dict[str, str]
    dag_ids: list[str]


@dataclass
class DagsTestResult:
    """What one ``airflow dags test`` run gave.

    Attributes
    ----------
    returncode : int
        The command's exit status: 0 when the DAG run succeeded, 1 when it failed.
    output : str
        Its stdout and stderr, interleaved (task logs included).
    seconds : float
        Wall time of ``airflow dags test`` alone (the database is prepared before).
    task_states : dict[str, str]
        Task id (``task_id[i]`` for a mapped task's instance i) to its final state, read from
        the run's database: ``"success"``, ``"failed"``, ``"upstream_failed"``, ...
    """

    returncode: int
    output: str
    seconds: float
    task_states: dict[str, str] = field(default_factory=dict)


def cache_root() -> Path:
    """Return the folder holding the cached Airflow environments.

    Returns
    -------
    Path
        ``$ISOCELL_AIRFLOW_CACHE`` if set, else ``~/.cache/isocell-tests``.
    """
    configured = os.environ.get("ISOCELL_AIRFLOW_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "isocell-tests"


def pyenv_pythons() -> dict[str, Path]:
    """Find the CPython interpreters installed by pyenv, newest patch release per minor version.

    pyenv's shims only serve its global version (``python3.9`` on PATH fails although 3.9 is
    installed), so its ``versions`` folder is read instead.

    Returns
    -------
    dict[str, Path]
        ``{"3.9": Path(".../versions/3.9.18/bin/python3.9"), ...}``.
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found: dict[str, tuple[tuple[int, ...], Path]] = {}
    for folder in root.glob("3.*"):
        parts = folder.name.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            continue  # skips pyenv's named environments and pre-releases
        minor = f"{parts[0]}.{parts[1]}"
        binary = folder / "bin" / f"python{minor}"
        key = tuple(int(p) for p in parts)
        if binary.exists() and (minor not in found or found[minor][0] < key):
            found[minor] = (key, binary)
    return {minor: path for minor, (_, path) in sorted(found.items())}


def _host_python() -> Path:
    """The interpreter Airflow is installed on: this one's base if it is 3.11+, else pyenv's."""
    if sys.version_info >= (3, 11):
        return Path(getattr(sys, "_base_executable", sys.executable))
    fallback = pyenv_pythons().get("3.11")
    if fallback is None:
        raise RuntimeError("Airflow 3 needs Python >= 3.11 and none was found")
    return fallback


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def airflow_venv(major: int = 3) -> Path | None:
    """Return the ``bin`` folder of a virtual environment with Airflow ``major`` installed.

    The environment is built once, into a temporary folder renamed into place on success, under
    a file lock so that parallel test processes build it once. Its folder is named after a hash
    of its requirements and interpreter, ``airflow-3-<hash>``: a change of requirements builds a
    new one beside it, never under a process still running the old one.

    Parameters
    ----------
    major : int
        3 (``apache-airflow==3.3.*`` with providers-standard, pandas, pyarrow and uv) or 2
        (``apache-airflow==2.10.*`` with virtualenv, for import checks).

    Returns
    -------
    Path or None
        The environment's ``bin`` folder, or None if it cannot be built; then
        ``build_failure(major)`` says why (callers skip with that reason).
    """
    from filelock import FileLock

    if major in _failures:
        return None
    target = _environment(major)
    if not (target / _MARKER).exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{target}.lock"):
            if not (target / _MARKER).exists():  # else built by another process meanwhile
                try:
                    _build(target, major)
                except (OSError, RuntimeError, subprocess.SubprocessError) as error:
                    _failures[major] = f"cannot build the Airflow {major} environment: {error}"
                    return None
    return target / "bin"


def build_failure(major: int = 3) -> str:
    """Say why ``airflow_venv(major)`` returned None in this process ("" if it did not)."""
    return _failures.get(major, "")


def installed_versions(major: int = 3) -> dict[str, str]:
    """Return the versions recorded in the marker of the cached Airflow ``major`` environment.

    Returns
    -------
    dict[str, str]
        Distribution name to version, plus ``"python"`` and ``"build_seconds"``; empty when the
        environment has not been built.
    """
    marker = _environment(major) / _MARKER
    return json.loads(marker.read_text())["versions"] if marker.exists() else {}


def _environment(major: int) -> Path:
    recipe = json.dumps([REQUIREMENTS[major], str(_host_python())]).encode()
    return cache_root() / f"airflow-{major}-{hashlib.sha256(recipe).hexdigest()[:10]}"


def _build(target: Path, major: int) -> None:
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.building-", dir=target.parent))
    try:
        # --relocatable: entry points (bin/airflow) must survive the rename below.
        python = staging / "bin" / "python"
        base = str(_host_python())
        _run([_uv(), "venv", "--quiet", "--relocatable", "--python", base, str(staging)])
        _run([_uv(), "pip", "install", "--python", str(python), *REQUIREMENTS[major]])
        versions = json.loads(_run([str(python), "-c", _VERSIONS_SCRIPT, *_REPORTED]))
        versions["build_seconds"] = round(time.monotonic() - started, 1)
        marker = {"requirements": list(REQUIREMENTS[major]), "versions": versions}
        (staging / _MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_VERSIONS_SCRIPT = """
import json, sys
from importlib.metadata import PackageNotFoundError, version
found = {"python": sys.version.split()[0]}
for name in sys.argv[1:]:
    try:
        found[name] = version(name)
    except PackageNotFoundError:
        pass
print(json.dumps(found))
"""


def _run(
    argv: list[str], env: dict[str, str] | None = None, timeout: float = _BUILD_TIMEOUT
) -> str:
    """Run ``argv``; return its stdout, or raise RuntimeError carrying its output on failure."""
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(argv[0]).name} {' '.join(argv[1:3])} exited {done.returncode}:\n"
            f"{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    return done.stdout


def import_errors(
    dag_folder: Path, major: int = 3, *, env: dict[str, str] | None = None
) -> dict[str, str]:
    """Parse ``dag_folder`` with Airflow ``major``'s DagBag and return its import errors.

    No database is used: the DagBag only imports the files, as Airflow's DAG processor does.

    Parameters
    ----------
    dag_folder : Path
        The folder of DAG files (Airflow's safe mode skips files lacking "airflow" and "dag").
    major : int
        3 or 2.
    env : dict[str, str], optional
        Extra environment variables for the parsing process (read by DAG files at parse time).

    Returns
    -------
    dict[str, str]
        File path to error text (a traceback); ``{}`` when every file imports.

    Raises
    ------
    RuntimeError
        If the Airflow environment cannot be built, or the parsing process itself fails.
    """
    return parse_dags(dag_folder, major, env=env).import_errors


def parse_dags(
    dag_folder: Path, major: int = 3, *, env: dict[str, str] | None = None
) -> DagBagView:
    """Parse ``dag_folder`` with Airflow ``major``'s DagBag: see ``import_errors``.

    Returns
    -------
    DagBagView
        The import errors and the ids of the DAGs that loaded.
    """
    bin_dir = _require(major)
    with tempfile.TemporaryDirectory(prefix="airflow-parse-") as tmp:
        home = Path(tmp)
        answer = home / "dagbag.json"
        folder = str(Path(dag_folder).resolve())
        argv = [str(bin_dir / "python"), "-c", _DAGBAG_SCRIPT, folder, str(answer)]
        _run(argv, env={**_airflow_env(home, dag_folder, bin_dir), **(env or {})}, timeout=300)
        return DagBagView(**json.loads(answer.read_text()))


# Airflow 3 moved DagBag to airflow.dag_processing.dagbag and dropped include_examples (examples
# are a bundle of their own there); Airflow 2 has it in airflow.models and loads examples unless
# told not to.
_DAGBAG_SCRIPT = """
import inspect, json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
options = {"dag_folder": sys.argv[1]}
if "include_examples" in inspect.signature(DagBag).parameters:
    options["include_examples"] = False
bag = DagBag(**options)
errors = {str(path): str(error) for path, error in bag.import_errors.items()}
with open(sys.argv[2], "w") as answer:
    json.dump({"import_errors": errors, "dag_ids": sorted(bag.dag_ids)}, answer)
"""


def dags_test(
    dag_folder: Path,
    dag_id: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    logical_date: str | None = None,
    conf: dict[str, object] | None = None,
    setup: Sequence[Sequence[str]] = (),
) -> DagsTestResult:
    """Run one DAG run of ``dag_id`` with ``airflow dags test`` in Airflow 3.

    Each call gets a fresh ``AIRFLOW_HOME`` holding a copy of a migrated SQLite database (made
    once per Airflow environment by ``airflow db migrate``). Tasks run inside the ``dags test``
    process (no executor, no API server, no execution API URL to set); isolated tasks start
    their own interpreters. ``PATH`` leads with Airflow's ``bin`` (which holds ``uv``: Airflow 3.3
    builds ``@task.virtualenv`` environments with uv when ``uv`` is on PATH), then pyenv's version
    folders (``python_version="3.9"`` is looked up as ``python3.9`` on PATH).

    Parameters
    ----------
    dag_folder : Path
        Becomes ``AIRFLOW__CORE__DAGS_FOLDER`` (``dags test`` only finds DAGs there).
    dag_id : str
        The DAG to run.
    env : dict[str, str], optional
        Extra environment variables for Airflow and, through inheritance, for its tasks.
    timeout : float
        Seconds before the run (and every process it started) is killed.
    logical_date : str, optional
        The run's logical date (``airflow dags test DAG_ID DATE``); default: now.
    conf : dict, optional
        The run's conf (``-c JSON``).
    setup : sequence of argument lists
        ``airflow`` commands run first in the same ``AIRFLOW_HOME``, e.g. ``["variables",
        "set", "region", "north"]`` or ``["connections", "add", "db", "--conn-uri", URI]``;
        one that fails raises ``subprocess.CalledProcessError``.

    Returns
    -------
    DagsTestResult

    Raises
    ------
    RuntimeError
        If the Airflow environment or its database template cannot be made.
    subprocess.TimeoutExpired
        If the run takes longer than ``timeout``; its ``output`` holds the log so far.
    """
    bin_dir = _require(3)
    database = _migrated_database(bin_dir)
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as tmp:
        home = Path(tmp)
        shutil.copyfile(database, home / "airflow.db")
        run_env = {**_airflow_env(home, dag_folder, bin_dir), **(env or {})}
        for arguments in setup:
            subprocess.run(
                [str(bin_dir / "airflow"), *arguments],
                env=run_env,
                cwd=home,
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
        started = time.monotonic()
        # A session of its own, so that a timeout kills the virtualenv tasks' children too.
        command = [str(bin_dir / "airflow"), "dags", "test", dag_id]
        if logical_date is not None:
            command.append(logical_date)
        if conf is not None:
            command += ["-c", json.dumps(conf)]
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=run_env,
            cwd=home,  # uv, run by virtualenv tasks, would read a pyproject.toml found in the cwd
            start_new_session=True,
        ) as process:
            try:
                output, _ = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                output, _ = process.communicate()
                raise subprocess.TimeoutExpired(process.args, timeout, output=output) from None
        seconds = time.monotonic() - started
        states = _task_states(home / "airflow.db", dag_id)
    return DagsTestResult(process.returncode, output, round(seconds, 2), states)


def _require(major: int) -> Path:
    bin_dir = airflow_venv(major)
    if bin_dir is None:
        raise RuntimeError(build_failure(major))
    return bin_dir


_NOT_INHERITED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")


def _airflow_env(home: Path, dag_folder: Path, bin_dir: Path) -> dict[str, str]:
    """The environment of an Airflow process: this one's, less Airflow and Python settings."""
    # pyenv's version folders go before its shims, which fail for all but the global version.
    # Not symlinks in a temporary folder: a cached task environment points at its interpreter.
    interpreters = [str(python.parent) for python in pyenv_pythons().values()]
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AIRFLOW") and name not in _NOT_INHERITED
    }
    return {
        **inherited,
        "PATH": os.pathsep.join([str(bin_dir), *interpreters, inherited.get("PATH", "")]),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(Path(dag_folder).resolve()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # The exported runtime's default data folder and payload key: in this run's home, not
        # the user's.
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }


def _migrated_database(bin_dir: Path) -> Path:
    """A SQLite database migrated by ``airflow db migrate``, made once per Airflow environment."""
    from filelock import FileLock

    template = bin_dir.parent / "db-template" / "airflow.db"
    with FileLock(str(template.parent) + ".lock"):
        if not template.exists():
            template.parent.mkdir(exist_ok=True)
            # Migrated beside the template, so that the move below stays on one file system.
            with tempfile.TemporaryDirectory(prefix="migrate-", dir=bin_dir.parent) as tmp:
                home = Path(tmp)
                _run(
                    [str(bin_dir / "airflow"), "db", "migrate"],
                    env=_airflow_env(home, home, bin_dir),
                    timeout=300,
                )
                os.replace(home / "airflow.db", template)
    return template


def _task_states(database: Path, dag_id: str) -> dict[str, str]:
    if not database.exists():
        return {}
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ?", (dag_id,)
        ).fetchall()
    return {
        task if index < 0 else f"{task}[{index}]": state or "none" for task, index, state in rows
    }
