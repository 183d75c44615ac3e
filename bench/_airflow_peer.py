"""Airflow's own paths, timed from inside Airflow 3's interpreter (run as a script there).

    <airflow python> _airflow_peer.py build VENV_DIR PYTHON_BIN REQUIREMENTS_FILE
    <airflow python> _airflow_peer.py roundtrip VENV_CACHE PYTHON_VERSION RUNS

``build`` calls ``prepare_virtualenv`` exactly as ``PythonVirtualenvOperator._prepare_venv``
does (providers-standard 1.21: requirements file inside the venv folder, no pip options, no
index URLs) and prints the seconds it took. Whether uv or venv + pip builds is Airflow's own
choice (``[standard] venv_install_method``, ``auto``: uv when ``uv`` is on PATH).

``roundtrip`` runs a trivial callable (``x + 1``: one input, one output) through
``PythonVirtualenvOperator.execute_callable`` with ``venv_cache_path``: after the first call
has built the cached venv, each call checks the cache, renders the script, pickles the
argument, starts the venv's interpreter and reads the pickled result, as a task does. It
prints the wall time of each call in milliseconds (JSON list). The worker's own start-up and
the task runner around it are not included: this is the floor of Airflow's path.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def trivial(x):
    return x + 1


def build(venv_dir: str, python_bin: str, requirements_file: str) -> None:
    from airflow.providers.standard.utils.python_virtualenv import prepare_virtualenv

    target = Path(venv_dir)
    target.mkdir(parents=True)
    requirements = target / "requirements.txt"
    requirements.write_text(Path(requirements_file).read_text())
    started = time.perf_counter()
    prepare_virtualenv(
        venv_directory=str(target),
        python_bin=python_bin,
        system_site_packages=False,
        requirements_file_path=str(requirements),
        pip_install_options=[],
        index_urls=None,
    )
    print(json.dumps(time.perf_counter() - started))


def roundtrip(venv_cache: str, python_version: str, runs: int) -> None:
    import logging

    from airflow.providers.standard.operators.python import PythonVirtualenvOperator
    from airflow.sdk import DAG

    logging.disable(logging.CRITICAL)  # the task log would go to stderr on every call
    with DAG("isocell_bench", schedule=None):
        operator = PythonVirtualenvOperator(
            task_id="trivial",
            python_callable=trivial,
            op_args=[1],
            python_version=python_version or None,
            requirements=[],
            system_site_packages=False,
            venv_cache_path=venv_cache,
        )
    operator._bundle_path = None  # set by execute() from the task's context
    assert operator.execute_callable() == 2  # builds the cached venv: not measured
    times = []
    for value in range(runs):
        operator.op_args = [value]
        started = time.perf_counter()
        result = operator.execute_callable()
        times.append((time.perf_counter() - started) * 1000)
        assert result == value + 1, result
    print(json.dumps(times))


if __name__ == "__main__":
    verb, *arguments = sys.argv[1:]
    if verb == "build":
        build(*arguments)
    elif verb == "roundtrip":
        roundtrip(arguments[0], arguments[1], int(arguments[2]))
    else:
        raise SystemExit(f"unknown verb {verb!r}")
