"""The cell runner and its pool of child kernels: the layer between the front doors (the
magics) and the core (environments, kernels, transfer, analysis)."""

from __future__ import annotations

from isocell.runner._cell import CellRequest, CellResult
from isocell.runner._kept import KeptInChild, fetch_before_restart, fetch_read_kept
from isocell.runner._pool import KernelPool, PooledKernel
from isocell.runner._published import PublishedKernel, published_kernels, stop_published
from isocell.runner._record import KernelRecord
from isocell.runner._runner import CellRunner

__all__ = [
    "CellRequest",
    "CellResult",
    "CellRunner",
    "KeptInChild",
    "KernelPool",
    "KernelRecord",
    "PooledKernel",
    "PublishedKernel",
    "fetch_before_restart",
    "fetch_read_kept",
    "published_kernels",
    "stop_published",
]
