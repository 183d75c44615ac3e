"""Which interpreters run a kernel now, on this machine, read from ``/proc``."""

from __future__ import annotations

import os

__all__ = ["running_kernels"]


def running_kernels() -> set[str]:
    """The interpreters that some process runs ``-m ipykernel_launcher`` (or isocell's
    child launcher) with, and the kernel layers such a launcher uses.

    Read from ``/proc/<pid>/cmdline``: a child kernel of any notebook, started by any user
    whose processes this one may see. Costs one small read per process, no subprocess.

    Returns
    -------
    set of str
        Normalized interpreter paths, as the kernels were launched (``argv[0]``); empty where
        there is no ``/proc`` (macOS, Windows).
    """
    found: set[str] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for pid in entries:
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as stream:
                argv = stream.read().split(b"\0")
        except OSError:  # the process ended meanwhile, or is not ours to see
            continue
        if len(argv) > 2 and argv[1].endswith(b"/_child_launcher.py"):
            # isocell's launcher: the interpreter, and the kernel layer it takes ipykernel from
            found.add(os.path.normpath(os.fsdecode(argv[0])))
            layer_root = os.path.dirname(os.path.dirname(os.path.dirname(os.fsdecode(argv[2]))))
            found.add(os.path.normpath(os.path.join(layer_root, "bin", "python")))
            continue
        for index in range(1, len(argv) - 1):
            if argv[index] == b"-m" and argv[index + 1] == b"ipykernel_launcher":
                found.add(os.path.normpath(os.fsdecode(argv[0])))
                break
    return found
