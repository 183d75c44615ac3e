"""What a child sends while the notebook asks it nothing: shown as a local kernel shows it.

A thread a cell started may print after the cell ended, and a widget's model answers the
frontend's messages while no cell runs (a slider moved, tqdm's bar). Locally ipykernel sends
such output with the parent of the latest request, so the frontend shows it with the cell
that ran last or runs now. :class:`BetweenRequests` reads the child's iopub channel on a
thread of its own while no request runs and hands what it reads to a sink that writes into
the notebook kernel from that thread (whose ipykernel then gives it its latest parent).

One reader at a time: a request takes the channel with :meth:`BetweenRequests.paused`, which
wakes the thread from its poll (a pipe in the same poll) and waits until it let go.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

from isocell.kernel._relay import SHOWN, OutputSink, Relay, forward_to

__all__ = ["BetweenRequests"]

# Messages read in one pass before the thread looks at its wake-up pipe again.
_BATCH = 500


class BetweenRequests:
    """Relays a child's output messages to ``sink`` while no request runs in it.

    Parameters
    ----------
    client
        The child's jupyter_client ``KernelClient``, channels started.
    sink : OutputSink
        Where the messages go (it may have ``comm``: :mod:`isocell.kernel._relay`).
    label : str
        The child's name, for the thread's.
    """

    def __init__(self, client: Any, sink: OutputSink, label: str) -> None:
        self.client = client
        self.relay = Relay(sink, forward_to(client))
        self._condition = threading.Condition()
        self._waiting = 0  # requests that want the channel
        self._reading = False
        self._stopped = False
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(
            target=self._run, name=f"isocell-between-requests {label}", daemon=True
        )

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Leave the channel to the caller while the block runs."""
        with self._condition:
            self._waiting += 1
            if not self._stopped and self._wake_write >= 0:
                os.write(self._wake_write, b".")
            while self._reading:
                self._condition.wait()
        try:
            yield
        finally:
            with self._condition:
                self._waiting -= 1
                self._condition.notify_all()

    def stop(self) -> bool:
        """Stop reading (before the channels close); safe to call twice. Whether the thread
        ended: while it has not (a sink that blocks), the channels must stay open, since ZMQ
        aborts the process when a socket closes under a poll."""
        with self._condition:
            if not self._stopped:
                self._stopped = True
                os.write(self._wake_write, b".")
                self._condition.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=15)
        if self._thread.is_alive():
            return False
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_read = self._wake_write = -1
        return True

    def _run(self) -> None:
        import zmq

        socket = self.client.iopub_channel.socket
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(self._wake_read, zmq.POLLIN)
        while True:
            with self._condition:
                while self._waiting and not self._stopped:
                    self._condition.wait()
                if self._stopped:
                    return
                self._reading = True
            try:
                ready = dict(poller.poll())
                if self._wake_read in ready:
                    os.read(self._wake_read, 64)
                if socket in ready:
                    self._read()
            except Exception:
                with self._condition:
                    self._reading = False
                    self._condition.notify_all()
                return
            with self._condition:
                self._reading = False
                self._condition.notify_all()

    def _read(self) -> None:
        channel = self.client.iopub_channel
        for _ in range(_BATCH):
            if not channel.msg_ready():
                break
            message = channel.get_msg(timeout=0)
            if message["msg_type"] in SHOWN:
                self.relay.message(message)
        self.relay.flush()
