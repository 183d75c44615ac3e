"""Whether the kernel's out-of-memory killer ended a child (its memory cgroup's counter)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["OutOfMemoryWatch"]


class OutOfMemoryWatch:
    """Tells a child the kernel's out-of-memory killer ended from one killed otherwise: the
    ``oom_kill`` counter of the child's memory cgroup (v2 ``memory.events``, v1
    ``memory.oom_control``), read at start and again after the child died.

    Parameters
    ----------
    counter : Path
        The file with the ``oom_kill N`` line.
    limit : Path
        The cgroup's limit (``memory.max`` or ``memory.limit_in_bytes``).
    """

    def __init__(self, counter: Path, limit: Path) -> None:
        self.counter, self.limit = counter, limit
        self.before = self._count()

    @classmethod
    def of(cls, pid: int) -> OutOfMemoryWatch | None:
        """The watch of process ``pid``'s memory cgroup; None where there is none to read."""
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            number, controllers, path = [*line.split(":", 2), "", ""][:3]
            relative = path.lstrip("/")
            if number == "0" and controllers == "":
                base = Path("/sys/fs/cgroup") / relative
                if (base / "memory.events").is_file():
                    return cls(base / "memory.events", base / "memory.max")
            elif "memory" in controllers.split(","):
                base = Path("/sys/fs/cgroup/memory") / relative
                if (base / "memory.oom_control").is_file():
                    return cls(base / "memory.oom_control", base / "memory.limit_in_bytes")
        return None

    def _count(self) -> int | None:
        try:
            for line in self.counter.read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except (OSError, ValueError):
            return None
        return None

    def fired(self) -> bool:
        """Whether the out-of-memory killer killed something in the cgroup since the start."""
        now = self._count()
        return self.before is not None and now is not None and now > self.before

    def describe(self) -> str:
        """``killed by the out-of-memory killer (memory limit 300 MiB)``."""
        try:
            text = self.limit.read_text().strip()
        except OSError:
            text = ""
        if text.isdigit() and int(text) < 2**60:
            limit = f"memory limit {int(text) / 2**20:.0f} MiB"
        else:
            limit = "no memory limit: the machine ran out"
        return f"killed by the out-of-memory killer ({limit})"
