"""Run code in a child kernel and relay every output message to the notebook.

jupyter_client's ``execute_interactive`` drops ``update_display_data``, ``clear_output`` and
comm messages and can reorder streams, so the iopub channel is read here, in order, and each
message is handed to an :class:`OutputSink` (Jupyter messaging protocol 5.x: ``stream``,
``display_data``, ``update_display_data``, ``clear_output``, ``execute_result``, ``error``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from isocell.errors import ChildDiedError
from isocell.kernel._lifecycle import ChildKernel
from isocell.kernel._relay import SHOWN, CommForward, OutputSink, Relay, forward_to
from isocell.kernel._supervision import INTERRUPT_GRACE, Supervisor

__all__ = ["ExecuteReply", "Watch", "exchange", "execute"]

# After the reply, how long the child's last outputs and its "idle" status may keep the cell
# waiting once nothing more arrives (seconds). A PUB socket drops messages for a subscriber
# that falls behind (ZMQ's high-water mark), the idle status among them: without this bound a
# flood of output could leave the cell waiting for ever. nbclient bounds this wait the same
# way (its ``iopub_timeout``).
IOPUB_GRACE = 5.0
# Messages read in one pass before the reply, the clock and the child are looked at again.
_BATCH = 500
#: Shown on stderr when the cell's end came but some of its output may not have.
OUTPUT_LOST = (
    "\n[isocell: the child kernel's output outran the notebook and some of it may be missing; "
    "write large outputs to a file instead]\n"
)


@dataclass
class ExecuteReply:
    """The outcome of one execute request.

    Attributes
    ----------
    status : str
        ``"ok"``, ``"error"`` or ``"aborted"`` (the ``execute_reply`` status).
    ename, evalue : str
        The exception, when status is ``"error"``.
    traceback : list of str
        The child's formatted traceback (ANSI colours), from the ``error`` message.
    user_expressions : dict
        The reply's evaluated ``user_expressions``.
    display : tuple or None
        The ``execute_result`` (mime bundle, metadata): the cell's last value, as the child
        rendered it. Kept here, not sent to the sink, for the caller to return as the cell's
        own value.
    interrupted : bool
        True if the notebook's interrupt (or the timeout) stopped the cell.
    output_lost : bool
        True if the child's "idle" status never came after its reply: ZMQ dropped output
        messages the notebook did not read fast enough (a notice went to the sink's stderr).
    timed_out : bool
        True if ``timeout`` ran out.
    execution_count : int or None
        The child's count of the request (``execution_reply``), as tracebacks show it.
    payload : list of dict
        The reply's payloads (the pager's text, ``set_next_input``).
    """

    status: str
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)
    user_expressions: dict[str, Any] = field(default_factory=dict)
    display: tuple[dict[str, Any], dict[str, Any]] | None = None
    interrupted: bool = False
    output_lost: bool = False
    timed_out: bool = False
    execution_count: int | None = None
    payload: list[dict[str, Any]] = field(default_factory=list)


class Watch(Protocol):
    """Who decides what happens while a request runs (:class:`~isocell.kernel._supervision.
    Supervisor`): told each pass of the loop, and of the notebook's interrupt."""

    def tick(self, now: float, quiet: bool) -> None: ...

    def interrupt(self, now: float) -> None: ...


#: ``poll(milliseconds) -> (iopub ready, shell ready)``; it also wakes for the stdin channel.
Poll = Callable[[int], tuple[bool, bool]]

#: ``stdin(prompt, password) -> the line typed``: how the notebook reads a line for a child's
#: ``input()`` or ``getpass()``; may raise ``KeyboardInterrupt`` (the user interrupted).
Stdin = Callable[[str, bool], str]


def execute(
    child: ChildKernel,
    code: str,
    sink: OutputSink | None,
    *,
    silent: bool = False,
    store_history: bool = True,
    user_expressions: dict[str, str] | None = None,
    timeout: float | None = None,
    metadata: dict[str, Any] | None = None,
    stdin: Stdin | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> ExecuteReply:
    """Execute ``code`` in ``child``, relaying its outputs to ``sink`` as they arrive.

    The notebook's interrupt (KeyboardInterrupt here) interrupts the child, which keeps its
    state; the reply then says ``interrupted``. A second interrupt, or no answer within
    ``INTERRUPT_GRACE`` seconds, kills the child. ``timeout`` interrupts, then kills, the same
    way (the policy: :class:`~isocell.kernel._supervision.Supervisor`).

    Parameters
    ----------
    child : ChildKernel
        A started child.
    code : str
        The code, as a cell's source.
    sink : OutputSink or None
        Receives outputs; None drops them.
    silent, store_history, user_expressions
        As in the messaging protocol's ``execute_request``.
    timeout : float or None
        Seconds before the cell is interrupted; None for no limit.
    metadata : dict or None
        The request's metadata (the protocol's ``metadata`` dict; isocell's agent reads
        ``isocell_load`` there).
    stdin : callable or None
        Reads the line a child's ``input_request`` asks for (the request then has
        ``allow_stdin``); None: the child's ``input()`` raises ``StdinNotImplementedError``,
        as a local cell's does where the frontend allows no input.
    meanwhile : callable or None
        Work of the notebook's done once the request is sent, while the child runs it (its
        outputs wait meanwhile); an interrupt in it interrupts the child.

    Raises
    ------
    ChildDiedError
        If the child dies or has to be killed before replying.
    """
    client = child.client
    if client is None:
        raise ChildDiedError(child.label, "it was stopped")
    # As KernelClient.execute builds it, plus the metadata it has no parameter for.
    content = {
        "code": code,
        "silent": silent,
        "store_history": store_history,
        "user_expressions": user_expressions or {},
        "allow_stdin": stdin is not None,
        "stop_on_error": True,
    }
    request = client.session.msg("execute_request", content, metadata=metadata or {})
    supervisor = Supervisor(child, time.monotonic(), timeout, INTERRUPT_GRACE)
    with child.requests_alone():  # the relay between requests leaves the channel to this one
        poll = _zmq_poll(client)
        if meanwhile is not None:
            poll = _first(meanwhile, poll)
        result = exchange(
            client, request, sink, supervisor, poll, stdin=stdin, forward=forward_to(client)
        )
    result.interrupted, result.timed_out = supervisor.interrupted, supervisor.timed_out
    return result


def _first(work: Callable[[], None], poll: Poll) -> Poll:
    """``poll``, which does ``work`` before its first wait (the request is sent by then)."""
    pending = [work]

    def first_then_poll(milliseconds: int) -> tuple[bool, bool]:
        while pending:
            pending.pop()()
        return poll(milliseconds)

    return first_then_poll


def _zmq_poll(client: Any) -> Poll:
    import zmq

    poller = zmq.Poller()
    iopub, shell = client.iopub_channel.socket, client.shell_channel.socket
    poller.register(iopub, zmq.POLLIN)
    poller.register(shell, zmq.POLLIN)
    stdin = getattr(client.stdin_channel, "socket", None)
    if stdin is not None:
        poller.register(stdin, zmq.POLLIN)

    def poll(milliseconds: int) -> tuple[bool, bool]:
        ready = dict(poller.poll(milliseconds))
        return iopub in ready, shell in ready

    return poll


def exchange(
    client: Any,
    request: dict[str, Any],
    sink: OutputSink | None,
    watch: Watch,
    poll: Poll,
    clock: Callable[[], float] = time.monotonic,
    stdin: Stdin | None = None,
    forward: CommForward | None = None,
) -> ExecuteReply:
    """Send ``request`` and read its messages until its reply and its idle status came.

    Outputs go to ``sink`` in order as they arrive, those of the child's threads started by
    earlier requests too (as ipykernel shows a thread's output in the cell running when it
    prints). This loop decides nothing about the
    child: each pass it tells ``watch`` the time and whether the child was quiet, and hands
    it the notebook's ``KeyboardInterrupt``; whatever ``watch`` raises ends the exchange.

    Parameters
    ----------
    client
        jupyter_client's ``KernelClient`` (its ``shell_channel`` and ``iopub_channel``:
        ``send``, ``msg_ready``, ``get_msg``).
    request : dict
        The message to send on the shell channel.
    sink : OutputSink or None
    watch : Watch
    poll : callable
        Waits up to the milliseconds given for a channel to have a message.
    clock : callable
        Seconds, monotonic.
    stdin : callable or None
        Answers the request's ``input_request`` messages (the client's ``stdin_channel``;
        ``input`` sends the reply), after the outputs that came before them.
    forward : callable or None
        Sends the frontend's comm messages to the child (:data:`~isocell.kernel._relay.
        CommForward`); None: the sink gets no comm messages.

    Returns
    -------
    ExecuteReply
        Its ``interrupted`` and ``timed_out`` are left to the caller (the watch knows).
    """
    client.shell_channel.send(request)
    msg_id = request["header"]["msg_id"]
    reply: dict[str, Any] | None = None
    idle = False
    result = ExecuteReply(status="ok")
    last_output = replied_at = clock()
    relay = Relay(sink, forward)
    while reply is None or not idle:
        try:
            iopub_ready, shell_ready = poll(100)
            if iopub_ready:
                for _ in range(_BATCH):
                    if not client.iopub_channel.msg_ready():
                        break
                    message = client.iopub_channel.get_msg(timeout=0)
                    if message["parent_header"].get("msg_id") != msg_id:
                        if message["msg_type"] in SHOWN:  # a thread of an earlier cell
                            relay.message(message)
                        continue
                    last_output = clock()
                    if message["msg_type"] == "status":
                        idle = message["content"]["execution_state"] == "idle"
                    else:
                        _keep(message, relay, result)
                relay.flush()
            if stdin is not None and client.stdin_channel.msg_ready():
                _answer_input(client, msg_id, stdin, relay, watch, clock, result)
            if shell_ready:
                while client.shell_channel.msg_ready():
                    message = client.shell_channel.get_msg(timeout=0)
                    if message["parent_header"].get("msg_id") == msg_id:
                        reply = message["content"]
                        replied_at = clock()
            now = clock()
            if reply is not None and not idle and now - max(last_output, replied_at) > IOPUB_GRACE:
                result.output_lost = True
                if sink is not None:
                    sink.stream("stderr", OUTPUT_LOST)
                break
            watch.tick(now, quiet=not (iopub_ready or shell_ready))
        except KeyboardInterrupt:
            watch.interrupt(clock())
    assert reply is not None
    result.status = reply.get("status", "error")
    result.user_expressions = reply.get("user_expressions") or {}
    count = reply.get("execution_count")
    result.execution_count = count if isinstance(count, int) else None
    result.payload = [item for item in reply.get("payload") or [] if isinstance(item, dict)]
    if result.status == "error" and not result.ename:
        result.ename, result.evalue = reply.get("ename", ""), reply.get("evalue", "")
        result.traceback = list(reply.get("traceback") or [])
    return result


def _keep(message: dict[str, Any], relay: Relay, result: ExecuteReply) -> None:
    """A message of the request: its error and last value kept in ``result`` (the caller
    raises the one and returns the other, so that IPython shows each once, as the cell's),
    the rest shown."""
    kind, content = message["msg_type"], message["content"]
    if kind == "error":
        result.ename, result.evalue = content.get("ename", ""), content.get("evalue", "")
        result.traceback = list(content.get("traceback") or [])
    elif kind == "execute_result":
        result.display = (content.get("data", {}), content.get("metadata", {}))
    else:
        relay.message(message)


def _answer_input(
    client: Any,
    msg_id: str,
    stdin: Stdin,
    relay: Relay,
    watch: Watch,
    clock: Callable[[], float],
    result: ExecuteReply,
) -> None:
    """Answer the child's ``input_request`` with the line the notebook reads, after showing
    the outputs the child sent before it (ipykernel flushes them first, on another socket).
    An interrupt while the notebook waits (or a failure to read) interrupts the child's
    ``input()``, as a local cell's interrupt does."""
    message = client.stdin_channel.get_msg(timeout=0)
    if message["msg_type"] != "input_request" or message["parent_header"].get("msg_id") != msg_id:
        return
    while client.iopub_channel.msg_ready():
        output = client.iopub_channel.get_msg(timeout=0)
        if output["parent_header"].get("msg_id") == msg_id and output["msg_type"] != "status":
            _keep(output, relay, result)
        elif output["msg_type"] in SHOWN:
            relay.message(output)
    relay.flush()
    content = message["content"]
    try:
        line = stdin(str(content.get("prompt", "")), bool(content.get("password", False)))
    except (KeyboardInterrupt, Exception):
        # the child must not wait for ever: it is interrupted, as the notebook's input was
        watch.interrupt(clock())
        return
    client.input(line)
