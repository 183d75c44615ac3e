"""A real multi-worker Airflow 3 on this machine, for the deployment test (marker ``deploy``).

The servers come from Debian's packages, started and stopped here: PostgreSQL (Airflow's
metadata database and Celery's result backend), Redis (Celery's broker) and OpenSSH's SFTP
server on 127.0.0.1 (the tasks' data location, an fsspec ``sftp://`` URL). Airflow 3's DAG
processor, scheduler and API server run from the Airflow environment of
:mod:`tests.airflow_harness`, with the CeleryExecutor and two Celery workers, each with its own
home (so its own ``~/.ssh`` key, uv cache and ``@task.virtualenv`` cache), temporary folder and
log folder, as two machines would have. Every process is stopped, whatever happens.

Each worker names itself through Airflow's ``[core] hostname_callable`` (``worker_name`` on its
``PYTHONPATH``), so the task instances say which worker ran them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests import airflow_harness

#: The Debian packages the servers come from, by the program each provides.
PROGRAMS = {
    "postgres": ("/usr/lib/postgresql/15/bin/postgres", "postgresql"),
    "redis-server": ("/usr/bin/redis-server", "redis-server"),
    "sshd": ("/usr/sbin/sshd", "openssh-server"),
}


def missing_programs() -> list[str]:
    """The Debian packages whose programs are missing here (PostgreSQL of any version)."""
    missing = []
    for name, (path, package) in PROGRAMS.items():
        found = Path(path).exists() if name != "postgres" else bool(_postgres_bin())
        if not found:
            missing.append(package)
    return missing


def _postgres_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return versions[-1].parent if versions else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check, what: str, timeout: float = 120.0, every: float = 0.5):  # type: ignore[no-untyped-def]
    """Call ``check`` until it returns a true value (returned); RuntimeError after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


class Processes:
    """Processes started in sessions of their own, each logging to a file; all stopped
    (SIGTERM, then SIGKILL) on :meth:`stop_all`, the last started first."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], **options: object) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **options
        )
        log.close()
        self.started.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.started:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: {self.tail(name)}")

    def tail(self, name: str, size: int = 4000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def stop_all(self) -> None:
        for _name, process in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process in reversed(self.started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the package's ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def start_postgres(processes: Processes, folder: Path) -> str:
    """Initialise a cluster in ``folder`` (owned by the server's user) and start it on a free
    port of 127.0.0.1; returns the database URL of its ``airflow`` database (SQLAlchemy's
    psycopg2 form)."""
    bin_dir = _postgres_bin()
    assert bin_dir is not None
    data = folder / "pgdata"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "airflow", "-A", "trust"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    processes.start(
        "postgres",
        _as_postgres(
            [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder),
             "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
        ),
    )  # fmt: skip
    wait_for(lambda: _port_open(port), "PostgreSQL")
    wait_for(
        lambda: subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "airflow",
             "airflow"], capture_output=True, timeout=30,
        ).returncode == 0,
        "PostgreSQL's createdb",
    )  # fmt: skip
    return f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"


def start_redis(processes: Processes, folder: Path) -> str:
    """Redis on a free port of 127.0.0.1, no persistence; returns its URL."""
    port = free_port()
    processes.start(
        "redis",
        ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
    )  # fmt: skip
    wait_for(lambda: _port_open(port), "Redis")
    return f"redis://127.0.0.1:{port}/0"


def start_sftp(processes: Processes, folder: Path) -> tuple[int, Path]:
    """OpenSSH's server on a free port of 127.0.0.1 with a host key of its own, accepting one
    new client key (returned, its private half) for the user running the tests, and SFTP."""
    folder.mkdir(mode=0o700)
    for key in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)],
            check=True, timeout=60,
        )  # fmt: skip
    shutil.copyfile(folder / "client_key.pub", folder / "authorized_keys")
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n"
        # The keys file is in pytest's private (0700) folder, but under /tmp, whose mode sshd's
        # strict checks refuse for any file of a login.
        "StrictModes no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # its privilege separation folder
    processes.start("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)])
    wait_for(lambda: _port_open(port), "sshd")
    return port, folder / "client_key"


def start_s3(processes: Processes, bucket: str) -> tuple[str, dict[str, str]]:
    """moto's S3-compatible server on a free port of 127.0.0.1 with an empty ``bucket``;
    returns its endpoint and the credentials a client needs (as environment variables). The
    endpoint reaches each worker's tasks through its fsspec configuration (see
    :func:`deployment`): botocore before 1.31 reads no endpoint from the environment."""
    import sys

    port = free_port()
    server = Path(sys.executable).with_name("moto_server")
    processes.start("s3", [str(server), "-H", "127.0.0.1", "-p", str(port)])
    wait_for(lambda: _port_open(port), "the S3 server")
    endpoint = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"), timeout=30)
    env = {
        "AWS_ACCESS_KEY_ID": "isocell-test",
        "AWS_SECRET_ACCESS_KEY": secrets.token_hex(16),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return endpoint, env


@dataclass
class Deployment:
    """The running deployment: where its API is, and how to reach it."""

    api: str
    processes: Processes
    token: str = ""
    workers: dict[str, Path] = field(default_factory=dict)

    def request(self, method: str, path: str, body: object = None) -> dict:  # type: ignore[type-arg]
        """One call of Airflow's REST API (``/api/v2``), as JSON."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.api}/api/v2{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read())

    def run_dag(self, dag_id: str, timeout: float = 1200) -> tuple[str, float, dict[str, str]]:
        """Trigger ``dag_id`` through the REST API and poll it to its end: the run's state, its
        seconds from trigger to end, and each task's worker."""
        started = time.monotonic()
        run = self.request("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})
        path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}"

        def finished() -> str | None:
            self.processes.check_alive()
            state = self.request("GET", path)["state"]
            return state if state in ("success", "failed") else None

        state = wait_for(finished, f"the run of {dag_id}", timeout=timeout, every=2)
        seconds = time.monotonic() - started
        instances = self.request("GET", f"{path}/taskInstances")["task_instances"]
        hosts = {item["task_id"]: item.get("hostname") or "" for item in instances}
        return state, seconds, hosts


@contextlib.contextmanager
def deployment(
    dag_folder: Path,
    root: Path,
    extra_env: dict[str, str],
    fsspec: dict | None = None,  # type: ignore[type-arg]
) -> Iterator[Deployment]:
    """Start the servers and Airflow with two Celery workers on ``dag_folder``, everything
    under ``root``; yields the :class:`Deployment`, then stops every process.

    ``extra_env`` goes to every Airflow process (the payload key, ISOCELL_RESULTS); each
    worker also gets its own ``HOME`` (with the SFTP client key as ``~/.ssh/id_ed25519``, and
    ``fsspec`` as its fsspec configuration, ``~/.config/fsspec/conf.json``) and ``TMPDIR``.
    """
    bin_dir = airflow_harness.airflow_venv(3)
    assert bin_dir is not None, airflow_harness.build_failure(3)
    logs = root / "logs"
    logs.mkdir(parents=True)
    processes = Processes(logs)
    database_folder = Path(tempfile.mkdtemp(prefix="isocell-pg-"))  # private, random
    try:
        database = start_postgres(processes, database_folder)
        broker = start_redis(processes, root)
        yield from _airflow(
            bin_dir, dag_folder, root, processes, database, broker, extra_env, fsspec or {}
        )
    finally:
        processes.stop_all()
        shutil.rmtree(database_folder, ignore_errors=True)


def _airflow(bin_dir, dag_folder, root, processes, database, broker, extra_env, fsspec):  # type: ignore[no-untyped-def]
    api_port = free_port()
    home = root / "airflow-home"
    home.mkdir()
    common = {
        **airflow_harness._airflow_env(home, dag_folder, bin_dir),
        **extra_env,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "isocell:admin",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    }
    airflow = str(bin_dir / "airflow")
    migrated = subprocess.run(
        [airflow, "db", "migrate"], env=common, cwd=home, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    if migrated.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed: {migrated.stderr[-4000:]}")
    for name in ("api-server", "scheduler", "dag-processor"):
        argv = [airflow, name, *(["--port", str(api_port)] if name == "api-server" else [])]
        processes.start(name, argv, env=common, cwd=home)
    workers = {}
    for number in (1, 2):
        name = f"worker{number}"
        own = root / name
        workers[name] = own
        env = _worker_env(common, own, name, root / "sftp" / "client_key")
        if fsspec:
            (own / "home" / ".config" / "fsspec").mkdir(parents=True)
            (own / "home" / ".config" / "fsspec" / "conf.json").write_text(json.dumps(fsspec))
        processes.start(name, [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h"],
                        env=env, cwd=own)  # fmt: skip
    api = f"http://127.0.0.1:{api_port}"
    wait_for(lambda: _port_open(api_port) and _health(api), "the API server", timeout=180)
    deployed = Deployment(api, processes, _token(api, home), workers)
    yield deployed


def _worker_env(common: dict[str, str], own: Path, name: str, key: Path) -> dict[str, str]:
    """A worker's environment: a machine of its own (home, temporary folder, logs, caches)."""
    for folder in ("home/.ssh", "tmp", "logs", "lib"):
        (own / folder).mkdir(parents=True, mode=0o700)
    if key.exists():  # the SFTP server's client key, as each machine would hold it
        shutil.copyfile(key, own / "home" / ".ssh" / "id_ed25519")
        os.chmod(own / "home" / ".ssh" / "id_ed25519", 0o600)
    (own / "lib" / "worker_name.py").write_text(
        "import os\n\n\ndef hostname():\n    return os.environ['ISOCELL_WORKER']\n"
    )
    # nothing of this machine's own: no shared data folder, key file or virtualenv cache
    private = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "ISOCELL_VENV_CACHE")
    inherited = {k: v for k, v in common.items() if k not in private and k != "ISOCELL_DATA_DIR"}
    return {
        **inherited,
        "HOME": str(own / "home"),
        "TMPDIR": str(own / "tmp"),
        "UV_CACHE_DIR": str(own / "home" / ".cache" / "uv"),
        "ISOCELL_WORKER": name,
        "PYTHONPATH": str(own / "lib"),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_name.hostname",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(own / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
    }


def _health(api: str) -> bool:
    with contextlib.suppress(OSError, ValueError):
        with urllib.request.urlopen(f"{api}/api/v2/monitor/health", timeout=5) as reply:
            return reply.status == 200
    return False


def _token(api: str, home: Path) -> str:
    """A JWT for the simple auth manager's user ``isocell``, whose password the API server
    generated into its home."""
    passwords = home / "simple_auth_manager_passwords.json.generated"
    password = wait_for(
        lambda: passwords.exists() and json.loads(passwords.read_text()).get("isocell"),
        "the API server's generated password",
    )
    request = urllib.request.Request(
        f"{api}/auth/token",
        data=json.dumps({"username": "isocell", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return str(json.loads(reply.read())["access_token"])
