"""A build's progress as the notebook shows it (issue #15): the bundle isocell's JupyterLab
renderer reads, and the text every other frontend shows."""

from __future__ import annotations

import gc
import os
import sys
import warnings
from pathlib import Path

import pytest

from isocell._build_progress import MIME_TYPE, BuildLine, BuildState
from isocell.envs import BuildProgress
from isocell.envs._build import BuildCommands
from isocell.errors import BuildError


def _statuses(state: BuildState) -> list[str]:
    return [step["status"] for step in state.bundle()[MIME_TYPE]["steps"]]


def test_steps_follow_uvs_lines_and_end_in_one_summary_line() -> None:
    state = BuildState()
    state.take(BuildProgress("venv", "creating the virtual environment", 0.1))
    assert _statuses(state) == ["waiting"] * 4
    state.take(BuildProgress("resolve", "Resolved 14 packages in 310ms", 0.5, 14))
    assert _statuses(state) == ["active", "waiting", "waiting", "waiting"]
    state.take(BuildProgress("install", "Prepared 14 packages in 2.1s", 2.6, 14))
    assert _statuses(state) == ["done", "active", "waiting", "waiting"]
    state.take(BuildProgress("install", "Installed 14 packages in 40ms", 2.7, 14))
    state.take(BuildProgress("lock", "recording the lock", 2.8, 14))
    assert _statuses(state) == ["done", "done", "done", "active"]
    bundle = state.bundle()
    assert bundle[MIME_TYPE]["total"] == 14 and bundle[MIME_TYPE]["summary"] is None
    assert bundle["text/plain"] == "isocell: lock, 14 packages, 2.8 s: recording the lock"
    state.take(BuildProgress("done", "built in 2.9 s", 2.9, 14))
    bundle = state.bundle()
    assert _statuses(state) == ["done"] * 4
    assert bundle["text/plain"] == "isocell: environment ready (built in 2.9 s, 14 packages)"
    assert bundle[MIME_TYPE]["log"][0] == "creating the virtual environment"
    assert bundle[MIME_TYPE]["elapsed"] == 2.9


def test_a_failed_build_says_why_first() -> None:
    state = BuildState()
    state.take(BuildProgress("resolve", "resolving", 0.2))
    state.fail("no version of pandas satisfies pandas==0.0.1")
    bundle = state.bundle()
    assert bundle["text/plain"].startswith(
        "isocell: the environment could not be built: no version of pandas"
    )
    assert _statuses(state)[0] == "failed" and bundle[MIME_TYPE]["failed"] is True


def test_the_log_keeps_its_latest_lines_once_each() -> None:
    state = BuildState()
    for number in range(1000):
        state.take(BuildProgress("install", f"line {number}", 1.0))
        state.take(BuildProgress("install", f"line {number}", 1.0))
    log = state.bundle()[MIME_TYPE]["log"]
    assert len(log) == 400 and log[-1] == "line 999" and log[0] == "line 600"


def test_a_terminal_gets_one_line_per_step(capsys) -> None:
    line = BuildLine(object())  # not a kernel's shell
    line(BuildProgress("resolve", "Resolved 3 packages", 0.1, 3))
    line(BuildProgress("install", "Installed 3 packages", 0.5, 3))
    line(BuildProgress("install", "Installed 3 packages again", 0.6, 3))
    line(BuildProgress("done", "built in 0.7 s", 0.7, 3))
    assert line.built
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "isocell: resolve, 3 packages, 0.1 s: Resolved 3 packages",
        "isocell: install, 3 packages, 0.5 s: Installed 3 packages",
        "isocell: environment ready (built in 0.7 s, 3 packages)",
    ]
    line.finish(None)  # a finished build: nothing more
    assert capsys.readouterr().err == ""


def test_a_build_error_reads_cause_first_with_the_commands_left_in_the_log() -> None:
    from isocell.errors import BuildError

    uv = (
        "$ /usr/bin/uv venv /tmp/xyz/.build-abc/env\n"
        "$ /usr/bin/uv pip install -r /tmp/xyz/.build-abc/env/.requirements.own.in\n"
        "Using Python 3.11.7 environment at: env\n"
        "error: No solution found when resolving dependencies\n"
        "  cause: Because no version of pandas==0.0.1, the requirements are unsatisfiable.\n"
    )
    error = BuildError("building ... failed: uv exited with code 1 (full log: /h/x.log)", uv)
    text = str(error)
    assert text.splitlines() == [
        "No solution found when resolving dependencies",
        "cause: Because no version of pandas==0.0.1, the requirements are unsatisfiable.",
        "building ... failed: uv exited with code 1 (full log: /h/x.log)",
    ]
    assert "/tmp/xyz" not in text and error.log == uv
    pip = (
        "$ pip install six==0.0.1\n"
        "ERROR: Could not find a version that satisfies the requirement six==0.0.1\n"
        "ERROR: No matching distribution found for six==0.0.1\n"
    )
    assert str(BuildError("failed", pip)).splitlines()[:2] == [
        "Could not find a version that satisfies the requirement six==0.0.1",
        "No matching distribution found for six==0.0.1",
    ]
    assert str(BuildError("failed", "$ cmd\nKilled\n")) == "Killed\nfailed"
    assert str(BuildError("failed")) == "failed"


@pytest.mark.parametrize("code", [0, 3])
def test_a_builders_output_pipe_is_closed_whatever_its_exit(code: int) -> None:
    # The builder's stdout pipe was left to the garbage collector: a ResourceWarning, which
    # once surfaced inside another test's `pytest.warns` block.
    log: list[str] = []
    events: list[BuildProgress] = []
    commands = BuildCommands(events.append, log)
    script = f"import sys; print('Resolved 3 packages in 5ms'); sys.exit({code})"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            commands.run("install", [sys.executable, "-c", script], Path.cwd(), dict(os.environ))
        except BuildError:
            assert code != 0
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert commands.packages == 3 and log[-1] == "Resolved 3 packages in 5ms"
    assert events[-1].message == "Resolved 3 packages in 5ms"
