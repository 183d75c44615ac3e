"""Hand a child's output messages to the notebook, in order (Jupyter messaging protocol 5.x).

Shown: ``stream``, ``display_data``, ``update_display_data``, ``clear_output``, and the comm
messages (``comm_open``, ``comm_msg``, ``comm_close``) that widgets (ipywidgets, tqdm's
notebook bar) live on. A sink that has a ``comm`` method receives the comm messages with a
way to answer the child (the frontend's messages to that comm); one without drops them, as
a terminal shows a widget as text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["SHOWN", "CommForward", "OutputSink", "Relay", "forward_to"]

# Stream text joined into one write to the sink (characters): a flood of small messages
# becomes a few large writes (each write to the notebook's stdout may wait on its I/O thread).
_COALESCE = 1 << 20

#: The message types a sink is shown.
SHOWN = frozenset(
    {
        "stream",
        "display_data",
        "update_display_data",
        "clear_output",
        "comm_open",
        "comm_msg",
        "comm_close",
    }
)

#: ``forward(msg_type, content, metadata, buffers)``: send a comm message to the child (its
#: shell channel), as the frontend sends one to the kernel that opened the comm.
CommForward = Callable[[str, dict[str, Any], dict[str, Any], list[Any]], None]


class OutputSink(Protocol):
    """Where a child's outputs go (the notebook cell's output area, or a test's list).

    A sink may also have ``comm(msg_type, content, metadata, buffers, forward)``
    (:data:`CommForward`): it then receives the child's comm messages.
    """

    def stream(self, name: str, text: str) -> None: ...

    def display(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any],
        transient: dict[str, Any],
        update: bool,
    ) -> None: ...

    def clear(self, wait: bool) -> None: ...


def forward_to(client: Any) -> CommForward:
    """A :data:`CommForward` sending on ``client``'s shell channel (jupyter_client's
    ``KernelClient``): the child's kernel handles it as a frontend's comm message."""

    def forward(
        msg_type: str, content: dict[str, Any], metadata: dict[str, Any], buffers: list[Any]
    ) -> None:
        channel = client.shell_channel
        if channel is not None and channel.socket is not None:
            client.session.send(
                channel.socket, msg_type, content, metadata=metadata, buffers=buffers or None
            )

    return forward


class Relay:
    """Hands shown messages to the sink in order, joining consecutive texts of one stream."""

    def __init__(self, sink: OutputSink | None, forward: CommForward | None = None) -> None:
        self.sink, self.forward = sink, forward
        self.name = ""
        self.parts: list[str] = []
        self.size = 0

    def message(self, message: dict[str, Any]) -> None:
        """Show ``message`` if its type is one of :data:`SHOWN`."""
        content = message["content"]
        if message["msg_type"] == "stream" and self.sink is not None:
            name, text = content.get("name", "stdout"), content.get("text", "")
            if name != self.name:
                self.flush()
            self.name = name
            self.parts.append(text)
            self.size += len(text)
            if self.size >= _COALESCE:
                self.flush()
            return
        self.flush()
        self._show(message)

    def flush(self) -> None:
        """Write the stream text held back."""
        if self.parts and self.sink is not None:
            self.sink.stream(self.name, "".join(self.parts))
        self.parts, self.size = [], 0

    def _show(self, message: dict[str, Any]) -> None:
        kind, content, sink = message["msg_type"], message["content"], self.sink
        if sink is None:
            return
        if kind in ("display_data", "update_display_data"):
            sink.display(
                content.get("data", {}),
                content.get("metadata", {}),
                content.get("transient", {}),
                kind == "update_display_data",
            )
        elif kind == "clear_output":
            sink.clear(bool(content.get("wait", False)))
        elif kind.startswith("comm_") and kind in SHOWN:
            comm = getattr(sink, "comm", None)
            if comm is not None and self.forward is not None:
                buffers = [bytes(b) for b in message.get("buffers") or []]
                comm(kind, content, message.get("metadata") or {}, buffers, self.forward)
