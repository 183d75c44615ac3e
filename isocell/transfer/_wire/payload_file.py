"""The payload file: one header pickle and the raw buffers it refers to, out of band.

Layout (all integers little-endian unsigned 64-bit)::

    b"ISOCELL1"                       magic and format version
    header length                     in bytes
    header                            pickle protocol 5 of plain data (see below)
    padding to a multiple of 64
    buffer 0, padding, buffer 1, ...  each starting at a multiple of 64 bytes

The header is ``{"items": ..., "buffers": [(offset, length), ...]}``. Writing copies each
buffer once, into the file (in ``/dev/shm`` that is memory); reading maps the file
copy-on-write, so buffers come back as memoryviews of the mapping without a copy, and stay
writable. The file can be deleted as soon as it is mapped.

This module runs on both sides, on any CPython >= 3.8, with the standard library alone.
"""

import errno
import mmap
import os
import pickle
import struct

MAGIC = b"ISOCELL1"
ALIGN = 64
_PREFIX = struct.Struct("<8sQ")


def _aligned(offset):  # type: ignore[no-untyped-def]
    return (offset + ALIGN - 1) // ALIGN * ALIGN


def write_payload(path, items, buffers, protocol=4):  # type: ignore[no-untyped-def]
    """Write ``items`` (plain data, pickled with ``protocol``) and ``buffers`` (buffer-protocol
    objects) to ``path``.

    Returns the number of bytes written.
    """
    views = [memoryview(buffer).cast("B") for buffer in buffers]
    placed = []
    # The header holds the offsets, which depend on the header's length: place buffers after
    # a first estimate, and redo the (cheap) header if it grew past it.
    estimate = 0
    while True:
        offset = _aligned(_PREFIX.size + estimate)
        placed = []
        for view in views:
            placed.append((offset, view.nbytes))
            offset = _aligned(offset + view.nbytes)
        # protocol 4: what every Python 3 isocell supports reads (5 came with 3.8); 2 for 2.7
        header = pickle.dumps({"items": items, "buffers": placed}, protocol=protocol)
        if _PREFIX.size + len(header) <= _aligned(_PREFIX.size + estimate) or not views:
            break
        estimate = len(header)
    total = offset if views else _PREFIX.size + len(header)
    _check_room(path, total)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(fd, "wb", closefd=False) as handle:
            handle.write(_PREFIX.pack(MAGIC, len(header)))
            handle.write(header)
            for view, (start, _length) in zip(views, placed):
                handle.seek(start)
                handle.write(view)
            handle.truncate(total)
    finally:
        os.close(fd)
    return total


def _check_room(path, size):  # type: ignore[no-untyped-def]
    """Raise ENOSPC before writing a payload its file system cannot hold (a full tmpfs fails
    the write half-way, or worse, a later read of the mapped file)."""
    try:
        stats = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (OSError, AttributeError):
        return
    free = stats.f_bavail * stats.f_frsize
    if size > free:
        folder = os.path.dirname(os.path.abspath(path))
        raise OSError(
            errno.ENOSPC, f"a payload of {size} bytes does not fit in {folder} ({free} bytes free)"
        )


def read_payload(path):  # type: ignore[no-untyped-def]
    """Map ``path`` and return ``(items, buffers)``; buffers are memoryviews of the mapping.

    Raises
    ------
    ValueError
        If the file is not a payload of this format.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size < _PREFIX.size:
            raise ValueError("payload file is truncated")
        mapping = mmap.mmap(fd, size, access=mmap.ACCESS_COPY)
    finally:
        os.close(fd)
    magic, length = _PREFIX.unpack_from(mapping, 0)
    if magic != MAGIC:
        raise ValueError("not an isocell payload (magic %r)" % (magic,))
    # a Python 2 child's str arrives as bytes (Python 3 writers emit no such strings)
    header = pickle.loads(mapping[_PREFIX.size : _PREFIX.size + length], encoding="bytes")
    whole = memoryview(mapping)
    buffers = [whole[start : start + length] for start, length in header["buffers"]]
    return header["items"], buffers


def names(path):  # type: ignore[no-untyped-def]
    """The variable names a payload holds, read from its header alone (no mapping), sorted;
    an empty list when the file cannot be read or is not a payload. For messages about a
    payload that could not be mapped."""
    try:
        with open(path, "rb") as handle:
            magic, length = _PREFIX.unpack(handle.read(_PREFIX.size))
            if magic != MAGIC:
                return []
            header = pickle.loads(handle.read(length), encoding="bytes")
        return sorted(set(header["items"]["items"]) | set(header["items"]["globals"]))
    except Exception:
        return []
