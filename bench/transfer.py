"""Transfer speed: notebook → child → notebook, against baselines measured in the same run.

    python -m bench.transfer [--repeat 3] [--scale 1.0] [--out bench/transfer.md]

Payloads: (a) a 512 MiB float64 array, (b) a 10-million-row DataFrame with int, float, string
and datetime columns (``--scale`` shrinks both). Targets: a child on the notebook's Python, and
a Python 3.9 child with pandas 1.4.4 (numpy 1.23).

Each direction is timed apart: "in" is a cell that only receives the value (``--in x --out``),
"out" a cell that only returns a value the child already holds (``--in --out y``, ``y = x``).
Peak memory is each process's high-water mark (``VmHWM``, reset through ``clear_refs``) above
what it used before the transfer. Baselines, same data, same run:

* floor: an in-process copy into fresh memory (``np.copy`` / ``DataFrame.copy``);
* naive: cloudpickle through a pipe to a subprocess on the same Python, and back;
* peer: ipyparallel ``push`` / ``pull`` to one engine (same Python; ipyparallel requires it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

MiB = 1024 * 1024
T = TypeVar("T")


def _payloads(scale: float) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    rows = int(10_000_000 * scale)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "value": rng.random(rows),
            "name": pd.Series(words[rng.integers(0, len(words), rows)], dtype="str"),
            "when": pd.date_range("2020-01-01", periods=rows, freq="s"),
        }
    )
    array = rng.random(int(512 * MiB * scale) // 8)
    return {"array": array, "frame": frame}


def _nbytes(value: Any) -> int:
    if hasattr(value, "memory_usage"):
        return int(value.memory_usage(deep=True).sum())
    return int(value.nbytes)


def _hwm_reset(pid: int) -> int:
    """Reset the peak RSS of ``pid`` and return its current RSS, in bytes."""
    with open(f"/proc/{pid}/clear_refs", "w") as handle:
        handle.write("5")
    return _status(pid, "VmRSS")


def _status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _copy(value: Any) -> Any:
    return value.copy(deep=True) if hasattr(value, "memory_usage") else value.copy()


def _fresh_copy(value: Any) -> list[Any]:
    """Every buffer of ``value`` copied into new memory: the floor of any transfer.

    ``DataFrame.copy(deep=True)`` is not that under pandas 3 (Arrow-backed text is immutable
    and shared, not copied), so columns are copied buffer by buffer.
    """
    import numpy as np

    if not hasattr(value, "memory_usage"):
        return [np.array(value, copy=True)]
    copies = []
    for _, column in value.items():
        arrow = getattr(column.array, "_pa_array", None)
        if arrow is not None:
            for chunk in arrow.chunks:
                copies += [bytearray(buf) for buf in chunk.buffers() if buf is not None]
        else:
            copies.append(np.array(column.to_numpy(), copy=True))
    return copies


class _Row:
    def __init__(self, path: str, payload: str, size: int) -> None:
        self.path, self.payload, self.size = path, payload, size
        self.seconds: dict[str, list[float]] = {"in": [], "out": []}
        self.peak: dict[str, int] = {}

    def rate(self, direction: str) -> float:
        return self.size / MiB / statistics.median(self.seconds[direction])

    def cells(self, floor: float | None) -> str:
        parts = []
        for direction in ("in", "out"):
            samples = self.seconds[direction]
            if not samples:
                parts += ["", ""]
                continue
            rate = self.rate(direction)
            low, high = self.size / MiB / max(samples), self.size / MiB / min(samples)
            spread = f"{low:.0f} to {high:.0f}"
            parts.append(f"{rate:.0f} ({spread})")
            parts.append(f"{rate / floor:.2f}" if floor else "")
        peak = " / ".join(f"{v / MiB:.0f}" for v in self.peak.values()) or "n/a"
        return f"| {self.path} | {self.payload} | " + " | ".join(parts) + f" | {peak} |"


def _isocell_rows(
    shell: Any, line: str, label: str, payloads: dict[str, Any], repeat: int
) -> list[_Row]:
    # Warm: the child has started and imported numpy and pandas, as after a first cell.
    warm = "import os, numpy, pandas\nchild_pid = os.getpid()"
    shell.run_cell_magic("isolated", line, warm)
    child_pid = shell.user_ns.pop("child_pid")
    rows = []
    for name, value in payloads.items():
        row = _Row(label, name, _nbytes(value))
        for attempt in range(repeat):
            # A new object, made while the last one lives, so that it cannot take the last
            # one's id: a value with the id and contents the child holds is not sent again.
            previous = shell.user_ns.get("x")
            shell.user_ns["x"] = _copy(value)
            del previous
            base_host, base_child = _hwm_reset(os.getpid()), _hwm_reset(child_pid)
            started = time.perf_counter()
            shell.run_cell_magic("isolated", f"{line} --in x --out", "pass")
            row.seconds["in"].append(time.perf_counter() - started)
            if attempt == 0:
                row.peak["host in"] = _status(os.getpid(), "VmHWM") - base_host
                row.peak["child in"] = _status(child_pid, "VmHWM") - base_child
            base_host, base_child = _hwm_reset(os.getpid()), _hwm_reset(child_pid)
            started = time.perf_counter()
            shell.run_cell_magic("isolated", f"{line} --in --out y", "y = x")
            row.seconds["out"].append(time.perf_counter() - started)
            if attempt == 0:
                row.peak["host out"] = _status(os.getpid(), "VmHWM") - base_host
                row.peak["child out"] = _status(child_pid, "VmHWM") - base_child
            shell.user_ns.pop("y")
        shell.user_ns.pop("x")
        rows.append(row)
    return rows


class _SystemPeak:
    """The lowest ``MemAvailable`` while it runs, sampled every 10 ms: the system-wide peak
    (shared memory in ``/dev/shm`` included, counted once)."""

    def __init__(self) -> None:
        import threading

        self.start = self.lowest = self._available()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _available() -> int:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            self.lowest = min(self.lowest, self._available())

    def __enter__(self) -> _SystemPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def extra(self) -> int:
        return self.start - self.lowest


def round_trip_peaks(shell: Any, label: str, line: str, gib: float) -> str:
    """One round trip of a ``gib`` GiB float64 array (``%%isolated --in x --out y`` / ``y = x``:
    in, and out again as a new name), as a table row: seconds, and peak extra memory in MiB
    of the notebook, the child, and the whole system."""
    import numpy as np

    shell.run_cell_magic("isolated", line, "import os, numpy\nchild_pid = os.getpid()")
    child_pid = shell.user_ns.pop("child_pid")
    shell.user_ns["x"] = np.ones(int(gib * 2**30) // 8)
    base_host, base_child = _hwm_reset(os.getpid()), _hwm_reset(child_pid)
    with _SystemPeak() as system:
        started = time.perf_counter()
        shell.run_cell_magic("isolated", f"{line} --in x --out y", "y = x")
        seconds = time.perf_counter() - started
    host = _status(os.getpid(), "VmHWM") - base_host
    child = _status(child_pid, "VmHWM") - base_child
    assert float(shell.user_ns["y"][-1]) == 1.0
    # the child forgets them too, before its next cell (isocell.runner._state: "forget")
    del shell.user_ns["x"], shell.user_ns["y"]
    return (
        f"| {label} | {gib:g} | {seconds:.1f} | {host / MiB:.0f} | "
        f"{child / MiB:.0f} | {system.extra / MiB:.0f} |"
    )


def _floor_rows(payloads: dict[str, Any], repeat: int) -> list[_Row]:
    rows = []
    for name, value in payloads.items():
        row = _Row("floor: in-process copy to fresh memory", name, _nbytes(value))
        kept = []  # alive until the end, so that no copy reuses memory a previous one freed
        for _ in range(repeat):
            started = time.perf_counter()
            kept.append(_fresh_copy(value))
            row.seconds["in"].append(time.perf_counter() - started)
        del kept
        row.seconds["out"] = list(row.seconds["in"])
        rows.append(row)
    return rows


_PIPE_CHILD = textwrap.dedent(
    """
    import struct, sys, time, cloudpickle
    read, write = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = read.read(8)
        if not head:
            break
        value = cloudpickle.loads(read.read(struct.unpack("<Q", head)[0]))
        loaded = time.perf_counter()
        started = time.perf_counter()
        data = cloudpickle.dumps(value, protocol=5)
        write.write(struct.pack("<dd", loaded, started) + struct.pack("<Q", len(data)) + data)
        write.flush()
    """
)


def _pipe_rows(payloads: dict[str, Any], repeat: int) -> list[_Row]:
    import struct

    import cloudpickle

    child = subprocess.Popen(
        [sys.executable, "-c", "import numpy, pandas\n" + _PIPE_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    rows = []
    try:
        for name, value in payloads.items():
            row = _Row("naive: cloudpickle through a pipe", name, _nbytes(value))
            for _ in range(repeat):
                started = time.perf_counter()
                data = cloudpickle.dumps(value, protocol=5)
                child.stdin.write(struct.pack("<Q", len(data)) + data)
                child.stdin.flush()
                del data
                loaded, back_started = struct.unpack("<dd", child.stdout.read(16))
                length = struct.unpack("<Q", child.stdout.read(8))[0]
                back = cloudpickle.loads(child.stdout.read(length))
                done = time.perf_counter()
                del back
                row.seconds["in"].append(loaded - started)
                row.seconds["out"].append(done - back_started)
            rows.append(row)
    finally:
        child.stdin.close()
        child.wait()
    return rows


def _ipyparallel_rows(payloads: dict[str, Any], repeat: int) -> list[_Row]:
    try:
        import ipyparallel as ipp
    except ImportError:
        return []
    cluster = ipp.Cluster(n=1, log_level=40)
    client = cluster.start_and_connect_sync()
    try:
        view = client[0]
        view.execute("import numpy, pandas", block=True)  # warm, as the isocell child
        rows = []
        for name, value in payloads.items():
            row = _Row("peer: ipyparallel push / pull", name, _nbytes(value))
            for _ in range(repeat):
                started = time.perf_counter()
                view.push({"x": value}, block=True)
                row.seconds["in"].append(time.perf_counter() - started)
                started = time.perf_counter()
                back = view.pull("x", block=True)
                row.seconds["out"].append(time.perf_counter() - started)
                del back
            rows.append(row)
        return rows
    finally:
        cluster.stop_cluster_sync()


def _timed(label: str, action: Callable[[], T]) -> T:
    print(f"... {label}", file=sys.stderr, flush=True)
    return action()


def run(repeat: int = 3, scale: float = 1.0) -> str:
    """Measure every path; return the markdown table (with its one-line preamble)."""
    from IPython.core.interactiveshell import InteractiveShell

    args = argparse.Namespace(repeat=repeat, scale=scale)
    payloads = _payloads(args.scale)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "isocell")
    rows = _timed("floor", lambda: _floor_rows(payloads, args.repeat))
    floors = {row.payload: row.rate("in") for row in rows}
    rows += _timed(
        "isocell, same Python",
        lambda: _isocell_rows(
            shell,
            "--req numpy pandas pyarrow --exclude-newer none",
            "isocell → same-Python child",
            payloads,
            args.repeat,
        ),
    )
    rows += _timed(
        "isocell, Python 3.9 / pandas 1.4.4",
        lambda: _isocell_rows(
            shell,
            "--python 3.9 --req pandas==1.4.4",
            "isocell → Python 3.9 / pandas 1.4.4 child",
            payloads,
            args.repeat,
        ),
    )
    big = 3.0 * scale
    peaks = _timed(
        f"{big:g} GiB round trips",
        lambda: [
            round_trip_peaks(shell, label, line, big)
            for label, line in (
                ("same Python", "--req numpy pandas pyarrow --exclude-newer none"),
                ("Python 3.9 / pandas 1.4.4", "--python 3.9 --req pandas==1.4.4"),
            )
        ],
    )
    rows += _timed("cloudpickle pipe", lambda: _pipe_rows(payloads, args.repeat))
    rows += _timed("ipyparallel", lambda: _ipyparallel_rows(payloads, args.repeat))
    shell.run_line_magic("unload_ext", "isocell")

    import numpy
    import pandas

    sizes = ", ".join(f"{name} {_nbytes(v) / MiB:.0f} MiB" for name, v in payloads.items())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        f"Transfer benchmark, {time.strftime('%Y-%m-%d')}: {platform.platform()}, "
        f"{os.cpu_count()} cores, {memory:.0f} GiB; Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, pandas {pandas.__version__}; payloads: {sizes}; "
        f"median of {args.repeat} (min to max in brackets).",
        "",
        "| path | payload | in: MiB/s | in ÷ floor | out: MiB/s | out ÷ floor "
        "| peak extra MiB (host in / child in / host out / child out) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [row.cells(floors[row.payload]) for row in rows]
    lines += [
        "",
        f"Peak extra memory of one round trip of a {big:g} GiB array (`--in x --out y`, "
        "`y = x`), once: each process's `VmHWM` above its use before, and the system's "
        "lowest `MemAvailable` below its value before (payloads in `/dev/shm` counted once). "
        "Target: at most one payload size per process (the value it receives) and two for the "
        "system (one received value each side; the sender's own array was there before).",
        "",
        "| child | GiB | seconds | notebook MiB | child MiB | system MiB |",
        "| --- | --- | --- | --- | --- | --- |",
        *peaks,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the payloads (0 to 1)")
    parser.add_argument("--out", default=None, help="also write the table to this file")
    args = parser.parse_args()
    text = run(args.repeat, args.scale)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
