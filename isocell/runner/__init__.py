"""The cell runner and its pool of child kernels: the layer between the front doors (the
magics) and the core (environments, kernels, transfer, analysis)."""

from __future__ import annotations

from isocell.runner._cell import CellRequest, CellResult
from isocell.runner._pool import KernelPool, PooledKernel
from isocell.runner._published import PublishedKernel, published_kernels
from isocell.runner._record import KernelRecord
from isocell.runner._runner import CellRunner

__all__ = [
    "CellRequest",
    "CellResult",
    "CellRunner",
    "KernelPool",
    "KernelRecord",
    "PooledKernel",
    "PublishedKernel",
    "published_kernels",
]
