"""The environments cells built for themselves, over HTTP: look one up with its build log,
remove it, or remove every unused one (:mod:`isocell.envs._cache`; the named environments are
:mod:`isocell.server._envs`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized

from isocell import envs
from isocell.envs import EnvStore, Registry
from isocell.errors import RegistryError
from isocell.kernel import running_kernels
from isocell.server._base import ApiError, IsocellHandler

__all__ = ["CachedHandler", "PruneHandler"]

# A spec's content address: what EnvSpec.key gives, and nothing else reaches the store.
_KEY = re.compile(r"[0-9a-f]{16,64}")


def _found(store: EnvStore, key: str) -> dict[str, Any]:
    try:
        row = envs.cached_environment(store, Registry(store.home), key, running_kernels())
    except RegistryError as error:
        raise ApiError(404, error.reason) from None
    row["build_log"] = envs.build_log(row["path"])
    return row


def _remove(store: EnvStore, key: str) -> None:
    registry, running = Registry(store.home), running_kernels()
    try:
        row = envs.cached_environment(store, registry, key, running)
    except RegistryError as error:
        raise ApiError(404, error.reason) from None
    if row["kernel_running"]:
        raise ApiError(
            409,
            f"a child kernel runs in the environment {key}: stop it first (the sidebar's "
            "Stop, or `%isocell stop` in its notebook), then remove it",
            kernel_running=True,
        )
    envs.remove_cached(store, registry, key, running)


class CachedHandler(IsocellHandler):
    """``GET /isocell/cache/{key}``: an unnamed cached environment with its lock, path and
    ``build_log``; ``DELETE``: remove it (204; 409 while a child kernel runs in it)."""

    def key(self, key: str) -> str:
        if not _KEY.fullmatch(key):
            raise ApiError(400, f"{key!r} is not an environment's key (hex digits)")
        return key

    @tornado.web.authenticated
    @authorized
    async def get(self, key: str) -> None:
        row = await self.call(_found, EnvStore(), self.key(key))
        self.reply({"environment": row})

    @tornado.web.authenticated
    @authorized
    async def delete(self, key: str) -> None:
        await self.call(_remove, EnvStore(), self.key(key))
        self.set_status(204)
        self.finish()


class PruneHandler(IsocellHandler):
    """``POST /isocell/cache/prune`` ``{"unused_days": N, "dry_run": bool}``: remove the
    unnamed cached environments no child kernel runs in (and not used for N days, when
    given); answers ``{"removed": [row, ...], "freed_bytes": n, "dry_run": bool}``."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = await self.body()
        body.expect("unused_days", "dry_run")
        days = body.data.get("unused_days")
        if days is not None and (
            isinstance(days, bool)
            or not isinstance(days, (int, float))
            or not math.isfinite(days)
            or days < 0
        ):
            raise ApiError(400, f"'unused_days' must be a number of days (0 or more), not {days!r}")
        dry_run = body.flag("dry_run")
        store = EnvStore()

        def work() -> list[dict[str, Any]]:
            return envs.prune(
                store, Registry(store.home), running_kernels(), unused_days=days, dry_run=dry_run
            )

        removed = await self.call(work)
        freed = sum(row["size_bytes"] or 0 for row in removed)
        self.reply({"removed": removed, "freed_bytes": freed, "dry_run": dry_run})
