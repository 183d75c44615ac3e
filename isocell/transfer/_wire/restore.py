"""What to restore when a substitute goes back: the dtype a decoded column left as.

When a column or index arrives as a substitute (pandas 3 ``str`` as ``object`` under pandas
1.4, ``datetime64[us]`` as ``ns``), :func:`remember` records the dtype it left as, keyed by the
numpy array that holds the substitute: its address, shape, strides and dtype, with a weak
reference to that array's owner (an entry dies with its data, and another array reusing the
address does not match); and by its content (dtype, shape and a BLAKE2b digest of its bytes),
for copies such as ``df.copy()``, keeping the newest 1024 such entries. :func:`lookup` says,
when the data is encoded again, which dtype it should return as. Not ``attrs``: they would
show in the user's code.

This module runs on both sides, on any CPython >= 3.8, with the standard library and numpy.
"""

import hashlib
import weakref

# (address, shape, strides, dtype) -> (weakref to the owning ndarray, family, wanted spec)
_wanted: dict = {}
# The same by content: (dtype, shape, digest) -> (family, spec); the newest entries only.
# _content_heads counts entries per (dtype, shape), so that lookups hash only when a match
# is possible.
_by_content: dict = {}
_content_heads: dict = {}
_CONTENT_ENTRIES = 1024


def remember(values, family, spec):  # type: ignore[no-untyped-def]
    """Record that the data of ``values`` (an ndarray or extension array) left as ``spec``."""
    content = content_key(values, True)
    if content is not None:
        _by_content[content] = (family, spec)
        _content_heads[content[:2]] = _content_heads.get(content[:2], 0) + 1
        while len(_by_content) > _CONTENT_ENTRIES:
            oldest = next(iter(_by_content))
            del _by_content[oldest]
            _content_heads[oldest[:2]] -= 1
    found = address(values)
    if found is None:
        return
    key, owner = found

    def forget(ref, key=key):  # type: ignore[no-untyped-def]
        if _wanted.get(key, (None,))[0] is ref:
            del _wanted[key]

    _wanted[key] = (weakref.ref(owner, forget), family, spec)


def lookup(values):  # type: ignore[no-untyped-def]
    """``(family, spec)`` remembered for the data of ``values``, or None."""
    found = address(values) if _wanted else None
    entry = _wanted.get(found[0]) if found is not None else None
    if entry is not None and entry[0]() is found[1]:
        return entry[1], entry[2]
    # A copy of a received column (``df.copy()``) holds the same data elsewhere.
    content = content_key(values, False)
    return _by_content.get(content) if content is not None else None


def _arrays(values):  # type: ignore[no-untyped-def]
    return (values, getattr(values, "_ndarray", None), getattr(values, "_data", None))


def content_key(values, always):  # type: ignore[no-untyped-def]
    """``(dtype, shape, digest)`` of the fixed-width ndarray behind ``values``, or None.

    Without ``always``, only computed when some remembered data has that dtype and shape.
    """
    import numpy as np

    for array in _arrays(values):
        if isinstance(array, np.ndarray) and array.dtype.kind not in "OV":
            head = (array.dtype.str, array.shape)
            if not always and not _content_heads.get(head):
                return None
            data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
            return (*head, hashlib.blake2b(data, digest_size=16).digest())
    return None


def address(values):  # type: ignore[no-untyped-def]
    """``(key, owner)`` of the ndarray holding ``values``: its address, shape, strides and
    dtype, and the ndarray at the root of its ``base`` chain. None if no ndarray holds it."""
    import numpy as np

    for array in _arrays(values):
        if isinstance(array, np.ndarray):
            key = (array.__array_interface__["data"][0], array.shape, array.strides)
            key += (array.dtype.str,)
            while isinstance(array.base, np.ndarray):
                array = array.base
            return key, array
    return None
