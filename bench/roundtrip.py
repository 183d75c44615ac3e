"""Round trip of a trivial isolated cell on a warm child, against a baseline in the same run.

    python -m bench.roundtrip [--runs 100] [--python 3.9]

Runs ``y = x + 1`` (one input, one output) through ``%%isolated`` N times on a warm child and
reports the median, min and max in milliseconds, beside the same cell run locally through
IPython (the floor) and a fresh ``python -c`` per cell (the naive isolated path).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _times(action, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _row(name: str, samples: list[float], floor: float | None = None) -> str:
    median = statistics.median(samples)
    ratio = f"{median / floor:.1f}x" if floor else ""
    return f"| {name} | {median:.2f} | {min(samples):.2f} | {max(samples):.2f} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument(
        "--python", default=None, help="child Python version (default: the notebook's)"
    )
    args = parser.parse_args()

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "isocell")
    line = f"--python {args.python} --req six" if args.python else ""
    shell.user_ns["x"] = 1
    shell.run_cell_magic("isolated", line, "y = x + 1")  # build and start: not measured

    def isolated() -> None:
        shell.run_cell_magic("isolated", line, "y = x + 1")
        shell.user_ns["x"] = shell.user_ns["y"]  # a new input every time: it must be sent

    def local() -> None:
        shell.run_cell("y = x + 1", store_history=False, silent=True)

    python = [sys.executable]
    if args.python:
        from isocell.envs import find_interpreter

        python = [find_interpreter(args.python).path]

    def fresh_process() -> None:
        subprocess.run([*python, "-c", "x = 1\ny = x + 1"], check=True)

    isolated_ms = _times(isolated, args.runs)
    local_ms = _times(local, args.runs)
    fresh_ms = _times(fresh_process, min(args.runs, 30))
    print(f"trivial cell round trip, {args.runs} runs, child Python {args.python or 'same'} (ms)\n")
    print("| path | median | min | max | vs isocell |")
    print("| --- | --- | --- | --- | --- |")
    floor = statistics.median(isolated_ms)
    print(_row("%%isolated, warm child", isolated_ms))
    print(_row("local IPython cell (floor)", local_ms, floor))
    print(_row("fresh `python -c` per cell", fresh_ms, floor))
    shell.run_line_magic("unload_ext", "isocell")


if __name__ == "__main__":
    main()
