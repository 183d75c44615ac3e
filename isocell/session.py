"""One notebook kernel's isolated cells: environments, their child kernels, and a cell's run.

:meth:`Session.run` reads as the algorithm of ``%%isolated``:

1. find or build the environment (cached by spec);
2. find or start its child kernel (one per environment, persistent);
3. analyse the cell: the names it reads, binds, deletes and may mutate;
4. ship the inputs into the child (a payload file, loaded by the child's agent);
5. run the cell, relaying its outputs; on success the child writes its outputs to a payload
   file in the same request (``user_expressions``);
6. decode every output, then, and only then, update the notebook namespace.

Any failure before step 6 leaves the notebook namespace as it was.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from isocell.analysis import analyze_cell
from isocell.envs import Environment, EnvRequest, EnvStore, Registry, resolve_environment
from isocell.envs._build import ProgressCallback
from isocell.errors import (
    BrokenEnvironmentError,
    CellError,
    ChildDiedError,
    InterpreterNotFoundError,
    IsocellError,
    TransferError,
)
from isocell.kernel import ChildKernel, OutputSink, execute, kernel_import_error
from isocell.transfer import (
    WIRE_SOURCES,
    Codec,
    apply_outputs,
    fingerprint,
    host_minor,
    payload_path,
    remove_stale_payloads,
)

__all__ = ["CellRequest", "CellResult", "Session"]

# IPython's own bookkeeping names: never inputs.
_IPYTHON_NAMES = re.compile(r"^(_+|_i+|_i\d+|_\d+|_dh|_oh|_ih|In|Out|get_ipython|exit|quit)$")


@dataclass(frozen=True)
class CellRequest:
    """One ``%%isolated`` cell.

    Attributes
    ----------
    code : str
        The cell's body, as the user wrote it (magics included; the child runs it).
    environment : EnvRequest
        Which environment to run in.
    python_source : str or None
        The body as plain Python (IPython's input transformations applied) for the analysis;
        default: ``code``.
    inputs, outputs : tuple of str or None
        ``--in`` / ``--out``: replace the inferred names.
    timeout : float or None
        Seconds before the cell is interrupted, then killed.
    restart : bool
        Start a fresh child before running.
    name : str or None
        The cell's name (the task id when exported).
    header : str
        The magic line, shown as the first line of the cell in the child's tracebacks so that
        line numbers match the notebook cell.
    """

    code: str
    environment: EnvRequest = field(default_factory=EnvRequest)
    python_source: str | None = None
    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] | None = None
    timeout: float | None = None
    restart: bool = False
    name: str | None = None
    header: str = "%%isolated"


@dataclass
class CellResult:
    """What a successful cell gave back.

    Attributes
    ----------
    environment : Environment
    sent : list of str
        Input names shipped into the child.
    returned : list of str
        Names set in the notebook namespace.
    deleted : list of str
        Names removed from the notebook namespace.
    display : dict or None
        The cell's ``execute_result`` (mime bundle and metadata), if it had one.
    """

    environment: Environment
    sent: list[str]
    returned: list[str]
    deleted: list[str]
    display: tuple[dict[str, Any], dict[str, Any]] | None = None


@dataclass
class _Child:
    kernel: ChildKernel
    codec: Codec
    environment: Environment
    info: dict[str, Any]
    # What the child holds under each name, as the notebook last saw it (id and fingerprint):
    # an input read again and still equal is not sent again.
    holds: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def unchanged(self, name: str, value: Any) -> bool:
        known = self.holds.get(name)
        return known is not None and known[0] == id(value) and known[1] == fingerprint(value)

    def remember(self, name: str, value: Any) -> None:
        digest = fingerprint(value)
        if digest is None:
            self.holds.pop(name, None)
        else:
            self.holds[name] = (id(value), digest)


class Session:
    """The isolated cells of one notebook kernel.

    Parameters
    ----------
    store : EnvStore or None
        Where environments are built; default: ``$ISOCELL_HOME``.
    """

    def __init__(self, store: EnvStore | None = None) -> None:
        self.store = store or EnvStore()
        self.registry = Registry(self.store.home)
        self.children: dict[str, _Child] = {}
        self.last: CellResult | None = None  # the latest successful cell, for inspection
        remove_stale_payloads()
        self._environments: dict[EnvRequest, Environment] = {}

    # -- environments and children ---------------------------------------------------------

    def environment(
        self, request: EnvRequest, progress: ProgressCallback | None = None
    ) -> Environment:
        """The environment ``request`` names, built if needed (memoized while it exists).

        Raises
        ------
        BrokenEnvironmentError
            If a registered external interpreter (``--env NAME``) no longer exists.
        """
        known = self._environments.get(request)
        if known is not None:
            if known.python.exists():
                return known
            if known.spec is not None:
                # isocell's own environment lost its interpreter and is rebuilt below: the
                # child running from its folder must not see that happen under it.
                self.stop(known.key)
        try:
            environment = resolve_environment(request, self.store, self.registry, progress)
        except InterpreterNotFoundError as error:
            if request.env is None:
                raise
            raise BrokenEnvironmentError(
                request.env,
                error.request,
                "its interpreter no longer exists (or no longer runs)",
                f"Recreate that interpreter, or register another one: `isocell env remove "
                f"{request.env}`, then `isocell env add {request.env} --python PATH`.",
            ) from None
        self._environments[request] = environment
        return environment

    def child(
        self,
        environment: Environment,
        restart: bool = False,
        progress: ProgressCallback | None = None,
    ) -> _Child:
        """The running child kernel of ``environment``, started if needed.

        A child that cannot start because the environment is damaged (its kernel's packages
        do not import): an environment isocell built is rebuilt, once; an interpreter used as
        it is raises :class:`BrokenEnvironmentError`.
        """
        current = self.children.get(environment.key)
        if current is not None and (restart or not current.kernel.is_alive()):
            self.stop(environment.key)
            current = None
        if current is not None:
            return current
        try:
            child = self._start(environment)
        except ChildDiedError as error:
            problem = kernel_import_error(environment.python)
            if problem is None:
                raise  # the kernel's packages import: something else stopped it
            if environment.spec is None:
                raise BrokenEnvironmentError(
                    environment.label,
                    str(environment.python),
                    f"its kernel does not start ({problem})",
                    "isocell does not change interpreters it did not build: reinstall "
                    f"ipykernel there (`{environment.python} -m pip install --force-reinstall "
                    "ipykernel`) or register another interpreter.",
                ) from None
            rebuilt = self.store.rebuild(
                environment.spec, problem, progress, environment.exclude_newer
            )
            environment = replace(rebuilt, name=environment.name)
            try:
                child = self._start(environment)
            except ChildDiedError as again:
                raise BrokenEnvironmentError(
                    environment.label,
                    str(environment.python),
                    f"its kernel does not start, even rebuilt ({again.detail}; before the "
                    f"rebuild: {error.detail})",
                    f"See the build log in {environment.path}.",
                ) from None
        self.children[environment.key] = child
        return child

    def _start(self, environment: Environment) -> _Child:
        # In an environment isocell built, the child writes bytecode even where the user's
        # shell says PYTHONDONTWRITEBYTECODE (as pip compiles at install): uv installs none,
        # and importing ipykernel from source takes 1.3 s on Python 3.9 here, 0.5 s from .pyc.
        # An interpreter used as it is keeps the user's setting.
        extra = {"PYTHONDONTWRITEBYTECODE": ""} if environment.spec is not None else {}
        kernel = ChildKernel(environment.python, environment.label, extra_env=extra)
        kernel.start()
        try:
            info = self._boot(kernel)
        except BaseException:
            kernel.stop(now=True)
            raise
        return _Child(kernel, Codec(info["python"], info["cloudpickle"]), environment, info)

    def _boot(self, kernel: ChildKernel) -> dict[str, Any]:
        # The wire modules become the package ``__isocell__`` in the child; nothing enters the
        # user's namespace (the outer exec gets a dictionary of its own).
        boot = (
            "exec('import sys, types\\n"
            'pkg = types.ModuleType("__isocell__")\\n'
            "pkg.__path__ = []\\n"
            'sys.modules["__isocell__"] = pkg\\n'
            "for name, text in SOURCES:\\n"
            '    m = types.ModuleType("__isocell__." + name)\\n'
            '    m.__package__ = "__isocell__"\\n'
            "    sys.modules[m.__name__] = m\\n"
            "    setattr(pkg, name, m)\\n"
            '    exec(compile(text, "<isocell " + name + ">", "exec"), m.__dict__)\\n\', '
            f"{{'SOURCES': {WIRE_SOURCES!r}}})"
        )
        setup = f"__import__('__isocell__').agent.setup({host_minor()!r})"
        reply = execute(
            kernel, boot, None, silent=True, store_history=False, user_expressions={"s": setup}
        )
        return _expression(reply.user_expressions, "s", kernel.label, reply)

    def stop(self, key: str | None = None) -> list[str]:
        """Stop the child of environment ``key`` (a key or label), or every child; their labels."""
        stopped = []
        for env_key, child in list(self.children.items()):
            if key is None or key in (env_key, child.environment.label, child.environment.name):
                child.kernel.stop()
                del self.children[env_key]
                stopped.append(child.environment.label)
        return stopped

    def close(self) -> None:
        """Stop every child (the notebook kernel is going away)."""
        self.stop()

    # -- one cell ---------------------------------------------------------------------------

    def run(
        self,
        request: CellRequest,
        namespace: MutableMapping[str, Any],
        sink: OutputSink | None = None,
        progress: ProgressCallback | None = None,
        hidden: Callable[[str], bool] | None = None,
    ) -> CellResult:
        """Run one isolated cell and update ``namespace`` as if it had run locally.

        Parameters
        ----------
        request : CellRequest
            The cell.
        namespace : mutable mapping
            The notebook namespace: read for inputs, updated with outputs on success only.
        sink : OutputSink or None
            Receives the cell's outputs live.
        progress : callable or None
            Receives build progress, if the environment must be built.
        hidden : callable or None
            ``hidden(name)`` is True for namespace entries that are never inputs.

        Raises
        ------
        CellError
            The cell raised (or was interrupted) in the child; its traceback is attached.
        TransferError
            A variable could not cross; nothing was changed.
        ChildDiedError
            The child died; nothing was changed, and the next cell starts a new child.
        BrokenEnvironmentError
            The environment cannot run a kernel and isocell cannot rebuild it (an interpreter
            used as it is, deleted or damaged); nothing was changed.
        IsocellError
            Any other failure (environment, interpreter, requirement).
        """
        environment = self.environment(request.environment, progress)
        child = self.child(environment, restart=request.restart, progress=progress)
        try:
            self.last = self._run(request, child, namespace, sink, hidden)
            return self.last
        except ChildDiedError:
            self.children.pop(environment.key, None)
            child.kernel.stop(now=True)
            raise

    def _send(
        self,
        child: _Child,
        to_send: dict[str, Any],
        candidates: list[str],
        binds: tuple[str, ...],
        namespace: Mapping[str, Any],
    ) -> None:
        """Ship ``to_send`` into the child and fingerprint the ``candidates`` there.

        The payload file lives only until the child has loaded it: a long cell must not keep
        a copy of its inputs in memory (``/dev/shm``), nor leave one behind if the notebook
        kernel is killed while it runs.
        """
        label = child.environment.label
        with payload_path("in") as inbox:
            path = _write_inputs(child, inbox, to_send, namespace)
            load = f"__import__('__isocell__').agent.load({path!r}, {candidates!r})"
            reply = execute(
                child.kernel,
                "",
                None,
                silent=True,
                store_history=False,
                user_expressions={"load": load},
            )
        if reply.interrupted:
            raise CellError("KeyboardInterrupt", _INTERRUPTED_LOADING, [])
        _raise_load_errors(_expression(reply.user_expressions, "load", label, reply), to_send)
        _remember_sent(child, to_send, candidates, binds)

    def _run(
        self,
        request: CellRequest,
        child: _Child,
        namespace: MutableMapping[str, Any],
        sink: OutputSink | None,
        hidden: Callable[[str], bool] | None,
    ) -> CellResult:
        names = analyze_cell(
            request.python_source if request.python_source is not None else request.code
        )
        inputs = _inputs(request, names.reads, namespace, hidden)
        if request.outputs is not None:
            outputs, candidates, deletes = list(request.outputs), [], []
        else:
            imported = set(names.imports)
            outputs = [n for n in names.binds if n not in imported]
            candidates = [n for n in names.mutates if n in inputs and n not in outputs]
            deletes = list(names.deletes)
        label = child.environment.label
        to_send = {
            name: value for name, value in inputs.items() if not child.unchanged(name, value)
        }
        # Whatever happens next, the child's copy of what the cell may change is unknown.
        for name in {*outputs, *candidates, *deletes, *names.binds}:
            child.holds.pop(name, None)
        code = _with_header(request.header, request.code)
        # Inputs ride on the cell's own request (one round trip, not two) where the child's
        # agent can load them as the cell's first act: it needs the header line to stand in
        # for, so not for a body that starts with a cell magic, and ipykernel >= 6.
        inline = bool(child.info.get("inline")) and code != request.code
        if (to_send or candidates) and not inline:
            self._send(child, to_send, candidates, names.binds, namespace)
        with payload_path("in") as inbox, payload_path("out") as outbox:
            metadata = None
            if inline and (to_send or candidates):
                path = _write_inputs(child, inbox, to_send, namespace)
                metadata = {"isocell_load": {"path": path, "candidates": candidates}}
            dump = (
                f"__import__('__isocell__').agent.dump({str(outbox)!r}, {outputs!r}, "
                f"{candidates!r}, {deletes!r})"
            )
            reply = execute(
                child.kernel,
                code,
                sink,
                user_expressions={"dump": dump},
                timeout=request.timeout,
                metadata=metadata,
            )
            if metadata and reply.status == "error" and reply.ename == "TransferFailed":
                _raise_load_errors(json.loads(reply.evalue), to_send)
            if metadata and reply.status == "error" and reply.ename == "LoadInterrupted":
                raise CellError("KeyboardInterrupt", _INTERRUPTED_LOADING, [])
            if reply.status != "ok":
                evalue = reply.evalue
                if reply.timed_out:
                    evalue = f"{evalue} (the cell ran past --timeout {request.timeout:g} s)"
                raise CellError(reply.ename or "Error", evalue, reply.traceback)
            if metadata:
                _remember_sent(child, to_send, candidates, names.binds)
            summary = _expression(reply.user_expressions, "dump", label, reply)
            _raise_transfer_errors(summary, "cannot be returned to the notebook")
            # Mapped now; the file itself is removed on leaving this block.
            unpacked = child.codec.read_outputs(outbox)
        # Every output arrived: only now does the notebook namespace change (all or nothing).
        values = apply_outputs(unpacked, namespace)  # type: ignore[arg-type]
        deleted = list(summary.get("deleted", []))
        for name in deleted:
            namespace.pop(name, None)
        for name, value in values.items():
            child.remember(name, value)
        for name in summary.get("unchanged", []):
            if name in inputs:
                child.remember(name, inputs[name])
        return CellResult(
            child.environment, sorted(to_send), sorted(values), deleted, reply.display
        )


def _write_inputs(
    child: _Child, inbox: Path, to_send: Mapping[str, Any], namespace: Mapping[str, Any]
) -> str:
    """Write ``to_send`` into the payload file ``inbox``; the path for the child's agent
    (``""`` when there is nothing to send)."""
    if not to_send:
        return ""
    for name in to_send:
        child.holds.pop(name, None)
    child.codec.write_inputs(inbox, to_send, namespace)
    return str(inbox)


def _remember_sent(
    child: _Child, to_send: Mapping[str, Any], candidates: list[str], binds: tuple[str, ...]
) -> None:
    """Once the child has loaded them: the inputs it now holds as they were sent."""
    for name, value in to_send.items():
        if name not in candidates and name not in binds:
            child.remember(name, value)


def _inputs(
    request: CellRequest,
    reads: tuple[str, ...],
    namespace: Mapping[str, Any],
    hidden: Callable[[str], bool] | None,
) -> dict[str, Any]:
    if request.inputs is not None:
        missing = [name for name in request.inputs if name not in namespace]
        if missing:
            raise TransferError(
                missing[0], "undefined", "--in names a variable the notebook does not have"
            )
        return {name: namespace[name] for name in request.inputs}
    return {
        name: namespace[name]
        for name in reads
        if name in namespace
        and not _IPYTHON_NAMES.match(name)
        and not (hidden is not None and hidden(name))
    }


def _with_header(header: str, code: str) -> str:
    # The magic line becomes a comment on line 1, so the child's tracebacks number lines as
    # the notebook cell does. A cell magic in the body must stay on the first line.
    if code.lstrip().startswith("%%"):
        return code
    return "# " + header.replace("\n", " ") + "\n" + code


def _expression(expressions: dict[str, Any], key: str, label: str, reply: Any) -> dict[str, Any]:
    """Decode the JSON string an agent call returned through ``user_expressions``."""
    value = expressions.get(key)
    if value is None:
        raise IsocellError(
            f"the child kernel ({label}) did not answer ({reply.status}: {reply.evalue})"
        )
    if value.get("status") != "ok":
        raise IsocellError(
            f"isocell's agent failed in the child kernel ({label}): "
            f"{value.get('ename')}: {value.get('evalue')}"
        )
    text = value["data"]["text/plain"]
    return json.loads(ast.literal_eval(text))


_INTERRUPTED_LOADING = (
    "interrupted while the inputs were sent to the child kernel; the cell did not run and the "
    "notebook namespace is unchanged"
)


def _raise_load_errors(loaded: dict[str, Any], to_send: Mapping[str, Any]) -> None:
    """Raise :class:`TransferError` for the inputs the child could not load, if any."""
    for name, error in loaded.get("errors", {}).items():
        if name in to_send:
            kind = type(to_send[name])
            error[0] = f"{kind.__module__}.{kind.__qualname__}"
        if "No module named" in error[1]:
            error[1] += "; add the package to the environment's requirements (--req)"
    _raise_transfer_errors(loaded, "cannot be loaded in the child")


def _raise_transfer_errors(summary: dict[str, Any], what: str) -> None:
    errors = summary.get("errors")
    if not errors:
        return
    name = sorted(errors)[0]
    type_name, reason = errors[name]
    others = [n for n in sorted(errors) if n != name]
    more = f" (also: {', '.join(others)})" if others else ""
    raise TransferError(name, type_name, f"it {what}: {reason}{more}")


def child_label(child: _Child) -> str:
    """``label (pid N, Python X)`` for listings."""
    return f"{child.environment.label} (pid {child.kernel.pid}, Python {child.info.get('python')})"
