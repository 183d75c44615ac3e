"""The child kernels of every notebook on this machine, over HTTP.

``GET /isocell/kernels`` lists what the notebook kernels' pools published
(:func:`isocell.runner.published_kernels`): the same records ``%isocell kernels`` prints in
one notebook, with the notebook each child belongs to. ``DELETE /isocell/kernels/{pid}`` stops
one of them (:func:`isocell.runner.stop_published`); only a pid that listing gives now is
signalled.
"""

from __future__ import annotations

import queue
import time
from typing import Any

import tornado.web
from jupyter_client.session import Session
from jupyter_server.auth.decorator import authorized

from isocell.envs import isocell_home
from isocell.runner import PublishedKernel, published_kernels, stop_published
from isocell.server._base import ApiError, IsocellHandler

__all__ = ["KernelHandler", "KernelRestartHandler", "KernelsHandler"]


class KernelsHandler(IsocellHandler):
    """``GET /isocell/kernels``: ``{"kernels": [record, ...]}``, oldest first."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        # Read per request: ISOCELL_HOME is the server process's, and tests change it.
        kernels = published_kernels(isocell_home())
        self.reply({"kernels": [kernel.to_json() for kernel in kernels]})


async def _child(handler: IsocellHandler, pid: str) -> PublishedKernel:
    """The child kernel of process ``pid`` that a notebook's pool lists now: 400 for what is
    no pid, 404 when none runs."""
    if not pid.isdigit() or len(pid) > 10:
        raise ApiError(400, f"a child kernel is named by its process id, not {pid!r}")
    kernels = await handler.call(published_kernels, isocell_home())
    found = next((kernel for kernel in kernels if kernel.record.pid == int(pid)), None)
    if found is None:
        raise ApiError(404, f"no child kernel of pid {pid} runs (it ended, or is no isocell child)")
    return found


class KernelHandler(IsocellHandler):
    """``DELETE /isocell/kernels/{pid}``: stop that child kernel (204); 404 if no notebook's
    pool lists a running child of that pid."""

    @tornado.web.authenticated
    @authorized
    async def delete(self, pid: str) -> None:
        await self.call(stop_published, await _child(self, pid))
        self.set_status(204)
        self.finish()


class KernelRestartHandler(IsocellHandler):
    """``POST /isocell/kernels/{pid}/restart``: restart that child kernel through its notebook
    kernel, as ``%isocell restart`` there does (what the child kept is fetched first, a fresh
    child starts at once). 200 with the new record once done; 202 when the notebook kernel is
    busy (the restart runs when its cell ends); 409 when this server does not run that
    notebook kernel."""

    @tornado.web.authenticated
    @authorized
    async def post(self, pid: str) -> None:
        await self.body()  # none is needed, but one that is sent must be a JSON object
        child = await _child(self, pid)
        manager = self._notebook_kernel(child.owner_pid)
        # A session of its own: a client sharing the manager's would see each message the
        # other clients of this process see as a replayed one (its digest history), and
        # drop it.
        session = Session(
            key=manager.session.key,
            signature_scheme=manager.session.signature_scheme,
            username="isocell",
        )
        client = manager.client(session=session)
        client.start_channels()
        try:
            # The key is the environment's hash: hex digits, never read as anything else.
            request = client.execute(
                f"%isocell restart {child.record.key}", silent=True, store_history=False
            )
            reply = await _reply(client, request, _RESTART_WAIT)
        finally:
            client.stop_channels()
        if reply is None:
            self.reply({"state": "queued"}, 202)
            return
        if reply.get("status") != "ok":
            raise ApiError(
                500,
                f"the restart failed in the notebook kernel: {reply.get('ename', '')}: "
                f"{reply.get('evalue', '')}",
            )
        now = await self.call(published_kernels, isocell_home())
        fresh = next(
            (
                kernel.to_json()
                for kernel in now
                if kernel.owner_pid == child.owner_pid and kernel.record.key == child.record.key
            ),
            None,
        )
        self.reply({"state": "restarted", "kernel": fresh})

    def _notebook_kernel(self, owner_pid: int) -> Any:
        """The manager of this server's notebook kernel of process ``owner_pid`` (409 if none:
        a notebook run by another server, papermill or a terminal)."""
        kernels = self.settings["kernel_manager"]
        for kernel_id in kernels.list_kernel_ids():
            manager = kernels.get_kernel(kernel_id)
            process = getattr(manager.provisioner, "process", None)
            if process is not None and process.pid == owner_pid:
                return manager
        raise ApiError(
            409,
            f"the notebook kernel {owner_pid} that holds this child is not run by this "
            "server: restart it from that notebook (`%isocell restart`), or stop it here",
        )


# Seconds a restart is waited for before the answer says it is queued (a busy notebook).
_RESTART_WAIT = 30.0


async def _reply(client: Any, request: str, seconds: float) -> dict[str, Any] | None:
    """The content of the execute reply to ``request``; None if it does not come in time."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await client.get_shell_msg(timeout=left)
        except queue.Empty:
            return None
        if message["parent_header"].get("msg_id") == request:
            content: dict[str, Any] = message["content"]
            return content
    return None
