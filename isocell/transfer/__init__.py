"""Moving variables between the notebook and a child kernel, in both directions.

``lookups`` is the module of ``Variable`` and ``Connection`` (Airflow's call shapes), which
runs on both sides: the notebook's reads, the secrets to mask, the ``MISSING`` marker.
``library_settings`` is the module of the libraries' process-wide settings (matplotlib's
``rcParams``, pandas' options, numpy's print options, the global random states) as both
kernels follow them.
"""

from __future__ import annotations

from isocell.envs import process_alive
from isocell.transfer import _protocol as protocol
from isocell.transfer._host import (
    WIRE_MODULES,
    WIRE_SOURCES,
    Codec,
    apply_outputs,
    host_minor,
    payload_path,
    remove_stale_payloads,
)
from isocell.transfer._scratch import scratch
from isocell.transfer._wire import settings as library_settings
from isocell.transfer._wire import variables as lookups
from isocell.transfer._wire import views as array_views
from isocell.transfer._wire.exchange import fingerprint

__all__ = [
    "WIRE_MODULES",
    "WIRE_SOURCES",
    "Codec",
    "apply_outputs",
    "array_views",
    "fingerprint",
    "host_minor",
    "library_settings",
    "lookups",
    "payload_path",
    "process_alive",
    "protocol",
    "remove_stale_payloads",
    "scratch",
]
