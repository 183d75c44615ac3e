"""One persistent child ipykernel per environment: its lifecycle, and messages to and from it."""

from __future__ import annotations

from isocell.kernel._lifecycle import ChildKernel, kernel_import_error
from isocell.kernel._messages import ExecuteReply, Stdin, execute
from isocell.kernel._relay import CommForward, OutputSink
from isocell.kernel._running import running_kernels

__all__ = [
    "ChildKernel",
    "CommForward",
    "ExecuteReply",
    "OutputSink",
    "Stdin",
    "execute",
    "kernel_import_error",
    "running_kernels",
]
