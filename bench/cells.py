"""Cells: the first cell of a session, a trivial cell's round trip, and the magic's own cost.

* **First cell of a session**: a new :class:`~isocell.runner.CellRunner` on an existing
  environment, one ``y = x + 1`` cell (child kernel start, boot, run, values back), against the
  floor of starting an ipykernel in the same environment with jupyter_client and running one
  execute request.
* **Round trip** on a warm child, ``y = x + 1`` (one input, one output; ``x`` changes every run
  so it is always sent): ``%%isolated`` through the real magic, against Airflow 3's
  ``PythonVirtualenvOperator.execute_callable`` with a cached venv (``_airflow_peer.py``), a
  fresh ``python -c`` per cell, ipyparallel's ``apply_sync`` (same Python only: ipyparallel
  requires it) and the cell run locally by IPython (the floor).
* **Magic overhead**: ``%load_ext isocell`` in a fresh process that has IPython loaded, against
  IPython's own ``autoreload`` and ipyparallel's extension; the analysis of a 500-line cell
  against ``ast.parse`` of it alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._common import Figure, Samples, progress, timed

#: The children measured: (label, --python, magic line).
CHILDREN = (
    ("Python 3.9", "3.9", "--python 3.9 --req six==1.16.0"),
    ("the notebook's Python", None, "--req six==1.16.0"),
)


def _interpreter(version: str | None) -> str:
    from isocell.envs import find_interpreter

    return find_interpreter(version).path if version else sys.executable


@contextlib.contextmanager
def _plain_kernel(python: Path) -> Iterator[Any]:
    """An ipykernel in ``python``'s environment, started by jupyter_client (no isocell): its
    ready client. A kernel spec names the interpreter (jupyter_client would replace a
    ``kernel_cmd``'s python with its own); IPC sockets, as isocell's children use."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    folder = Path(tempfile.mkdtemp(prefix="isocell-bench-spec-"))
    argv = [str(python), "-m", "ipykernel_launcher", "--HistoryManager.enabled=False", "-f"]
    (folder / "plain").mkdir()
    (folder / "plain" / "kernel.json").write_text(
        json.dumps({"argv": [*argv, "{connection_file}"], "display_name": "plain"})
    )
    manager = KernelManager(
        kernel_name="plain",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(folder)]),
        transport="ipc",
        ip=str(folder / "ipc"),
    )
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        shutil.rmtree(folder, ignore_errors=True)


def first_cell_figure(runs: int) -> Figure:
    """A new session's first cell on an existing Python 3.9 environment."""
    from isocell.envs import EnvRequest, EnvStore, resolve_environment
    from isocell.runner import CellRequest, CellRunner

    request = EnvRequest(python="3.9", requirements=("six==1.16.0",))
    environment = resolve_environment(request, EnvStore())

    def isocell_first() -> float:
        started = time.perf_counter()
        session = CellRunner()
        namespace = {"x": 1}
        try:
            session.run(CellRequest("y = x + 1", request), namespace)
            seconds = time.perf_counter() - started
        finally:
            session.close()  # not measured: the session lives on in a notebook
        assert namespace["y"] == 2
        return seconds

    def kernel_floor() -> float:
        started = time.perf_counter()
        with _plain_kernel(environment.python) as client:
            reply = client.execute_interactive("x = 1\ny = x + 1", timeout=60)
            assert reply["content"]["status"] == "ok"
            return time.perf_counter() - started

    progress(f"first cell of a session, {runs} runs (+1 unmeasured)")
    isocell_first()  # bytecode of the environment written once, as after its first use
    ours = Samples("isocell: new session, child start + cell")
    floor = Samples("jupyter_client: start ipykernel in the same env + 1 execute (floor)")
    for _ in range(runs):
        ours.values.append(isocell_first())
        floor.values.append(kernel_floor())
    return Figure(
        "first cell of a session (s), Python 3.9",
        "s",
        ours,
        [floor],
        "≤ 1.5 s",
        ours.median <= 1.5,
    )


def _airflow_roundtrip(version: str | None, runs: int, work: Path) -> Samples:
    from bench.builds import _airflow

    samples = Samples("Airflow 3 virtualenv path, cached venv (script + pickles + subprocess)")
    airflow = _airflow()
    if airflow is None:
        samples.note = "Airflow 3 unavailable"
        return samples
    python, env = airflow
    home = work / f"airflow-home-{version}"
    home.mkdir(parents=True, exist_ok=True)
    argv = [str(python), str(Path(__file__).parent / "_airflow_peer.py"), "roundtrip"]
    argv += [str(work / "airflow-venvs"), version or "", str(runs)]
    done = subprocess.run(
        argv, env={**env, "AIRFLOW_HOME": str(home)}, capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        samples.note = "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
        return samples
    samples.values = json.loads(done.stdout.strip().splitlines()[-1])
    return samples


def _ipyparallel_roundtrip(runs: int) -> Samples:
    samples = Samples("ipyparallel apply_sync to a warm engine")
    try:
        import ipyparallel as ipp
    except ImportError:
        samples.note = "ipyparallel not installed"
        return samples
    cluster = ipp.Cluster(n=1, log_level=40)
    client = cluster.start_and_connect_sync()
    try:
        view = client[0]
        view.apply_sync(lambda x: x + 1, 0)
        counter = iter(range(10**9))
        samples.values = timed(lambda: view.apply_sync(lambda x: x + 1, next(counter)), runs)
    finally:
        cluster.stop_cluster_sync()
    return samples


def _execute_floor(version: str | None, runs: int) -> Samples:
    """One execute request to a warm plain ipykernel in the same environment: the floor of
    any tool that runs cells in a kernel (isocell sends one per cell, with its values)."""
    from isocell.envs import EnvRequest, EnvStore, resolve_environment

    request = EnvRequest(python=version, requirements=("six==1.16.0",))
    python = resolve_environment(request, EnvStore()).python
    with _plain_kernel(python) as client:
        run = lambda: client.execute_interactive("y = 1 + 1", timeout=60)  # noqa: E731
        for _ in range(20):
            run()
        values = timed(run, runs)
    return Samples("one execute request to a warm plain ipykernel (floor for kernels)", values)


def roundtrip_figures(shell, runs: int, work: Path) -> list[Figure]:
    """The trivial cell on a warm child, for each child Python, against the peers."""
    figures = []
    for label, version, line in CHILDREN:
        progress(f"round trip, {label}: isocell, {runs} runs")
        shell.user_ns["x"] = 1
        shell.run_cell_magic("isolated", line, "y = x + 1")  # build + start: not measured

        def isolated(line: str = line) -> None:
            shell.run_cell_magic("isolated", line, "y = x + 1")
            shell.user_ns["x"] = shell.user_ns["y"]  # a new input every run: it must be sent

        for _ in range(20):  # warm-up
            isolated()
        ours = Samples("isocell %%isolated, warm child", timed(isolated, runs))
        assert shell.user_ns["x"] == 1 + 20 + runs
        progress(f"round trip, {label}: Airflow's path, {runs} runs")
        peers = [_airflow_roundtrip(version, runs, work)]
        python = _interpreter(version)
        progress(f"round trip, {label}: python -c, {runs} runs")
        peers.append(
            Samples(
                "fresh `python -c` per cell",
                timed(
                    lambda python=python: subprocess.run([python, "-c", "x = 1\ny = x + 1"]),
                    runs,
                ),
            )
        )
        if version is None:
            progress(f"round trip, {label}: ipyparallel, {runs} runs")
            peers.append(_ipyparallel_roundtrip(runs))
        progress(f"round trip, {label}: one plain execute request, {runs} runs")
        peers.append(_execute_floor(version, runs))
        local = Samples(
            "the same cell run locally by IPython (floor)",
            timed(lambda: shell.run_cell("y = x + 1", store_history=False, silent=True), runs),
        )
        peers.append(local)
        airflow = peers[0]
        met = ours.median <= 20 and bool(airflow.values) and airflow.median / ours.median >= 20
        figures.append(
            Figure(
                f"trivial cell round trip (ms), child on {label}",
                "ms",
                ours,
                peers,
                "≤ 20 ms and ≥ 20x vs Airflow's path",
                met,
            )
        )
    return figures


_LOAD_EXT = textwrap.dedent(
    """
    import json, sys, time
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    started = time.perf_counter()
    shell.run_line_magic("load_ext", sys.argv[1])
    print(json.dumps((time.perf_counter() - started) * 1000))
    """
)


def _load_ext(name: str, runs: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    values = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _LOAD_EXT, name],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        values.append(float(done.stdout.strip().splitlines()[-1]))
    return values


def load_ext_figure(runs: int) -> Figure:
    """``%load_ext isocell`` in a fresh process with IPython already imported."""
    progress(f"%load_ext, {runs} fresh processes each")
    ours = Samples("%load_ext isocell", _load_ext("isocell", runs))
    peers = [Samples("%load_ext autoreload (IPython's own)", _load_ext("autoreload", runs))]
    try:
        import ipyparallel  # noqa: F401

        peers.append(Samples("%load_ext ipyparallel", _load_ext("ipyparallel", runs)))
    except ImportError:
        pass
    return Figure(
        "magic overhead (ms): %load_ext in a fresh process",
        "ms",
        ours,
        peers,
        "≤ 100 ms",
        statistics.median(ours.values) <= 100,
    )


def sample_cell(lines: int = 500) -> str:
    """A notebook-like cell of about ``lines`` lines: imports, frames, functions, loops."""
    blocks = []
    index = 0
    while sum(block.count("\n") for block in blocks) < lines:
        blocks.append(
            textwrap.dedent(
                f"""
                import numpy as np
                from collections import Counter
                frame_{index} = source.assign(total=source["price"] * source["quantity"])
                frame_{index} = frame_{index}[frame_{index}["total"] > threshold_{index % 7}]
                summary_{index} = frame_{index}.groupby("region")["total"].agg(["sum", "mean"])
                def score_{index}(row, weight={index}):
                    value = row["total"] * weight
                    if value > limit:
                        return [v for v in range(int(value)) if v % 3 == 0]
                    return {{k: v for k, v in zip(names, values)}}
                for key, group in frame_{index}.groupby("region"):
                    counts[key] = Counter(group["customer"]).most_common(3)
                    results.append((key, score_{index}(group.iloc[0])))
                with open(path_{index % 5}) as handle:
                    text_{index} = handle.read().splitlines()
                labels_{index} = sorted(set(text_{index}) - seen, key=lambda s: (len(s), s))
                """
            )
        )
        index += 1
    return "".join(blocks)


def analysis_figure(runs: int) -> Figure:
    """The analysis of a 500-line cell, against parsing it alone."""
    import ast

    from isocell.analysis import analyze_cell

    code = sample_cell()
    progress(f"analysis of a {code.count(chr(10))}-line cell, {runs} runs")
    names = analyze_cell(code)
    assert "source" in names.reads and "summary_0" in names.binds
    ours = Samples(
        f"isocell analyze_cell ({code.count(chr(10))} lines)",
        timed(lambda: analyze_cell(code), runs),
    )
    floor = Samples("ast.parse of the same cell (floor)", timed(lambda: ast.parse(code), runs))
    return Figure("magic overhead (ms): analysis of a 500-line cell", "ms", ours, [floor])
