"""The exported ETL demo on a real multi-worker Airflow 3 (issue #16; marker ``deploy``).

PostgreSQL, Redis and OpenSSH's SFTP server from Debian's packages; Airflow's DAG processor,
scheduler and API server; the CeleryExecutor with two Celery workers, each a machine of its own
(home, temporary folder, uv and virtualenv caches): see :mod:`tests.deploy_harness`. The DAG's
values travel through ``--data-dir``, which both workers reach the same way: OpenSSH's SFTP
server (``sftp://``) or moto's S3-compatible server (``s3://``). The run is triggered through
Airflow's REST API and polled to its end, twice (cold, then with the workers' cached
environments), and its results must equal the notebook's.
"""

from __future__ import annotations

import getpass
import json
import re
import secrets
import urllib.request

import pytest

from isocell.dag import export_notebook
from tests import airflow_harness, deploy_harness
from tests.conftest import needs_py39
from tests.test_export import NOTEBOOKS

pytestmark = [pytest.mark.deploy, pytest.mark.airflow, pytest.mark.slow]


@needs_py39
@pytest.mark.parametrize("storage", ["sftp", "s3"])
def test_the_etl_demo_runs_on_two_celery_workers(isocell_home, tmp_path, storage):
    from tests.test_airflow_export import etl_demo_results

    missing = deploy_harness.missing_programs()
    if missing:
        pytest.skip(f"needs Debian's {', '.join(missing)} (dev.sh test installs them as root)")
    if airflow_harness.airflow_venv(3) is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")
    notebook_results = etl_demo_results(tmp_path)
    root = tmp_path / "deploy"
    root.mkdir()
    (root / "server-logs").mkdir()
    processes = deploy_harness.Processes(root / "server-logs")
    try:
        data_dir, env, fsspec, stored = _data_location(storage, processes, root)
        result = export_notebook(
            NOTEBOOKS / "etl_to_airflow.ipynb", root / "dags", data_dir=data_dir
        )
        package = {"sftp": "paramiko", "s3": "s3fs"}[storage]
        assert f"{package}==" in (root / "dags" / "requirements" / "scoring.txt").read_text()
        dag_results = root / "airflow.json"
        env["ISOCELL_PAYLOAD_KEY"] = secrets.token_hex(32)
        env["ISOCELL_RESULTS"] = str(dag_results)
        timings = []
        used: dict[str, set[str]] = {}
        with deploy_harness.deployment(root / "dags", root, env, fsspec) as deployed:
            deploy_harness.wait_for(
                lambda: _parsed(deployed, result.dag_id), "the DAG's parse", timeout=300, every=2
            )
            for attempt in ("cold", "warm"):
                dag_results.unlink(missing_ok=True)
                state, seconds, hosts = deployed.run_dag(result.dag_id)
                assert state == "success", (hosts, _worker_logs(deployed))
                timings.append(seconds)
                print(f"deploy ({storage}) {attempt} run: {seconds:.1f} s, workers {hosts}")
                assert set(hosts.values()) <= {"worker1", "worker2"}, hosts
                for task_id, worker in hosts.items():
                    used.setdefault(worker, set()).add(task_id)
                assert json.loads(dag_results.read_text()) == json.loads(
                    notebook_results.read_text()
                )
        # both workers ran tasks, each building the environments of its isolated tasks in its
        # own cache; the values went through the data location's server
        assert set(used) == {"worker1", "worker2"}, used
        for worker, task_ids in used.items():
            cache = root / worker / "home" / ".cache" / "isocell" / "airflow-venvs"
            isolated = task_ids & {"legacy_report", "scoring"}
            assert len(list(cache.iterdir()) if cache.exists() else []) >= len(isolated), worker
        assert any(name.startswith("legacy_report-") for name in stored())
        print(f"deploy ({storage}) timings: cold {timings[0]:.1f} s, warm {timings[1]:.1f} s")
    finally:
        processes.stop_all()


def _data_location(storage, processes, root):  # type: ignore[no-untyped-def]
    """The ``--data-dir`` URL on a server started here, the workers' environment and fsspec
    configuration for it, and a function listing the names stored there."""
    if storage == "sftp":
        port, _key = deploy_harness.start_sftp(processes, root / "sftp")
        store = root / "sftp-data"
        store.mkdir()
        url = f"sftp://{getpass.getuser()}@127.0.0.1:{port}{store}"
        return url, {}, {}, lambda: [path.name for path in store.iterdir()]
    endpoint, env = deploy_harness.start_s3(processes, "isocell")

    def listed() -> list[str]:
        with urllib.request.urlopen(f"{endpoint}/isocell?list-type=2", timeout=30) as reply:
            text = reply.read().decode()
        return [key.rsplit("/", 1)[-1] for key in re.findall(r"<Key>([^<]+)</Key>", text)]

    fsspec = {"s3": {"client_kwargs": {"endpoint_url": endpoint}}}
    return "s3://isocell/etl", env, fsspec, listed


def _parsed(deployed: deploy_harness.Deployment, dag_id: str) -> bool:
    deployed.processes.check_alive()
    try:
        return deployed.request("GET", f"/dags/{dag_id}").get("dag_id") == dag_id
    except OSError:
        return False


def _worker_logs(deployed: deploy_harness.Deployment) -> str:
    texts = []
    for name, folder in deployed.workers.items():
        for path in sorted((folder / "logs").rglob("*.log"))[-6:]:
            texts.append(f"--- {name} {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        texts.append(deployed.processes.tail(name, 3000))
    return "\n".join(texts)
