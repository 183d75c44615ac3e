"""A fingerprint of a value, to skip re-sending an input the child already holds unchanged.

The value is pickled (protocol 5) with its large buffers kept out of band and hashed where
they lie, so a numpy array or a DataFrame is hashed without being copied. Equal fingerprints
in one process mean the value was not changed in place between two cells.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

__all__ = ["fingerprint"]


def fingerprint(value: Any) -> bytes | None:
    """A 16-byte BLAKE2b digest of ``value``'s pickle and buffers; None if it cannot be pickled.

    Costs one pass over the value's memory (about the speed of hashing, ~1 GB/s).
    """
    digest = hashlib.blake2b(digest_size=16)

    def hash_buffer(buffer: pickle.PickleBuffer) -> bool:
        try:
            digest.update(buffer.raw())
        except BufferError:  # not contiguous: hash a contiguous copy
            digest.update(bytes(buffer))
        return False  # keep the buffer out of the pickle stream: it is hashed already

    try:
        digest.update(pickle.dumps(value, protocol=5, buffer_callback=hash_buffer))
    except Exception:
        return None
    return digest.digest()
