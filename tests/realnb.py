"""Real notebooks nobody on this project wrote, run plainly and with their cells isolated.

The corpus is ``../shared/realnb/notebooks`` (its ``SOURCES.md`` says where each file comes
from and what is changed before a run; ``ISOCELL_REALNB`` points elsewhere). Each notebook is
executed with nbclient, as papermill and ``jupyter nbconvert --execute`` do: twice plainly
(cells whose outputs differ between those two runs are nondeterministic: timings, addresses,
random draws), then with every code cell, the odd ones and the even ones prefixed by
``%%isolated --env NAME``, where NAME is the notebook's own interpreter registered as an
external environment (the host's exact package versions). Each cell's outputs are compared
with the plain run's: streams, the last value's text and mime types, displays' mime types
and text, errors' ``ename`` and ``evalue``; a nondeterministic cell (the two plain runs
differ, or it prints its own timings) by its structure (the kinds of its outputs and their
mime types).

``python -m tests.realnb [--variant all|odd|even] [NOTEBOOK ...]`` prints the summary and the
cells that differ.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("ISOCELL_REALNB", ROOT.parent / "shared" / "realnb" / "notebooks"))
VARIANTS = ("all", "odd", "even")
ENVIRONMENT = "realnb-host"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TIMING = re.compile(r"%%?(time|timeit|prun)\b")
# A long listing (`!ls -lh my_figure.png`) prints the file's modification time to the minute:
# a file the cell before wrote differs between runs that straddle a minute (it once failed
# 04.00-Introduction-To-Matplotlib's isolated run against two plain runs of the same minute).
_LONG_LISTING = re.compile(r"^\s*!\s*ls\s+-\w*l\w*\b", re.MULTILINE)
# matplotlib >= 3.6 renamed the seaborn styles (SOURCES.md, "What the harness changes").
_SEABORN_STYLE = re.compile(r"""(plt\.style\.use\(\s*['"])seaborn-(?!v0_8)""")
Outputs = list[tuple[str, ...]]


def notebooks(corpus: Path = CORPUS) -> list[Path]:
    """The corpus's notebooks, sorted; empty where the corpus is absent."""
    return sorted(corpus.glob("*/*.ipynb")) if corpus.is_dir() else []


def prepared(path: Path) -> Any:
    """The notebook as SOURCES.md says both variants run it: outputs cleared, the kernelspec
    ``python3``, the seaborn styles renamed, 03.08's cells that download ``planets`` left out,
    empty code cells left out."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if not cell.source.strip():
            continue
        if path.name.startswith("03.08") and "planets" in cell.source:
            continue
        cell.outputs, cell.execution_count = [], None
        cell.source = _SEABORN_STYLE.sub(r"\1seaborn-v0_8-", cell.source)
        cells.append(cell)
    notebook.cells = cells
    return notebook


def variant(notebook: Any, which: str, environment: str = ENVIRONMENT) -> Any:
    """A copy of ``notebook`` whose chosen code cells (``plain``: none; ``all``; ``odd`` and
    ``even``, counting from 1) run isolated, after a first cell that loads isocell and starts
    the child (so that no cell of the notebook shows that)."""
    import nbformat

    copied = copy.deepcopy(notebook)
    for number, cell in enumerate(copied.cells, start=1):
        odd = number % 2 == 1
        if {"plain": False, "all": True, "odd": odd, "even": not odd}[which]:
            cell.source = f"%%isolated --env {environment}\n{cell.source}"
    setup = "%load_ext isocell"
    if which != "plain":
        setup += f"\nget_ipython().run_cell_magic('isolated', '--env {environment}', 'pass')"
    copied.cells.insert(0, nbformat.v4.new_code_cell(setup))
    return copied


def execute(notebook: Any, folder: Path, timeout: float = 600) -> list[Outputs]:
    """Run ``notebook`` in a fresh kernel, in a copy of ``folder``'s files; each code cell's
    outputs (without the setup cell)."""
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="realnb-") as work:
        for item in folder.iterdir():
            if item.is_file() and item.suffix != ".ipynb":
                shutil.copy(item, work)
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": work}},
        )
        client.execute()
    return [outputs(cell) for cell in notebook.cells[1:]]


def outputs(cell: Any) -> Outputs:
    """A cell's outputs as compared: consecutive streams of one name joined."""
    found: Outputs = []
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream":
            if found and found[-1][:2] == ("stream", output["name"]):
                found[-1] = ("stream", output["name"], found[-1][2] + output["text"])
            else:
                found.append(("stream", output["name"], output["text"]))
        elif kind == "error":
            found.append(("error", output["ename"], _ANSI.sub("", output["evalue"])))
        else:
            data = output.get("data", {})
            found.append((kind, ",".join(sorted(data)), str(data.get("text/plain", ""))))
    return found


def structure(found: Outputs) -> Outputs:
    """Outputs without their texts: what a nondeterministic cell is compared by."""
    return [entry[:2] for entry in found]


@dataclass
class Comparison:
    """One notebook, one variant: which cells gave what the plain run gave."""

    notebook: str
    variant: str
    cells: int = 0
    same: int = 0
    differing: list[tuple[int, Outputs, Outputs]] = field(default_factory=list)


def times_itself(source: str) -> bool:
    """Whether a cell prints its own timings (``%timeit``, ``%time``, ``%prun``) or the clock
    times of files (``!ls -l``): its text differs from run to run even where two runs
    happened to agree."""
    return bool(_TIMING.search(source) or _LONG_LISTING.search(source))


def compare(
    name: str,
    which: str,
    plain: Sequence[Outputs],
    again: Sequence[Outputs],
    isolated: Sequence[Outputs],
    timed: Sequence[bool] | None = None,
) -> Comparison:
    """Cell by cell: equal outputs, or equal structure where the two plain runs differ or
    the cell is ``timed`` (:func:`times_itself`)."""
    result = Comparison(name, which, cells=len(plain))
    timed = timed if timed is not None else [False] * len(plain)
    for number, (first, second, ours, clocked) in enumerate(
        zip(plain, again, isolated, timed, strict=True), start=1
    ):
        if first == second and not clocked:
            alike = ours == first
        else:
            alike = structure(ours) == structure(first)
        if alike:
            result.same += 1
        else:
            result.differing.append((number, first, ours))
    return result


def register_host(home: Path) -> None:
    """Register this interpreter as the external environment the isolated cells use."""
    from isocell.envs import EnvStore, Registry

    registry = Registry(EnvStore(home).home)
    if ENVIRONMENT not in {entry.name for entry in registry.all()}:
        registry.add(ENVIRONMENT, python=sys.executable)


def run_corpus(
    paths: Iterable[Path], variants: Sequence[str] = VARIANTS, verbose: bool = False
) -> list[Comparison]:
    """Every notebook of ``paths`` plainly twice and in each of ``variants`` (with
    ``verbose``, each one's differing cells printed as it ends)."""
    results = []
    for path in paths:
        notebook = prepared(path)
        plain = execute(variant(notebook, "plain"), path.parent)
        again = execute(variant(notebook, "plain"), path.parent)
        for which in variants:
            isolated = execute(variant(notebook, which), path.parent)
            timed = [times_itself(cell.source) for cell in notebook.cells]
            results.append(compare(path.stem, which, plain, again, isolated, timed))
            print(_line(results[-1]), flush=True)
            if verbose:
                print(differences(results[-1]), flush=True)
    return results


def differences(result: Comparison) -> str:
    """The cells of ``result`` that differ, as the plain and the isolated run gave them."""
    return "".join(
        f"\n{result.notebook} [{result.variant}] cell {number}:\n"
        f"  plain:    {plain}\n  isolated: {ours}\n"
        for number, plain, ours in result.differing
    )


def _line(result: Comparison) -> str:
    return f"{result.notebook} [{result.variant}]: {result.same}/{result.cells} cells alike"


def summary(results: Sequence[Comparison]) -> dict[str, tuple[int, int]]:
    """``variant -> (cells alike, cells)`` over the corpus."""
    totals: dict[str, tuple[int, int]] = {}
    for result in results:
        same, cells = totals.get(result.variant, (0, 0))
        totals[result.variant] = (same + result.same, cells + result.cells)
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.realnb", description=__doc__)
    parser.add_argument("--variant", action="append", choices=VARIANTS)
    parser.add_argument("notebook", nargs="*", help="a part of the notebooks' names")
    args = parser.parse_args(argv)
    paths = [p for p in notebooks() if not args.notebook or any(n in p.name for n in args.notebook)]
    if not paths:
        print(f"no notebooks under {CORPUS}", file=sys.stderr)
        return 2
    home = Path(os.environ.setdefault("ISOCELL_HOME", tempfile.mkdtemp(prefix="realnb-home-")))
    register_host(home)
    results = run_corpus(paths, args.variant or VARIANTS, verbose=True)
    for which, (same, cells) in summary(results).items():
        print(f"realnb {which}: {same}/{cells} cells alike")
    return 0


if __name__ == "__main__":
    sys.exit(main())
