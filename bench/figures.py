"""Figures: the subplots chapter of the real-notebook corpus, plainly and with every cell
isolated, cell by cell.

``python -m bench.figures [--repeat N]`` runs ``04.08-Multiple-Subplots`` (Python Data
Science Handbook, ``../shared/realnb``) as nbclient runs notebooks, alternately plainly and
with every code cell prefixed by ``%%isolated --env realnb-host`` (this interpreter, so both
draw with the same matplotlib), ``N`` times each. A cell's time is its ``execute_input`` to
its ``execute_reply`` (nbclient's ``record_timing``). Target (issue #14): each cell isolated
within 1.5x of plain: figures and other large unchanged outputs must not make a cell slower
than the data it changed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from bench._common import ROOT

NOTEBOOK = "04.08-Multiple-Subplots"
TARGET = 1.5


def _seconds(cell: dict) -> float:
    timing = cell["metadata"]["execution"]
    start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def _run(notebook: object, folder: Path) -> list[float]:
    """Each code cell's seconds, the set-up cell left out."""
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="bench-figures-") as work:
        client = NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            allow_errors=True,
            record_timing=True,
            resources={"metadata": {"path": work}},
        )
        client.execute()
    return [_seconds(cell) for cell in notebook.cells[1:]]  # type: ignore[attr-defined]


def measure(repeat: int) -> tuple[list[str], list[tuple[float, float]]]:
    """Per cell: its first line, and the medians (plain, isolated) in seconds."""
    sys.path.insert(0, str(ROOT))
    from tests import realnb

    paths = [p for p in realnb.notebooks() if p.stem == NOTEBOOK]
    if not paths:
        raise SystemExit(f"bench.figures: {NOTEBOOK} is not under {realnb.CORPUS}")
    path = paths[0]
    os.environ.setdefault("ISOCELL_HOME", tempfile.mkdtemp(prefix="bench-figures-home-"))
    realnb.register_host(Path(os.environ["ISOCELL_HOME"]))
    prepared = realnb.prepared(path)
    plain: list[list[float]] = []
    isolated: list[list[float]] = []
    for _ in range(repeat):
        plain.append(_run(realnb.variant(prepared, "plain"), path.parent))
        isolated.append(_run(realnb.variant(prepared, "all"), path.parent))
    firsts = [cell.source.splitlines()[0][:60] for cell in prepared.cells]
    medians = [
        (statistics.median(p), statistics.median(i))
        for p, i in zip(zip(*plain, strict=True), zip(*isolated, strict=True), strict=True)
    ]
    return firsts, medians


def table(firsts: list[str], medians: list[tuple[float, float]], repeat: int) -> str:
    """The markdown section."""
    lines = [
        f"## Figures: {NOTEBOOK}, cell by cell",
        "",
        f"Medians of {repeat} runs of each (nbclient, `record_timing`), every cell isolated "
        f"in `realnb-host` (this interpreter) against the notebook run plainly. Target: each "
        f"cell isolated within {TARGET}x of plain.",
        "",
        "| cell | first line | plain (ms) | isolated (ms) | isolated ÷ plain | added (ms) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    worst = 0.0
    over = []
    for number, (first, (plain, isolated)) in enumerate(zip(firsts, medians, strict=True), 1):
        ratio = isolated / plain if plain else float("inf")
        worst = max(worst, ratio)
        if ratio > TARGET:
            over.append(f"cell {number} (+{(isolated - plain) * 1e3:.0f} ms)")
        text = first.replace("|", "\\|")
        lines.append(
            f"| {number} | `{text}` | {plain * 1e3:.0f} | {isolated * 1e3:.0f} | {ratio:.2f} "
            f"| {(isolated - plain) * 1e3:.0f} |"
        )
    total_plain = sum(p for p, _ in medians)
    total_isolated = sum(i for _, i in medians)
    verdict = "met" if worst <= TARGET else f"MISSED by {', '.join(over)}"
    lines += [
        "",
        f"Whole notebook: plain {total_plain:.2f} s, isolated {total_isolated:.2f} s "
        f"({total_isolated / total_plain:.2f}x); worst cell {worst:.2f}x: target {verdict}.",
        "",
    ]
    return "\n".join(lines)


def run(repeat: int) -> str:
    """Measure and give the markdown section."""
    firsts, medians = measure(repeat)
    return table(firsts, medians, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(run(args.repeat))


if __name__ == "__main__":
    main()
