"""``isocell export --target kubernetes`` (issue #16): each isolated cell a ``@task.kubernetes``
pod on an image per environment.

No cluster or container runtime runs here (the docker CLI has no daemon; no kind, minikube or
podman is installed). So each image's Dockerfile commands run outside a container, in a clean
folder standing for its ``/opt/isocell``, and the DAG runs under ``airflow dags test`` with the
cncf-kubernetes provider's own code up to the pod; only its call to a cluster is replaced by
``tests/pods_here``, which records the pod and runs its container command in that image's
environment.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from isocell.dag import export_notebook
from isocell.errors import ExportError
from tests.conftest import needs_py39
from tests.test_export import NOTEBOOKS, notebook, tasks_of
from tests.test_export_targets import run_dockerfile

HOST = sys.executable
SIX = f"--python {HOST} --req six==1.16.0"
DATA = "s3://bucket/prefix"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"namespace": "Team_A"}, "no Kubernetes namespace"),
        ({"registry": "Registry.example.com/x y"}, "no image registry prefix"),
        ({"resources": "cpu=lots"}, "NAME=QUANTITY pairs"),
        ({"resources": "memory=1Gi,,"}, "NAME=QUANTITY pairs"),
        ({"data_dir": None}, "needs --data-dir on storage every pod"),
        ({"target": "prebuilt", "namespace": "team"}, "--namespace applies to --target kubernetes"),
    ],
)
def test_bad_pod_options_are_refused_before_anything_is_written(
    isocell_home, tmp_path, kwargs, message
):
    path = notebook(tmp_path, "x = 1")
    options = {"target": "kubernetes", "data_dir": DATA, **kwargs}
    with pytest.raises(ExportError, match=message):
        export_notebook(path, tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_an_isolated_branch_or_an_interpreter_as_it_is_cannot_be_a_pod(isocell_home, tmp_path):
    branch = notebook(tmp_path, f"%%isolated {SIX} --branch a b\n'a'", "a = 1", "b = 2")
    with pytest.raises(ExportError, match="no branch decorator"):
        export_notebook(branch, tmp_path / "out", target="kubernetes", data_dir=DATA)
    as_is = notebook(tmp_path, f"%%isolated --python {HOST}\nx = 1")
    with pytest.raises(ExportError, match="which no image holds") as caught:
        export_notebook(as_is, tmp_path / "out", target="kubernetes", data_dir=DATA)
    assert caught.value.cell == 0


@pytest.mark.slow
def test_one_image_per_environment_tagged_by_what_it_holds(isocell_home, tmp_path):
    cells = (
        f"%%isolated {SIX}\nimport six\nfirst = six.__version__",
        "%%isolated --env podenv\nsecond = first",
        "plain = second",
    )
    from isocell.envs import EnvRequest, EnvStore, create

    request = EnvRequest(python=HOST, requirements=("six==1.16.0",))
    create("podenv", request, store=EnvStore(isocell_home))
    path = notebook(tmp_path, *cells)
    options = {
        "target": "kubernetes",
        "data_dir": DATA,
        "namespace": "data-team",
        "registry": "registry.example.com/team/",
        "resources": "cpu=500m, memory=1Gi",
    }
    result = export_notebook(path, tmp_path / "out", **options)
    folder = result.dag_file.parent
    text = result.text
    assert text.count("@task.kubernetes(") == 2 and "@task.virtualenv(" not in text
    assert 'NAMESPACE = "data-team"' in text
    assert 'requests={"cpu": "500m", "memory": "1Gi"}' in text
    images = sorted(p.name for p in (folder / "images").iterdir())
    assert images == ["podenv.Dockerfile"]
    docker = (folder / "images" / "podenv.Dockerfile").read_text()
    minor = "{}.{}".format(*sys.version_info[:2])
    assert f"\nFROM python:{minor}-slim\n" in docker
    assert "COPY isocell_runtime /opt/isocell/lib/isocell_runtime" in docker
    (name,) = {line.split('"')[1] for line in text.splitlines() if "image=" in line}
    assert name.startswith("registry.example.com/team/") and f"-t {name} ." in docker
    assert set(tasks_of(text)) == {"first", "second", "plain"}
    assert name.split(":")[0] == "registry.example.com/team/nb-podenv"
    # the same notebook gives the same image; another lock, another image and tag
    again = export_notebook(path, tmp_path / "again", **options)
    assert name in again.text
    changed = notebook(tmp_path, cells[0].replace("1.16.0", "1.15.0"), *cells[1:])
    other = export_notebook(changed, tmp_path / "other", **options)
    found = {line.split('"')[1] for line in other.text.splitlines() if "image=" in line}
    assert len(found) == 2 and name in found
    assert {n.split(":")[1] for n in found} != {name.split(":")[1]}


@pytest.mark.slow
@pytest.mark.airflow
@needs_py39
def test_the_pods_run_the_notebooks_cells_on_the_images_their_dockerfiles_make(
    isocell_home, tmp_path
):
    from tests import airflow_harness
    from tests.test_airflow_export import etl_demo_results

    if airflow_harness.airflow_venv(3) is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")
    notebook_results = etl_demo_results(tmp_path)
    data = (tmp_path / "data").as_uri()
    result = export_notebook(
        NOTEBOOKS / "etl_to_airflow.ipynb",
        tmp_path / "dags",
        data_dir=data,
        target="kubernetes",
        resources="cpu=1,memory=2Gi",
    )
    folder = result.dag_file.parent
    assert airflow_harness.import_errors(folder) == {}
    # each image: its Dockerfile's commands, the base image's Python being pyenv's
    pythons = airflow_harness.pyenv_pythons()
    images = {}
    for number, dockerfile in enumerate(sorted((folder / "images").iterdir())):
        root = tmp_path / f"image-{number}"
        text = dockerfile.read_text()
        minor = text.split("FROM python:")[1].split("-slim")[0]
        paths = {f"/usr/local/bin/python{minor}": str(pythons[minor])}
        made = run_dockerfile(folder, root, f"images/{dockerfile.name}", paths)
        (root / "image-env.json").write_text(json.dumps(made))
        images[text.split(" -t ")[1].split()[0]] = str(root)
    assert len(images) == 2
    key = secrets.token_hex(32)
    record = tmp_path / "pods"
    record.mkdir()
    pods = {"images": images, "secrets": {"isocell": {"ISOCELL_PAYLOAD_KEY": key}}}
    dag_results = tmp_path / "airflow.json"
    env = {
        "ISOCELL_RESULTS": str(dag_results),
        "ISOCELL_PAYLOAD_KEY": key,
        "ISOCELL_TEST_PODS": json.dumps({**pods, "record": str(record)}),
        "PYTHONPATH": str(Path(__file__).parent / "pods_here"),
    }
    outcome = airflow_harness.dags_test(folder, result.dag_id, env=env)
    assert outcome.returncode == 0, outcome.output[-5000:]
    print(f"kubernetes: airflow dags test {outcome.seconds:.1f} s, states {outcome.task_states}")
    assert json.loads(dag_results.read_text()) == json.loads(notebook_results.read_text())
    # the pods the provider made: the image, the secret, the resources, the script, no volume
    # but the XCom sidecar's
    for task_id in ("legacy_report", "scoring"):
        pod = json.loads((record / f"{task_id}.json").read_text())
        assert pod["metadata"]["namespace"] == "default"
        base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
        assert base["image"] in images and task_id.replace("_", "-") in pod["metadata"]["name"]
        assert base["envFrom"] == [{"secretRef": {"name": "isocell"}}]
        assert base["resources"] == {
            "limits": {"cpu": "1", "memory": "2Gi"},
            "requests": {"cpu": "1", "memory": "2Gi"},
        }
        assert base["command"][:2] == ["bash", "-cx"] and "/tmp/script.py" in base["command"][2]
        names = {item["name"] for item in base["env"]}
        assert names == {"__PYTHON_SCRIPT", "__PYTHON_INPUT"}, names
        assert [v["name"] for v in pod["spec"]["volumes"]] == ["xcom"]
        assert key not in json.dumps(pod)


@pytest.mark.slow
def test_the_command_takes_the_pod_options(isocell_home, tmp_path):
    path = notebook(tmp_path, f"%%isolated {SIX}\nx = 1")
    done = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "export", str(path), "-o", str(tmp_path / "o"),
         "--dag-id", "pods", "--target", "kubernetes", "--data-dir", DATA, "--namespace",
         "team", "--registry", "r.example.com", "--resources", "memory=1Gi"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "o" / "pods.py").read_text()
    assert 'NAMESPACE = "team"' in text and 'image="r.example.com/pods-x:' in text
    assert 'limits={"memory": "1Gi"}' in text


@pytest.mark.parametrize(
    ("url", "needed"),
    [
        ("s3://bucket/prefix", ("fsspec", "s3fs")),
        ("sftp://etl@files.example.com:22/isocell", ("fsspec", "paramiko")),
        ("simplecache::gs://bucket/x", ("fsspec", "gcsfs")),
        ("file:///srv/shared", ("fsspec",)),
    ],
)
def test_a_data_dir_brings_the_package_its_filesystem_needs(url, needed):
    from isocell.dag._storage import storage_requirements

    assert storage_requirements(url) == needed


def test_a_data_dir_of_an_unknown_protocol_is_refused(isocell_home, tmp_path):
    path = notebook(tmp_path, "x = 1")
    with pytest.raises(ExportError, match="fsspec knows no protocol 'nosuch'"):
        export_notebook(path, tmp_path / "out", data_dir="nosuch://x/y")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@needs_py39
def test_a_data_dir_package_takes_a_current_release_and_says_what_pin_it_moved(
    isocell_home, tmp_path
):
    # The scoring cell runs with python-dateutil 4.0.0, which botocore (under s3fs) refuses:
    # held to the cell's lock, s3fs could only be 0.2.0, from before fsspec. The lock is a
    # preference: s3fs matches fsspec, and the export says which pin moved.
    result = export_notebook(
        NOTEBOOKS / "etl_to_airflow.ipynb", tmp_path / "dags", data_dir="s3://bucket/etl"
    )
    folder = result.dag_file.parent / "requirements"
    for name in ("legacy_report", "scoring"):
        pins = dict(line.split("==") for line in (folder / f"{name}.txt").read_text().split())
        assert pins["s3fs"] == pins["fsspec"], (name, pins)
    (notice,) = [n for n in result.notices if "data location" in n]
    assert "scoring" in notice and "python-dateutil 4.0.0 → 2." in notice
