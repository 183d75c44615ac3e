"""The REST API under load: N clients list the environments while one client builds a new one.

    python -m bench.rest [--clients 20] [--req six==1.15.0] [--python 3.9]

Starts a real Jupyter server (a subprocess of this interpreter, isocell's server extension
enabled, an empty ``ISOCELL_HOME``), then, for the duration of one real build (``POST
/isocell/envs``, then ``GET /isocell/tasks/{id}`` polled until the task ends), runs N threads
that each send ``GET /isocell/envs`` back to back over a kept-alive connection. Prints one
markdown row: the listing's p50, p99 and max latency in milliseconds, the request count, the
errors and the build's duration.

The build shares uv's package cache with everything else on the machine, so on a machine
that built the same packages before it is a warm-cache build of a few seconds.

The clients are closed loops (no pause between requests), so the latency includes the queue
at the server: it is what a listing costs while N clients keep the server busy, not the cost
of one listing on an idle server.

Library use (``bench.rest.serve`` and ``bench.rest.measure``)::

    with serve(home) as server:
        result = measure(server, clients=20)
    print(result.p50_ms, result.p99_ms, result.errors)
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["HEADER", "Result", "Server", "main", "measure", "serve"]


@dataclass(frozen=True)
class Server:
    """A running Jupyter server, as its clients see it.

    Attributes
    ----------
    host : str
        ``"127.0.0.1"``.
    port : int
        The TCP port it listens on.
    token : str
        The token every request sends (``Authorization: token ...``).
    home : Path
        The server process's ``ISOCELL_HOME``.
    log : Path
        The server's stdout and stderr.
    process : subprocess.Popen
        The server process.
    """

    host: str
    port: int
    token: str
    home: Path
    log: Path
    process: subprocess.Popen[bytes]

    def connection(self, timeout: float = 60.0) -> http.client.HTTPConnection:
        """A new HTTP connection to the server; ``timeout`` in seconds per socket operation."""
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> tuple[int, Any]:
        """Send one request; returns ``(status, parsed JSON body or None)``.

        Parameters
        ----------
        method : str
            ``"GET"``, ``"POST"``, ...
        path : str
            From the server's root, e.g. ``"/isocell/envs"``.
        body : any JSON-serializable value or None
            Sent as the JSON body.
        connection : http.client.HTTPConnection or None
            A kept-alive connection to reuse; default: a new one, closed afterwards.

        Raises
        ------
        ValueError
            If the response body is not JSON.
        OSError, http.client.HTTPException
            If the connection fails.
        """
        own = connection is None
        conn = connection or self.connection()
        headers = {"Authorization": f"token {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            if own:
                conn.close()
        return response.status, json.loads(raw) if raw else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(home: Path, *, start_timeout: float = 120.0) -> Iterator[Server]:
    """Run a Jupyter server with isocell's REST API for the duration of the ``with`` block.

    The server is ``python -m jupyter_server`` from this interpreter, on a free port of
    127.0.0.1, with a random token, a temporary root folder and runtime folder, and
    ``ISOCELL_HOME=home``; the extension is enabled on the command line
    (``--ServerApp.jpserver_extensions``), whatever the installed configuration says.

    Parameters
    ----------
    home : Path
        The server's ``ISOCELL_HOME`` (created if missing).
    start_timeout : float
        Seconds to wait for the server to answer before giving up.

    Yields
    ------
    Server
        The running server; it is stopped on exit (``POST /api/shutdown``, then SIGTERM,
        then SIGKILL, each after a wait).

    Raises
    ------
    RuntimeError
        If the server exits or does not answer within ``start_timeout`` (with its log's tail).
    """
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="isocell-bench-rest-") as scratch:
        root = Path(scratch) / "root"
        root.mkdir()
        log = Path(scratch) / "server.log"
        port, token = _free_port(), secrets.token_hex(16)
        env = {
            **os.environ,
            "ISOCELL_HOME": str(home),
            "JUPYTER_RUNTIME_DIR": str(Path(scratch) / "runtime"),
        }
        argv = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.jpserver_extensions=isocell.server=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--allow-root")  # containers and CI machines often run as root
        with open(log, "wb") as output:
            process = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output
            )
        server = Server("127.0.0.1", port, token, home, log, process)
        try:
            _wait_until_up(server, start_timeout)
            yield server
        finally:
            _stop(server)


def _wait_until_up(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the Jupyter server exited with code {server.process.returncode}:\n"
                + _tail(server.log)
            )
        try:
            status, _ = server.request("GET", "/isocell/envs")
            if status == 200:
                return
        except (OSError, ValueError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the Jupyter server did not answer within {timeout:.0f} s:\n" + _tail(server.log)
            )
        time.sleep(0.2)


def _stop(server: Server) -> None:
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            server.request("POST", "/api/shutdown")
    for action in (None, signal.SIGTERM, signal.SIGKILL):
        if action is not None and process.poll() is None:
            process.send_signal(action)
        try:
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Result:
    """What :func:`measure` saw.

    Attributes
    ----------
    clients : int
        Listing clients that ran at once.
    latencies_ms : list of float
        Every successful listing's latency in milliseconds (request sent to body read).
    statuses : Counter
        HTTP status of every listing, e.g. ``{200: 5123}``.
    errors : list of str
        Every failure, listing or build request: unexpected status, body that is not JSON or
        not the expected shape, connection error. Empty when all went well.
    build_state : str
        The build task's final state: ``"done"``, ``"failed"``, or ``"timeout"``.
    build_error : str or None
        The task's error message when it failed.
    build_seconds : float
        Wall time from the ``POST`` to the poll that saw the task end, in seconds.
    task_polls : int
        ``GET /isocell/tasks/{id}`` requests the builder sent.
    """

    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    build_state: str = "not started"
    build_error: str | None = None
    build_seconds: float = 0.0
    task_polls: int = 0

    @property
    def requests(self) -> int:
        """Listing requests answered (any status)."""
        return sum(self.statuses.values())

    def percentile_ms(self, q: float) -> float:
        """The ``q``-th percentile (0 to 100) of the listing latencies, in milliseconds."""
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return cuts[min(98, max(0, round(q) - 1))] if 0 < q < 100 else self.max_ms

    @property
    def p50_ms(self) -> float:
        """Median listing latency, milliseconds."""
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99_ms(self) -> float:
        """99th percentile listing latency, milliseconds."""
        return self.percentile_ms(99)

    @property
    def max_ms(self) -> float:
        """Slowest listing, milliseconds."""
        return max(self.latencies_ms) if self.latencies_ms else float("nan")

    def row(self) -> str:
        """One markdown table row (see :data:`HEADER`)."""
        return (
            f"| {self.clients} | {self.p50_ms:.1f} | {self.p99_ms:.1f} | {self.max_ms:.1f} | "
            f"{self.requests} | {len(self.errors)} | {self.build_state} | "
            f"{self.build_seconds:.1f} |"
        )


#: The header of :meth:`Result.row`'s table.
HEADER = (
    "| listing clients | p50 ms | p99 ms | max ms | listings | errors | build | build s |\n"
    "|---:|---:|---:|---:|---:|---:|---|---:|"
)


def measure(
    server: Server,
    clients: int = 20,
    *,
    name: str = "bench-rest",
    requirements: Sequence[str] = ("six==1.15.0",),
    python: str | None = None,
    build_timeout: float = 600.0,
    poll_interval: float = 0.2,
) -> Result:
    """List the environments from ``clients`` threads while one real build runs.

    The listing clients start first (each sends one listing that is not measured, to open
    its connection), then the builder ``POST``s the new environment
    (expecting 202 and a task) and polls its task every ``poll_interval`` seconds until it
    is no longer running; the listing clients stop when it has. Every listing must answer
    200 with ``{"environments": [...]}``; every task poll 200 with ``{"task": {...}}``.

    Parameters
    ----------
    server : Server
        From :func:`serve`.
    clients : int
        Concurrent listing clients (threads, each with its own kept-alive connection).
    name : str
        The new environment's name (must not be registered yet).
    requirements : sequence of str
        Its requirements (PEP 508).
    python : str or None
        Its interpreter (a version or path); default: the server's own Python.
    build_timeout : float
        Seconds after which the build counts as hung (``build_state == "timeout"``).
    poll_interval : float
        Seconds between task polls.

    Returns
    -------
    Result
        Latencies (ms), statuses, errors and the build's outcome and duration (s).
    """
    result = Result(clients=clients)
    lock = threading.Lock()
    stop = threading.Event()
    ready = threading.Barrier(clients + 1)

    def failed(text: str) -> None:
        with lock:
            if len(result.errors) < 1000:
                result.errors.append(text)

    def lister() -> None:
        conn = server.connection()
        # One listing first, not measured: the connection is open and the server has
        # imported what a listing needs before the build starts.
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            server.request("GET", "/isocell/envs", connection=conn)
        ready.wait()
        try:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    status, body = server.request("GET", "/isocell/envs", connection=conn)
                except (OSError, ValueError, http.client.HTTPException) as error:
                    failed(f"GET /isocell/envs: {type(error).__name__}: {error}")
                    conn.close()
                    conn = server.connection()
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    result.statuses[status] += 1
                    if status == 200:
                        result.latencies_ms.append(elapsed)
                if status != 200 or not isinstance(body, dict) or "environments" not in body:
                    failed(f"GET /isocell/envs: {status} {str(body)[:300]}")
        finally:
            conn.close()

    threads = [
        threading.Thread(target=lister, name=f"bench-rest-lister-{i}", daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    try:
        _build(server, result, name, list(requirements), python, build_timeout, poll_interval)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    return result


def _build(
    server: Server,
    result: Result,
    name: str,
    requirements: list[str],
    python: str | None,
    timeout: float,
    poll_interval: float,
) -> None:
    started = time.monotonic()
    body = {"name": name, "python": python, "requirements": requirements}
    status, reply = server.request("POST", "/isocell/envs", body)
    if status != 202 or not isinstance(reply, dict) or "task" not in reply:
        result.errors.append(f"POST /isocell/envs: {status} {str(reply)[:300]}")
        result.build_state = "refused"
        return
    task = reply["task"]
    conn = server.connection()
    try:
        while task.get("state") == "running":
            if time.monotonic() - started > timeout:
                result.build_state = "timeout"
                result.build_seconds = time.monotonic() - started
                return
            time.sleep(poll_interval)
            status, reply = server.request(
                "GET", f"/isocell/tasks/{task['id']}?since=0", connection=conn
            )
            result.task_polls += 1
            if status != 200 or not isinstance(reply, dict) or "task" not in reply:
                result.errors.append(f"GET /isocell/tasks: {status} {str(reply)[:300]}")
                continue
            task = reply["task"]
    finally:
        conn.close()
    result.build_seconds = time.monotonic() - started
    result.build_state = str(task.get("state"))
    result.build_error = task.get("error")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.rest``: print the header and one row; exit 1 on any error."""
    parser = argparse.ArgumentParser(prog="python -m bench.rest", description=__doc__)
    parser.add_argument("--clients", type=int, default=20, help="listing clients (default 20)")
    parser.add_argument(
        "--req",
        action="append",
        default=None,
        help="requirement of the environment built meanwhile (repeatable; default six==1.15.0)",
    )
    parser.add_argument("--python", default=None, help="its Python (default: the server's)")
    parser.add_argument(
        "--home", type=Path, default=None, help="ISOCELL_HOME (default: a new temporary folder)"
    )
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        home = args.home or Path(stack.enter_context(tempfile.TemporaryDirectory())) / "home"
        server = stack.enter_context(serve(home))
        result = measure(
            server, args.clients, requirements=args.req or ("six==1.15.0",), python=args.python
        )
    print(HEADER)
    print(result.row())
    for error in result.errors[:10]:
        print(f"error: {error}", file=sys.stderr)
    if result.build_error:
        print(f"build error: {result.build_error}", file=sys.stderr)
    return 0 if not result.errors and result.build_state == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
