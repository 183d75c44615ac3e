"""A NumPy view a cell makes of an array both sides have comes back a view of the notebook's.

``sub = grid[:2, :2]`` in an isolated cell makes, in the child, a view of the child's copy of
``grid``; its data comes back as an array of its own, and a later ``sub[0, 0] = 99`` in the
notebook would leave the notebook's ``grid`` as it was. So the child says where each view it
returns lies in an array of its namespace (:func:`hints`: the name, the byte offset from that
array's first element, the view's shape and strides), and the notebook, where its array of
that name is the one the child holds and has the same layout, binds the same view of its own
array (:func:`view_of`).

This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

import sys

__all__ = ["hints", "view_of"]

# Arrays of the namespace looked at for each view (the first ones that hold it are named).
_MOST = 3


def _bounds(array):  # type: ignore[no-untyped-def]
    """The lowest and past-the-highest byte addresses of ``array``'s elements."""
    numpy = sys.modules["numpy"]
    find = getattr(numpy, "byte_bounds", None)  # numpy 1
    if find is None:
        from numpy.lib import array_utils  # numpy 2

        find = array_utils.byte_bounds
    return find(array)


def hints(values, namespace):  # type: ignore[no-untyped-def]
    """For each value of ``values`` (name -> value) that is a view into another array of
    ``namespace``: ``name -> [[array name, offset, shape, strides, its shape, its strides],
    ...]``."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return {}
    arrays = [
        (name, value)
        for name, value in namespace.items()
        if type(value) is numpy.ndarray and name not in values and not name.startswith("_")
    ]
    found = {}
    for name, value in values.items():
        if type(value) is not numpy.ndarray or value.base is None or value.size == 0:
            continue
        low, high = _bounds(value)
        start = value.__array_interface__["data"][0]
        for other, array in arrays:
            if array.size == 0 or array.dtype != value.dtype:
                continue
            other_low, other_high = _bounds(array)
            if other_low <= low and high <= other_high:
                offset = start - array.__array_interface__["data"][0]
                place = [other, offset, list(value.shape), list(value.strides)]
                place += [list(array.shape), list(array.strides)]
                found.setdefault(name, []).append(place)
                if len(found[name]) >= _MOST:
                    break
    return found


def view_of(array, hint, like):  # type: ignore[no-untyped-def]
    """The view of ``array`` a hint of :func:`hints` places (its offset, shape and strides),
    where ``array`` has the layout the hint was made in, is contiguous, and that view holds
    what ``like`` holds; else None."""
    numpy = sys.modules.get("numpy")
    if numpy is None or type(array) is not numpy.ndarray or array.dtype != like.dtype:
        return None
    _name, offset, shape, strides, base_shape, base_strides = hint
    if list(array.shape) != list(base_shape) or list(array.strides) != list(base_strides):
        return None
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        return None
    itemsize = array.dtype.itemsize
    if offset % itemsize:
        return None
    flat = array.ravel(order="K")  # a view: the array is contiguous
    start = offset // itemsize
    if not 0 <= start < flat.size:
        return None
    try:
        view = numpy.lib.stride_tricks.as_strided(
            flat[start:], shape=tuple(shape), strides=tuple(strides), writeable=True
        )
        low, high = _bounds(view)
        array_low, array_high = _bounds(array)
        if not (array_low <= low and high <= array_high):
            return None
        return view if numpy.array_equal(view, like) else None
    except Exception:  # a layout this numpy refuses: the copy stays
        return None
