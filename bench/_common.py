"""What every benchmark shares: samples, their summary, the machine, the markdown table.

A :class:`Figure` is one measured quantity (samples in one unit) with the peers it is compared
with, all measured in the same run; the table gives median, min and max, and the ratio
``peer median ÷ isocell median`` (how many times faster isocell is, for a time).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Samples:
    """Repeated measurements of one path.

    Attributes
    ----------
    label : str
        What ran (``"isocell"``, ``"Airflow 3 prepare_virtualenv (uv)"``, ...).
    values : list of float
        One value per run, in the figure's unit.
    note : str
        Anything a reader needs to interpret the values (packages installed, a failure).
    """

    label: str
    values: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    def cells(self, digits: int) -> list[str]:
        if not self.values:
            return ["n/a", "n/a", "n/a", "0"]
        return [
            f"{self.median:.{digits}f}",
            f"{min(self.values):.{digits}f}",
            f"{max(self.values):.{digits}f}",
            str(len(self.values)),
        ]


@dataclass
class Figure:
    """One figure of the results table: isocell's samples and the peers' in the same run.

    Attributes
    ----------
    name : str
        The figure (``"warm build, pandas==1.4.4 on Python 3.9"``).
    unit : str
        ``"s"`` or ``"ms"``.
    isocell : Samples
        isocell's measurements.
    peers : list of Samples
        Baselines measured in the same run, each compared with isocell's median.
    target : str
        The issue's target, as text (``"≤ 1.5 s and ≥ 5x vs virtualenv + pip"``).
    met : bool or None
        Whether the target was met (None when there is no target).
    """

    name: str
    unit: str
    isocell: Samples
    peers: list[Samples] = field(default_factory=list)
    target: str = ""
    met: bool | None = None

    def rows(self) -> list[str]:
        digits = 3 if self.unit == "s" else 2
        verdict = {None: "", True: "met", False: "**missed**"}[self.met]
        lines = [
            "| "
            + " | ".join(
                [self.name, self.isocell.label, *self.isocell.cells(digits), "1.00", self.target]
            )
            + f" {verdict} |".replace("  |", " |")
        ]
        for peer in self.peers:
            ratio = peer.median / self.isocell.median if self.isocell.values and peer.values else 0
            ratio_text = f"{ratio:.2f}" if ratio else "n/a"
            label = peer.label + (f" ({peer.note})" if peer.note else "")
            lines.append("| " + " | ".join(["", label, *peer.cells(digits), ratio_text, ""]) + " |")
        return lines


HEADER = [
    "| figure | path | median | min | max | runs | peer ÷ isocell | target |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
]


def table(figures: list[Figure]) -> str:
    """The figures as one markdown table (units in the figure names)."""
    lines = list(HEADER)
    for figure in figures:
        lines += figure.rows()
    return "\n".join(lines)


def timed(action: Callable[[], object], runs: int, scale: float = 1000.0) -> list[float]:
    """Run ``action`` ``runs`` times; each run's wall time times ``scale`` (default: ms)."""
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        values.append((time.perf_counter() - started) * scale)
    return values


def machine() -> str:
    """One line describing the machine and the notebook side's software."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{platform.platform()}, {os.cpu_count()} cores ({model or 'unknown CPU'}), "
        f"{memory:.0f} GiB; notebook Python {platform.python_version()} "
        f"({sys.executable}); load average at start {load:.2f}"
    )


def progress(message: str) -> None:
    """A line on stderr, so that a long run shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
