"""Moving variables between the notebook and a child kernel, in both directions."""

from __future__ import annotations

from isocell.transfer._fingerprint import fingerprint
from isocell.transfer._host import AGENT_SOURCE, Codec, host_minor, payload_path

__all__ = ["AGENT_SOURCE", "Codec", "fingerprint", "host_minor", "payload_path"]
