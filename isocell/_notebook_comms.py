"""A child's comms, opened in the notebook's kernel as its own: widgets from isolated cells.

Jupyter widgets (ipywidgets, tqdm's notebook bar) are comms: the kernel opens one per model
(``comm_open``), and the model's state then travels both ways as ``comm_msg`` (Jupyter
messaging protocol, "Custom Messages"). The frontend knows only the notebook's kernel, so for
each comm a child opens, the notebook's kernel opens a twin with the same id, target and data
(through the ``comm`` package, as ipykernel's own comms are made), registered with its comm
manager: what the child sends the twin publishes, and what the frontend sends the twin
forwards to the child (:data:`isocell.kernel.CommForward`), whose widget handles it as if
the frontend had sent it there.

Comms the frontend opens (``jupyter.widget.control``, which ipywidgets 8 asks for the state of
every model after a page reload) reach only the notebook's own targets.
"""

from __future__ import annotations

from typing import Any

from isocell.kernel import CommForward

__all__ = ["relay_comm"]


def relay_comm(
    kind: str,
    content: dict[str, Any],
    metadata: dict[str, Any],
    buffers: list[Any],
    forward: CommForward,
) -> None:
    """Give one of a child's comm messages (``comm_open``, ``comm_msg``, ``comm_close``) to
    the frontend through the notebook kernel's twin of that comm; one for a comm the notebook
    does not know is dropped, as a kernel drops one for an unknown comm."""
    import comm

    comm_id = str(content.get("comm_id", ""))
    data = content.get("data") or {}
    if kind == "comm_open":
        twin = comm.create_comm(
            comm_id=comm_id,
            target_name=content.get("target_name", "comm"),
            target_module=content.get("target_module"),
            data=data,
            metadata=metadata,
            buffers=buffers,
        )
        twin.on_msg(lambda message: _forward("comm_msg", comm_id, message, forward))
        twin.on_close(lambda message: _forward("comm_close", comm_id, message, forward))
        return
    known = comm.get_comm_manager().get_comm(comm_id)
    if known is None:
        return
    if kind == "comm_msg":
        known.send(data=data, metadata=metadata, buffers=buffers)
    elif kind == "comm_close":
        known.close(data=data, metadata=metadata, buffers=buffers)


def _forward(kind: str, comm_id: str, message: dict[str, Any], forward: CommForward) -> None:
    """Send the frontend's ``message`` to the twin (``kind``) on to the child's comm."""
    content = {"comm_id": comm_id, "data": message.get("content", {}).get("data") or {}}
    buffers = [bytes(b) for b in message.get("buffers") or []]
    try:
        forward(kind, content, message.get("metadata") or {}, buffers)
    except Exception:
        pass
