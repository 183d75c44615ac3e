"""The cell runner: one ``%%isolated`` cell, run as if it had run in the notebook."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from isocell.envs import (
    Environment,
    EnvRequest,
    EnvStore,
    ProgressCallback,
    Registry,
    resolve_environment,
)
from isocell.errors import (
    BrokenEnvironmentError,
    CellError,
    ChildDiedError,
    InterpreterNotFoundError,
    IsocellError,
)
from isocell.kernel import ExecuteReply, OutputSink, Stdin, execute
from isocell.runner._cell import (
    CellPlan,
    CellRequest,
    CellResult,
    import_ahead,
    interrupted_loading,
    raise_load_errors,
    raise_transfer_errors,
)
from isocell.runner._cell_errors import cell_exception, notebook_traceback
from isocell.runner._held import keep_held
from isocell.runner._iteration import step_in_child
from isocell.runner._kept import fetch_before_restart, plan_around_kept, standins
from isocell.runner._payloads import (
    bind_views,
    dump_call,
    read_outputs,
    remember_sent,
    write_inputs,
)
from isocell.runner._pool import KernelPool, PooledKernel
from isocell.runner._published import end_orphans
from isocell.runner._state import changes_for_child, take_settings
from isocell.transfer import (
    apply_outputs,
    lookups,
    payload_path,
    protocol,
    remove_stale_payloads,
)

__all__ = ["CellRunner"]


class CellRunner:
    """The isolated cells of one notebook kernel: their environments and child kernels.

    Parameters
    ----------
    store : EnvStore or None
        Where environments are built; default: ``$ISOCELL_HOME``.
    between : OutputSink or None
        Where a child's output goes while no cell runs in it: its threads' output, its
        widgets' messages (a local kernel shows them with the latest cell).

    Attributes
    ----------
    pool : KernelPool
        The child kernels, one per environment.
    last : CellResult or None
        The latest successful cell, for inspection.
    """

    def __init__(self, store: EnvStore | None = None, between: OutputSink | None = None) -> None:
        store = store or EnvStore()
        self.registry = Registry(store.home)
        self.pool = KernelPool(store, between)
        self.last: CellResult | None = None
        self.last_environment: Environment | None = None  # of the last cell, even a failed one
        remove_stale_payloads()
        end_orphans(store.home)
        self._environments: dict[EnvRequest, Environment] = {}

    @property
    def store(self) -> EnvStore:
        """Where environments are built (and a damaged one rebuilt, by the pool)."""
        return self.pool.store

    @store.setter
    def store(self, store: EnvStore) -> None:
        self.pool.store = store

    def run(
        self,
        request: CellRequest,
        namespace: MutableMapping[str, Any],
        sink: OutputSink | None = None,
        progress: ProgressCallback | None = None,
        hidden: Callable[[str], bool] | None = None,
        stdin: Stdin | None = None,
    ) -> CellResult:
        """Run one isolated cell and update ``namespace`` as if it had run locally.

        1. resolve the environment (built once, then reused);
        2. get its child kernel from the pool (started once, then kept);
        3. analyse the cell: the names it reads, binds, deletes and may change in place;
        4. send the inputs the child does not hold already (a payload file its agent loads);
        5. execute the cell, relaying its outputs; the agent dumps its outputs to a payload;
        6. collect: decode every output;
        7. publish: only now does ``namespace`` change (all or nothing; after an error in
           the cell, what it bound before the error, as a local cell leaves it).

        Before the cell, the child follows the notebook's working folder, environment
        variables and deleted names (:mod:`isocell.runner._state`).

        Parameters
        ----------
        request : CellRequest
        namespace : mutable mapping
            The notebook namespace: read for inputs, updated with outputs.
        sink : OutputSink or None
            Receives the cell's outputs live.
        progress : callable or None
            Receives build progress, if the environment must be built.
        hidden : callable or None
            ``hidden(name)`` is True for namespace entries that are never inputs.
        stdin : callable or None
            Reads a line for the cell's ``input()`` and ``getpass()``
            (:data:`~isocell.kernel.Stdin`); None: they raise ``StdinNotImplementedError``.

        Raises
        ------
        CellError
            The cell raised (or was interrupted) in the child; its traceback is attached, and
            what it bound before the error is bound in ``namespace``.
        TransferError
            A variable could not cross; nothing was changed.
        ChildDiedError
            The child died; nothing was changed, and the next cell starts a new child.
        BrokenEnvironmentError
            The environment cannot run a kernel and isocell cannot rebuild it; nothing was
            changed.
        IsocellError
            Any other failure (environment, interpreter, requirement).
        """
        self.last_environment = None  # until this cell has one
        environment = self.last_environment = self.environment(request.environment, progress)
        if request.restart:
            fetch_before_restart(self.pool, namespace, environment.label)
        child = self.pool.kernel_for(environment, restart=request.restart, progress=progress)
        try:
            plan = plan_around_kept(self.pool, child, request, namespace, hidden)
            sent = dict(plan.inputs)
            keep_held(sent, child.kernel.pid, environment.label)
            sent = {n: v for n, v in sent.items() if not child.unchanged(n, v)}
            # Whatever happens next, the child's copy of what the cell may change is unknown.
            for name in {*plan.outputs, *plan.candidates, *plan.deletes, *plan.binds}:
                child.holds.pop(name, None)
            with payload_path("in") as inbox, payload_path("out") as outbox:
                reply = self._execute(
                    request, child, plan, sent, namespace, (sink, stdin), (inbox, outbox)
                )
                summary = protocol.answer(reply.user_expressions, "dump", environment.label, reply)
                raise_transfer_errors(summary, "cannot be returned to the notebook")
                unpacked = read_outputs(child, summary, outbox)
        except ChildDiedError:
            self.pool.discard(environment.key)
            raise
        values, deleted = self._publish(child, plan, summary, unpacked, namespace)
        self.pool.cell_ran(child)
        used = child.environment  # the environment rebuilt, if the pool had to
        self.last = CellResult(
            used, sorted(sent), sorted(values), deleted, reply.display, reply.payload
        )
        return self.last

    def _publish(
        self,
        child: PooledKernel,
        plan: CellPlan,
        summary: dict[str, Any],
        unpacked: Any,
        namespace: MutableMapping[str, Any],
    ) -> tuple[dict[str, Any], list[str]]:
        """Bind what the cell returned in ``namespace`` (and remove what it deleted); what
        was bound, and the names deleted."""
        unloaded: dict[str, list[str]] = {}
        values = apply_outputs(unpacked, namespace, unloaded, plan.candidates)  # type: ignore[arg-type]
        held = dict(summary.get("held", {}))
        for name, (what, reason) in unloaded.items():
            held[name] = [what, f"it does not load in the notebook: {reason}"]
        for name in summary.get("unchanged", []):  # inputs the cell left as they came
            if name in plan.inputs:
                child.remember(name, plan.inputs[name])
        bind_views(child, summary.get("views") or {}, values, namespace)
        deleted = list(summary.get("deleted", []))
        for name in deleted:
            namespace.pop(name, None)
        # What stays in the child, which holds it: later cells there use the real object.
        step = functools.partial(step_in_child, self.pool)
        for name, standin in standins(child, summary, held, step).items():
            values[name] = namespace[name] = standin
        for name, value in values.items():
            child.remember(name, value)
        child.followed.shared.update(values)
        child.followed.shared.difference_update(deleted)
        if summary.get("settings"):  # the cell changed a library's settings: so does the notebook
            take_settings(child.followed, summary["settings"])
        return values, deleted

    def environment(
        self, request: EnvRequest, progress: ProgressCallback | None = None
    ) -> Environment:
        """The environment ``request`` names, built if needed (remembered while it exists).

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
                self.pool.stop(known.key)
        try:
            environment = resolve_environment(request, self.store, self.registry, progress)
        except InterpreterNotFoundError as error:
            name = request.environment_name
            if name is None:
                raise
            raise BrokenEnvironmentError(
                name,
                error.request,
                "its interpreter no longer exists (or no longer runs)",
                f"Recreate that interpreter, or register another one: `isocell env remove "
                f"{name}`, then `isocell env add {name} --python PATH`.",
            ) from None
        self._environments[request] = environment
        return environment

    def close(self) -> None:
        """Stop every child (the notebook kernel is going away)."""
        self.pool.stop_all()

    def _execute(
        self,
        request: CellRequest,
        child: PooledKernel,
        plan: CellPlan,
        sent: dict[str, Any],
        namespace: MutableMapping[str, Any],
        frontend: tuple[OutputSink | None, Stdin | None],
        payloads: tuple[Path, Path],
    ) -> ExecuteReply:
        """Send the inputs and run the cell; the reply of a cell that ran without error.

        Inputs ride on the cell's own request (one round trip, not two) where the child's
        agent can load them as the cell's first act: it needs the header line to stand in
        for, so not for a body that starts with a cell magic, nor under ipykernel < 6.
        """
        inbox, outbox = payloads
        code = request.code_with_header()
        inline = bool(child.info.get("inline")) and code != request.code
        variables = child.kernel.environment_variables()
        changes, followed = changes_for_child(child.followed, variables, namespace)
        loads = bool(sent or plan.candidates or changes)
        if loads and not inline:
            self._send_apart(child, plan, sent, namespace, changes)
        metadata = protocol.cell_metadata(plan.binds)
        if inline and loads:
            path = write_inputs(child, inbox, sent, namespace)
            secrets = lookups.secret_values()
            metadata.update(protocol.inline_load(path, plan.candidates, secrets, changes))
        dump = dump_call(plan, outbox)
        sink, stdin = frontend
        reply = execute(
            child.kernel,
            code,
            sink,
            user_expressions=dump,
            timeout=request.timeout,
            metadata=metadata,
            stdin=stdin,
            meanwhile=functools.partial(import_ahead, plan.modules),
        )
        child.followed = followed
        loaded_inline = inline and loads
        if loaded_inline and reply.status == "error" and reply.ename == "TransferFailed":
            raise_load_errors(json.loads(reply.evalue), sent)
        if loaded_inline and reply.status == "error" and reply.ename == "LoadInterrupted":
            raise interrupted_loading()
        if reply.execution_count is not None and request.execution_count is not None:
            child.counts[reply.execution_count] = request.execution_count
        if loaded_inline:
            remember_sent(child, sent, plan)
        if reply.status != "ok":
            raise self._cell_error(request, child, plan, reply, namespace, outbox)
        return reply

    def _cell_error(
        self,
        request: CellRequest,
        child: PooledKernel,
        plan: CellPlan,
        reply: ExecuteReply,
        namespace: MutableMapping[str, Any],
        outbox: Path,
    ) -> CellError:
        """The error of a cell that failed in the child, with the exception the notebook
        raises for it (:mod:`isocell.runner._cell_errors`): asked of the child's agent in a
        request of its own, the exception written to ``outbox``. The names the cell bound
        before its error are bound in ``namespace`` too, as a local cell leaves them."""
        traceback = notebook_traceback(reply.traceback, child.counts)
        if reply.timed_out:
            evalue = f"{reply.evalue} (the cell ran past --timeout {request.timeout:g} s)"
            return CellError(reply.ename or "Error", evalue, traceback)
        error = CellError(reply.ename or "Error", reply.evalue, traceback)
        with payload_path("out") as bound:
            expressions = protocol.error_expressions(outbox)
            expressions.update(dump_call(plan, bound, failed=True))
            asked = execute(
                child.kernel,
                "",
                None,
                silent=True,
                store_history=False,
                user_expressions=expressions,
            )
            self._publish_failed(child, plan, asked, bound, namespace)
        try:
            described = protocol.answer(asked.user_expressions, "error", "", asked)
        except IsocellError:
            described = {}

        def decode() -> Any:
            unpacked = child.codec.read_outputs(outbox)
            return unpacked.apply(dict(namespace), bind=False)["error"]

        packed = bool(described.get("packed"))
        error.exception = cell_exception(error, described, decode if packed else None, namespace)
        return error

    def _publish_failed(
        self,
        child: PooledKernel,
        plan: CellPlan,
        asked: ExecuteReply,
        bound: Path,
        namespace: MutableMapping[str, Any],
    ) -> None:
        """Bind what a failed cell bound before its error; where that cannot cross, nothing
        (the cell's own error is what the notebook raises)."""
        try:
            label = child.environment.label
            summary = protocol.answer(asked.user_expressions, "dump", label, asked)
            raise_transfer_errors(summary, "cannot be returned to the notebook")
            unpacked = read_outputs(child, summary, bound)
            self._publish(child, plan, summary, unpacked, namespace)
        except IsocellError:
            pass

    def _send_apart(
        self,
        child: PooledKernel,
        plan: CellPlan,
        sent: dict[str, Any],
        namespace: Any,
        changes: dict[str, Any],
    ) -> None:
        """Ship ``sent`` into the child in a request of its own and fingerprint the
        candidates there. The payload file lives only until the child has loaded it: a long
        cell must not keep a copy of its inputs in ``/dev/shm``, nor leave one behind if the
        notebook kernel is killed while it runs."""
        with payload_path("in") as inbox:
            path = write_inputs(child, inbox, sent, namespace)
            reply = execute(
                child.kernel,
                "",
                None,
                silent=True,
                store_history=False,
                user_expressions=protocol.load_expressions(
                    path, plan.candidates, lookups.secret_values(), changes
                ),
            )
        if reply.interrupted:
            raise interrupted_loading()
        label = child.environment.label
        raise_load_errors(protocol.answer(reply.user_expressions, "load", label, reply), sent)
        remember_sent(child, sent, plan)
