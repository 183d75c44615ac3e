"""Which notebook names a cell reads, binds, deletes and may mutate.

Serves ``%%isolated`` (what to ship into the child kernel and back) and the DAG export (which
cells depend on which).
"""

from __future__ import annotations

from isocell.analysis._embedded import names_in_strings_passed_to
from isocell.analysis._names import CellNames, analyze_cell, bind_last_expression, bound_in_order
from isocell.analysis._python2 import parse_cell

__all__ = [
    "CellNames",
    "analyze_cell",
    "bind_last_expression",
    "bound_in_order",
    "names_in_strings_passed_to",
    "parse_cell",
]
