"""Environment builds and cached reuse: isocell against Airflow 3's own preparation and pip.

Two specs: ``pandas==1.4.4`` on Python 3.9 (the classic pinned task) and ``pandas`` +
``pyarrow`` on the notebook's Python. Each is built from nothing into a new folder, with a
warm package cache (every tool's cache filled by an unmeasured first build) and with a cold one
(new, empty cache folders for every run of every tool: uv's ``UV_CACHE_DIR``, pip's
``PIP_CACHE_DIR``, virtualenv's app-data; until 2026-12-05 a cold run's peers shared the uv
cache isocell's build had just filled, so Airflow-with-uv's cold figures downloaded nothing).

* isocell: ``resolve_environment`` into its store (the environment removed between warm runs;
  a new ``ISOCELL_HOME`` for every cold run, so the release-date look-up is cold too). It
  resolves the user's requirements under the cut-off and installs them, nothing more: the
  child kernel's packages are in the kernel layer of the interpreter, built once per Python
  and shared (``isocell.envs._kernel_layer``), so a cold run's new home gets a copy of the
  layer the first build made; the layer's own cold build is its own row, timed once.
* Airflow 3: ``prepare_virtualenv`` called as ``PythonVirtualenvOperator._prepare_venv`` calls
  it, inside Airflow's own interpreter (``_airflow_peer.py``); with ``[standard]
  venv_install_method`` left at ``auto`` (uv, which the Airflow environment has on PATH) and
  set to ``pip`` (venv + pip, Airflow's path where uv is absent).
* ``virtualenv`` + ``pip install``: the hand-made environment.

The peers install the requirement list isocell's export writes into the DAG (isocell's own
lock: every package pinned), so that all of them end with the same working pandas, the very
packages isocell's environment holds (the package counts are in the table).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench._common import ROOT, Figure, Samples, progress


@dataclass(frozen=True)
class Case:
    """One spec to build: a label, the interpreter and the requirements as the user writes them."""

    label: str
    python: str | None  # a version for isocell, None for the notebook's Python
    requirements: tuple[str, ...]


CASES = (
    Case("pandas==1.4.4 on Python 3.9", "3.9", ("pandas==1.4.4",)),
    Case("pandas + pyarrow on the notebook's Python", None, ("pandas", "pyarrow")),
)


def _airflow() -> tuple[Path, dict[str, str]] | None:
    """Airflow 3's interpreter and the environment its processes run with, or None."""
    sys.path.insert(0, str(ROOT))
    from tests import airflow_harness

    bin_dir = airflow_harness.airflow_venv(3)
    if bin_dir is None:
        progress(f"no Airflow 3: {airflow_harness.build_failure(3)}")
        return None
    interpreters = [str(p.parent) for p in airflow_harness.pyenv_pythons().values()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join([str(bin_dir), *interpreters, env.get("PATH", "")])
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    return bin_dir / "python", env


def _python_binary(case: Case) -> str:
    from isocell.envs import find_interpreter

    if case.python is None:
        return getattr(sys, "_base_executable", sys.executable)
    return find_interpreter(case.python).path


class _Cold:
    """Fresh cache folders for one cold run, as environment variables."""

    def __init__(self, root: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cold-", dir=root))

    def env(self) -> dict[str, str]:
        return {
            "UV_CACHE_DIR": str(self.root / "uv"),
            "PIP_CACHE_DIR": str(self.root / "pip"),
            "VIRTUALENV_OVERRIDE_APP_DATA": str(self.root / "virtualenv"),
        }

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _isocell_build(
    case: Case, home: Path, extra_variables: dict[str, str], layer_only: bool = False
) -> tuple[float, list[str]]:
    """Build ``case`` with isocell in this process; (seconds, the environment's own lock).
    With ``layer_only``, the kernel layer of its interpreter alone: (seconds, [])."""
    from isocell.envs import EnvRequest, EnvStore, resolve_environment, spec_for

    # The store's home is ISOCELL_HOME too, so a cold run's release-date look-up (whose cache
    # is in $ISOCELL_HOME/cache) is cold as well.
    extra_variables = {**extra_variables, "ISOCELL_HOME": str(home)}
    saved = {name: os.environ.get(name) for name in extra_variables}
    os.environ.update(extra_variables)
    try:
        store = EnvStore(home)
        request = EnvRequest(python=case.python, requirements=case.requirements)
        spec = spec_for(request)
        if layer_only:
            store.remove(spec.layer_spec())
            started = time.perf_counter()
            store.ensure(spec.layer_spec())
            return time.perf_counter() - started, []
        store.remove(spec)
        started = time.perf_counter()
        environment = resolve_environment(request, store)
        seconds = time.perf_counter() - started
        return seconds, (environment.path / "requirements.own.txt").read_text().split()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def _airflow_build(
    airflow: tuple[Path, dict[str, str]],
    method: str,
    python_bin: str,
    requirements: Path,
    target: Path,
    extra_variables: dict[str, str],
) -> float:
    python, env = airflow
    home = target.parent / f"{target.name}-airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **env,
        **extra_variables,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__STANDARD__VENV_INSTALL_METHOD": method,
    }
    argv = [str(python), str(Path(__file__).parent / "_airflow_peer.py"), "build"]
    done = _run([*argv, str(target), python_bin, str(requirements)], env)
    return float(done.stdout.strip().splitlines()[-1])


def _virtualenv_pip_build(
    python_bin: str, requirements: Path, target: Path, extra_variables: dict[str, str]
) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(extra_variables)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    started = time.perf_counter()
    _run([sys.executable, "-m", "virtualenv", "--quiet", "--python", python_bin, str(target)], env)
    _run([str(target / "bin" / "pip"), "install", "--quiet", "-r", str(requirements)], env)
    return time.perf_counter() - started


def _count_packages(target: Path) -> int:
    done = subprocess.run(
        [str(target / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:  # uv venvs have no pip: count the dist-info folders
        return len(list(target.glob("lib/python*/site-packages/*.dist-info")))
    return len(json.loads(done.stdout))


def build_figures(warm_runs: int, cold_runs: int, work: Path) -> list[Figure]:
    """Warm and cold builds of both specs, isocell against each peer; plus cached reuse."""
    airflow = _airflow()
    figures: list[Figure] = []
    home = work / "isocell-home"
    for case in CASES:
        python_bin = _python_binary(case)
        progress(f"build {case.label}: isocell, first (fills the caches)")
        _, lock = _isocell_build(case, home, {})
        requirements = work / f"requirements-{len(figures)}.txt"
        requirements.write_text("\n".join(lock) + "\n")
        # python_version="3.11" for the notebook's Python: with "python" uv would take the
        # first `python` it finds, here a 3.10 from pyenv.
        version = case.python or "{}.{}".format(*sys.version_info[:2])
        airflow_bin = f"python{version}"
        peers: dict[str, Callable[[Path, dict[str, str]], float]] = {
            "virtualenv + pip": lambda target, extra, py=python_bin, reqs=requirements: (
                _virtualenv_pip_build(py, reqs, target, extra)
            ),
        }
        if airflow is not None:
            for method, label in (("auto", "uv, its default here"), ("pip", "venv + pip")):
                peers[f"Airflow 3 prepare_virtualenv ({label})"] = (
                    lambda target, extra, method=method, bin_=airflow_bin, reqs=requirements: (
                        _airflow_build(airflow, method, bin_, reqs, target, extra)
                    )
                )
        for cache, runs in (("warm", warm_runs), ("cold", cold_runs)):
            ours = Samples("isocell")
            others = {label: Samples(label) for label in peers}
            for label, action in peers.items():  # warm the peers' caches, unmeasured
                if cache == "warm":
                    progress(f"build {case.label}: {label}, first (fills the caches)")
                    target = Path(tempfile.mkdtemp(dir=work)) / "venv"
                    try:
                        action(target, {})
                        others[label].note = f"{_count_packages(target)} packages"
                    except RuntimeError as error:
                        others[label].note = f"failed: {str(error).splitlines()[0]}"
                        progress(f"{label} failed:\n{error}")
                    shutil.rmtree(target.parent, ignore_errors=True)
            layer = Samples("isocell kernel layer, once per Python (not in the row above)")
            for run in range(runs):
                progress(f"build {case.label}, {cache} cache, run {run + 1}/{runs}")
                cold = _Cold(work) if cache == "cold" else None
                extra = cold.env() if cold else {}
                run_home = (cold.root / "isocell-home") if cold else home
                if cold:
                    if run == 0:
                        layer.values.append(_isocell_build(case, run_home, extra, True)[0])
                        shutil.rmtree(run_home / "envs", ignore_errors=True)
                    _copy_layer(case, home, run_home)
                ours.values.append(_isocell_build(case, run_home, extra)[0])
                if cold:
                    cold.remove()
                for label, action in peers.items():
                    # A cold peer gets empty caches of its own: not the ones isocell just
                    # filled (uv's, shared before, left the peer's downloads in it).
                    peer_cold = _Cold(work) if cache == "cold" else None
                    target = Path(tempfile.mkdtemp(dir=work)) / "venv"
                    try:
                        peer_extra = peer_cold.env() if peer_cold else {}
                        others[label].values.append(action(target, peer_extra))
                    except RuntimeError as error:
                        others[label].note = f"failed: {str(error).splitlines()[0]}"
                        progress(f"{label} failed:\n{error}")
                    shutil.rmtree(target.parent, ignore_errors=True)
                    if peer_cold:
                        peer_cold.remove()
            pip = others["virtualenv + pip"].median
            if cache == "warm":
                target_text = "≤ 1.5 s and ≥ 5x vs virtualenv + pip"
                met = ours.median <= 1.5 and pip / ours.median >= 5
            else:
                target_text, met = "", None
            if cache == "cold":
                target_text = "≤ Airflow 3 prepare_virtualenv (uv)"
                uv = others.get("Airflow 3 prepare_virtualenv (uv, its default here)")
                met = uv is not None and bool(uv.values) and ours.median <= uv.median
            elif airflow is not None:
                uv = others["Airflow 3 prepare_virtualenv (uv, its default here)"]
                target_text += " and ≤ Airflow 3 prepare_virtualenv (uv)"
                met = bool(met) and bool(uv.values) and ours.median <= uv.median
            rows = list(others.values()) + ([layer] if layer.values else [])
            figures.append(
                Figure(f"{cache} build (s), {case.label}", "s", ours, rows, target_text, met)
            )
    figures.append(_reuse_figure(home))
    return figures


def _copy_layer(case: Case, home: Path, run_home: Path) -> None:
    """Put a copy of the kernel layer of ``case``'s interpreter (built in ``home``) into the
    store at ``run_home``: built once per Python, it is not part of a build (uv venvs are
    made ``--relocatable``, so a copy works)."""
    from isocell.envs import EnvRequest, EnvStore, spec_for

    spec = spec_for(EnvRequest(python=case.python, requirements=case.requirements)).layer_spec()
    source = EnvStore(home).path_for(spec)
    target = EnvStore(run_home).path_for(spec)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target, symlinks=True)


def _reuse_figure(home: Path, runs: int = 200) -> Figure:
    """Resolving a spec whose environment exists: nothing is built, nothing is resolved."""
    from isocell.envs import EnvRequest, EnvStore, resolve_environment

    store = EnvStore(home)
    request = EnvRequest(python=CASES[0].python, requirements=CASES[0].requirements)
    resolve_environment(request, store)  # built above; this one only warms imports
    progress(f"cached reuse, {runs} runs")
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        resolve_environment(request, store)
        values.append((time.perf_counter() - started) * 1000)
    return Figure(
        f"cached reuse (ms), {CASES[0].label}",
        "ms",
        Samples("isocell", values, note="spec found in the store"),
        target="≤ 50 ms",
        met=statistics.median(values) <= 50,
    )
