"""The real-notebook corpus (``tests/realnb.py``): every cell isolated, then the odd and the
even cells, each compared cell by cell with plain runs; the summary line is printed and the
test fails below the floors.

Issue #14's targets are 481/481 with every cell isolated and 98% with odd or even cells. The
floors below are what isocell reached when they were last raised (a ratchet: raise them as
cells are fixed, never lower them); the README's "What differs from a local cell" explains
the cells still differing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import realnb

pytestmark = [pytest.mark.slow, pytest.mark.realnb]

#: variant -> the fewest cells alike accepted
FLOORS = {"all": 0, "odd": 0, "even": 0}


@pytest.mark.skipif(
    not realnb.notebooks(),
    reason=f"the real-notebook corpus is absent ({realnb.CORPUS}; set ISOCELL_REALNB)",
)
def test_real_notebooks_look_the_same_isolated(
    isocell_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("matplotlib", "scipy", "seaborn", "numexpr"):
        pytest.importorskip(module, reason=f"the corpus needs {module} (the realnb extra)")
    monkeypatch.setenv("ISOCELL_HOME", str(isocell_home))
    realnb.register_host(isocell_home)
    results = realnb.run_corpus(realnb.notebooks())
    totals = realnb.summary(results)
    for which, (same, cells) in totals.items():
        print(f"realnb {which}: {same}/{cells} cells alike")
    for result in results:
        for number, plain, ours in result.differing:
            print(f"{result.notebook} [{result.variant}] cell {number}: {plain} -> {ours}")
    below = {w: totals[w] for w, floor in FLOORS.items() if totals[w][0] < floor}
    assert not below, f"below the floors {FLOORS}: {below}"
