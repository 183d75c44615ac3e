"""A second local user for the attacks of hostile-user tests: created with ``useradd`` when
the tests run as root, else the tests that need one skip with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

NAME = "isocell-intruder"


def intruder() -> str:
    """The intruder's user name, created if needed; skips the test where that is impossible."""
    if os.getuid() != 0:
        pytest.skip("needs root to create a second local user (useradd)")
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("useradd or runuser is missing")
    known = subprocess.run(["id", "-u", NAME], capture_output=True)
    if known.returncode != 0:
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", NAME],
            check=True,
            capture_output=True,
        )
    return NAME


def as_intruder(*command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as the intruder (it must succeed)."""
    return subprocess.run(
        ["runuser", "-u", intruder(), "--", *command], check=True, capture_output=True, text=True
    )


@contextmanager
def shared_folder() -> Iterator[Path]:
    """A folder like ``/tmp`` (mode 1777) where the intruder may plant things."""
    folder = Path(tempfile.mkdtemp(prefix="isocell-shared-", dir="/tmp"))
    try:
        folder.chmod(0o1777)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
