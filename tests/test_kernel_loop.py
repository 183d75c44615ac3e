"""The execute loop and the supervision policy, each alone: a fake client and a fake clock for
the loop (no process, no socket), a fake child for the policy. The real child kernels are
tested through the magic (test_magic.py, test_faults.py)."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from isocell.errors import ChildDiedError
from isocell.kernel._messages import IOPUB_GRACE, OUTPUT_LOST, exchange
from isocell.kernel._supervision import LIVENESS_PERIOD, Supervisor

MSG_ID = "request-1"


def _message(kind: str, content: dict[str, Any], parent: str = MSG_ID) -> dict[str, Any]:
    return {"msg_type": kind, "content": content, "parent_header": {"msg_id": parent}}


class _Channel:
    def __init__(self) -> None:
        self.queue: deque[dict[str, Any]] = deque()
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def msg_ready(self) -> bool:
        return bool(self.queue)

    def get_msg(self, timeout: float = 0) -> dict[str, Any]:
        return self.queue.popleft()


class _Client:
    """A kernel client whose messages arrive on a script: one list of messages per poll."""

    def __init__(self, script: list[list[tuple[str, dict[str, Any]]]]) -> None:
        self.shell_channel, self.iopub_channel = _Channel(), _Channel()
        self.stdin_channel = _Channel()
        self.script = deque(script)
        self.now = 0.0
        self.typed: list[str] = []

    def input(self, line: str) -> None:
        self.typed.append(line)

    def clock(self) -> float:
        return self.now

    def poll(self, milliseconds: int) -> tuple[bool, bool]:
        self.now += milliseconds / 1000
        for channel, message in self.script.popleft() if self.script else []:
            getattr(self, f"{channel}_channel").queue.append(message)
        return self.iopub_channel.msg_ready(), self.shell_channel.msg_ready()


class _Sink:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def stream(self, name: str, text: str) -> None:
        self.events.append(("stream", name, text))

    def display(self, data: Any, metadata: Any, transient: Any, update: bool) -> None:
        self.events.append(("display", data["text/plain"], update))

    def clear(self, wait: bool) -> None:
        self.events.append(("clear", wait))


class _Watch:
    def __init__(self, fail_at: float | None = None) -> None:
        self.ticks: list[tuple[float, bool]] = []
        self.interrupts: list[float] = []
        self.fail_at = fail_at

    def tick(self, now: float, quiet: bool) -> None:
        self.ticks.append((now, quiet))
        if self.fail_at is not None and now >= self.fail_at:
            raise ChildDiedError("child", "found dead")

    def interrupt(self, now: float) -> None:
        self.interrupts.append(now)


def _iopub(kind: str, **content: Any) -> tuple[str, dict[str, Any]]:
    return ("iopub", _message(kind, content))


def _reply(status: str = "ok", **content: Any) -> tuple[str, dict[str, Any]]:
    return ("shell", _message("execute_reply", {"status": status, **content}))


REQUEST = {"header": {"msg_id": MSG_ID}, "content": {"code": "x"}}


def test_outputs_reach_the_sink_in_order_and_the_reply_ends_it() -> None:
    client = _Client(
        [
            [_iopub("status", execution_state="busy"), _iopub("stream", name="stdout", text="a")],
            [
                _iopub("stream", name="stdout", text="b"),
                _iopub("display_data", data={"text/plain": "d"}, metadata={}, transient={}),
                _iopub("stream", name="stderr", text="e"),
                ("iopub", _message("stream", {"name": "stdout", "text": "other"}, "other")),
                _iopub("clear_output", wait=True),
                _iopub("execute_result", data={"text/plain": "3"}, metadata={}),
            ],
            [_reply(user_expressions={"k": 1})],
            [],
            [_iopub("status", execution_state="idle")],
        ]
    )
    sink, watch = _Sink(), _Watch()
    result = exchange(client, REQUEST, sink, watch, client.poll, client.clock)
    assert client.shell_channel.sent == [REQUEST]
    assert sink.events == [
        ("stream", "stdout", "a"),
        ("stream", "stdout", "b"),
        ("display", "d", False),
        ("stream", "stderr", "e"),
        ("stream", "stdout", "other"),  # a thread of an earlier request: shown, as locally
        ("clear", True),
    ]
    assert result.status == "ok" and result.user_expressions == {"k": 1}
    assert result.display == ({"text/plain": "3"}, {})
    assert not result.output_lost
    assert [quiet for _, quiet in watch.ticks] == [False, False, False, True, False]


def test_consecutive_stream_texts_become_one_write() -> None:
    texts = [_iopub("stream", name="stdout", text=f"{i}\n") for i in range(300)]
    client = _Client([texts, [_reply(), _iopub("status", execution_state="idle")]])
    sink = _Sink()
    exchange(client, REQUEST, sink, _Watch(), client.poll, client.clock)
    assert sink.events == [("stream", "stdout", "".join(f"{i}\n" for i in range(300)))]


def test_an_error_is_kept_for_the_caller_not_shown() -> None:
    error = _iopub("error", ename="ValueError", evalue="bad", traceback=["tb"])
    client = _Client([[error, _reply("error", ename="ValueError", evalue="bad")]])
    client.script.append([_iopub("status", execution_state="idle")])
    sink = _Sink()
    result = exchange(client, REQUEST, sink, _Watch(), client.poll, client.clock)
    assert sink.events == []
    assert (result.status, result.ename, result.evalue, result.traceback) == (
        "error",
        "ValueError",
        "bad",
        ["tb"],
    )


def test_a_lost_idle_status_ends_the_wait_with_a_notice() -> None:
    client = _Client([[_reply()]])  # the idle status never comes
    sink = _Sink()
    result = exchange(client, REQUEST, sink, _Watch(), client.poll, client.clock)
    assert result.output_lost and sink.events == [("stream", "stderr", OUTPUT_LOST)]
    assert IOPUB_GRACE < client.now < IOPUB_GRACE + 0.5


def test_what_the_watch_raises_ends_the_exchange() -> None:
    client = _Client([])
    with pytest.raises(ChildDiedError, match="found dead"):
        exchange(client, REQUEST, _Sink(), _Watch(fail_at=1.0), client.poll, client.clock)
    assert 1.0 <= client.now < 1.2


def test_the_notebooks_interrupt_goes_to_the_watch_and_the_wait_goes_on() -> None:
    client = _Client([])
    calls = 0

    def poll(milliseconds: int) -> tuple[bool, bool]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        if calls == 4:
            client.shell_channel.queue.append(_reply("error", ename="KeyboardInterrupt")[1])
            client.iopub_channel.queue.append(_iopub("status", execution_state="idle")[1])
        return client.poll(milliseconds)

    watch = _Watch()
    result = exchange(client, REQUEST, _Sink(), watch, poll, client.clock)
    assert len(watch.interrupts) == 1 and result.ename == "KeyboardInterrupt"


# -- the policy ------------------------------------------------------------------------------


class _Child:
    label = "py3.9"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.alive = True

    def interrupt(self) -> None:
        self.calls.append("interrupt")

    def stop(self, now: bool = False) -> None:
        self.calls.append(f"stop(now={now})")

    def is_alive(self) -> bool:
        self.calls.append("is_alive")
        return self.alive

    def exit_detail(self) -> str:
        return "killed by signal 9"


def test_the_timeout_interrupts_then_the_grace_period_kills() -> None:
    child = _Child()
    supervisor = Supervisor(child, started=100.0, timeout=5.0, grace=10.0)
    supervisor.tick(104.9, quiet=False)
    assert child.calls == [] and not supervisor.interrupted
    supervisor.tick(105.1, quiet=False)
    assert child.calls == ["interrupt"] and supervisor.timed_out and supervisor.interrupted
    supervisor.tick(115.0, quiet=False)
    assert child.calls == ["interrupt"]  # still within the grace period: not interrupted twice
    with pytest.raises(ChildDiedError, match="did not stop within 10 s"):
        supervisor.tick(115.2, quiet=False)
    assert child.calls == ["interrupt", "stop(now=True)"]


def test_no_timeout_never_interrupts() -> None:
    child = _Child()
    supervisor = Supervisor(child, started=0.0, timeout=None)
    supervisor.tick(10_000.0, quiet=False)
    assert child.calls == [] and not supervisor.timed_out


def test_a_second_interrupt_kills() -> None:
    child = _Child()
    supervisor = Supervisor(child, started=0.0)
    supervisor.interrupt(1.0)
    assert child.calls == ["interrupt"] and supervisor.interrupted
    assert not supervisor.timed_out
    with pytest.raises(ChildDiedError, match="interrupted twice"):
        supervisor.interrupt(2.0)
    assert child.calls == ["interrupt", "stop(now=True)"]


def test_liveness_is_checked_only_when_quiet_and_at_most_each_period() -> None:
    child = _Child()
    supervisor = Supervisor(child, started=0.0)
    supervisor.tick(LIVENESS_PERIOD + 0.1, quiet=False)
    assert child.calls == []
    supervisor.tick(LIVENESS_PERIOD + 0.1, quiet=True)
    supervisor.tick(LIVENESS_PERIOD + 0.2, quiet=True)
    assert child.calls == ["is_alive"]
    child.alive = False
    with pytest.raises(ChildDiedError, match="killed by signal 9"):
        supervisor.tick(2 * LIVENESS_PERIOD + 0.2, quiet=True)
    assert child.calls == ["is_alive", "is_alive", "stop(now=True)"]


def _input_request(prompt: str, password: bool = False) -> tuple[str, dict[str, Any]]:
    return ("stdin", _message("input_request", {"prompt": prompt, "password": password}))


def test_an_input_request_is_answered_after_the_outputs_sent_before_it() -> None:
    client = _Client(
        [
            [_iopub("stream", name="stdout", text="before"), _input_request("Name: ")],
            [_input_request("Password: ", True)],
            [_reply()],
            [_iopub("status", execution_state="idle")],
        ]
    )
    sink = _Sink()
    asked: list[tuple[str, bool, list[Any]]] = []

    def stdin(prompt: str, password: bool) -> str:
        asked.append((prompt, password, list(sink.events)))
        return "secret" if password else "Ada"

    exchange(client, REQUEST, sink, _Watch(), client.poll, client.clock, stdin=stdin)
    before = [("stream", "stdout", "before")]
    assert asked == [("Name: ", False, before), ("Password: ", True, before)]
    assert client.typed == ["Ada", "secret"]


def test_an_interrupt_while_the_notebook_reads_input_interrupts_the_child() -> None:
    client = _Client(
        [
            [_input_request("Name: ")],
            [_reply("error", ename="KeyboardInterrupt")],
            [],
            [_iopub("status", execution_state="idle")],
        ]
    )

    def stdin(prompt: str, password: bool) -> str:
        raise KeyboardInterrupt

    watch = _Watch()
    result = exchange(client, REQUEST, _Sink(), watch, client.poll, client.clock, stdin=stdin)
    assert len(watch.interrupts) == 1 and client.typed == []
    assert result.ename == "KeyboardInterrupt"
