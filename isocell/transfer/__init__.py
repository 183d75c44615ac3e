"""Moving variables between the notebook and a child kernel, in both directions."""

from __future__ import annotations

from isocell.transfer import _protocol as protocol
from isocell.transfer._host import (
    WIRE_SOURCES,
    Codec,
    apply_outputs,
    host_minor,
    payload_path,
    remove_stale_payloads,
)
from isocell.transfer._scratch import scratch
from isocell.transfer._wire.exchange import fingerprint

__all__ = [
    "WIRE_SOURCES",
    "Codec",
    "apply_outputs",
    "fingerprint",
    "host_minor",
    "payload_path",
    "protocol",
    "remove_stale_payloads",
    "scratch",
]
