"""``%%isolated`` and ``%isocell``: the notebook's front door, kept thin.

Options are declared with IPython's ``magic_arguments`` (bad options raise ``UsageError``;
``%%isolated?`` prints the generated manual); the work is :meth:`isocell.runner.CellRunner.run`.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from isocell._build_progress import BuildLine
from isocell._cell_facts import tell_where
from isocell._completion import register_completer
from isocell._notebook_output import (
    CellOutput,
    Displayed,
    cell_count,
    notebook_stdin,
    relay_payloads,
    syntax_error_of_body,
)
from isocell._plain_cells import FetchKept
from isocell.branching import (
    CHOICE,
    Branching,
    SkipPlainCells,
    bind_choice,
    cell_facts,
    run_branch_here,
)
from isocell.envs import BuildPublisher
from isocell.errors import CellError, IsocellError, OptionError, TransferError, shown
from isocell.options import OPTIONS, CellOptions, parse_branch_line, parse_cell_options

if TYPE_CHECKING:  # the runner, its kernels and transfer load with the first isolated cell
    from isocell.runner import CellRequest, CellResult, CellRunner, KernelPool

__all__ = ["IsolatedMagics", "register", "unregister"]

# What `%isocell` does itself, and what it passes to the `isocell` command.
_OWN_COMMANDS = ("kernels", "stop", "restart", "context")
_COMMANDS = (*_OWN_COMMANDS, "envs", "pythons", "env", "export", "run")


def _declare_options(method: Callable[..., Any]) -> Callable[..., Any]:
    """IPython's ``magic_arguments`` for each row of the options table, in its order: the
    manual that ``%%isolated?`` prints. The line itself is read by the options module."""
    for option in reversed(OPTIONS):
        method = argument(*option.flags, **option.argparse_kwargs())(method)
    return magic_arguments()(method)


def _options(line: str) -> CellOptions:
    try:
        return parse_cell_options(line)
    except OptionError as error:
        raise UsageError(f"%%isolated {shown(line, 200)}: {error}") from None


@magics_class
class IsolatedMagics(Magics):
    """The ``%%isolated`` cell magic and the ``%isocell`` line magic."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._runner: CellRunner | None = None
        self.branching = Branching()
        self.completer: Callable[..., Any] | None = None  # the option completer, once added

    @property
    def runner(self) -> CellRunner:
        """The cell runner of this shell, made with the first isolated cell or command that
        needs it (``%load_ext`` stays light)."""
        if self._runner is None:
            from isocell.runner import CellRunner

            self._runner = CellRunner(between=CellOutput(self.shell, background=True))
        return self._runner

    def pool(self) -> KernelPool | None:
        """The kernel pool, or None while no isolated cell or command has needed one."""
        return None if self._runner is None else self._runner.pool

    def close(self) -> None:
        """Stop every child kernel (``%unload_ext isocell``)."""
        if self._runner is not None:
            self._runner.close()

    @_declare_options
    @no_var_expand
    @cell_magic
    def isolated(self, line: str, cell: str) -> Any:
        """Run this cell in an isolated environment, in a persistent child kernel.

        The notebook variables the cell reads are sent in; the variables it binds or changes
        come back into the notebook namespace, as if the cell had run here. Outputs, plots
        and errors show as from a local cell; a failed cell leaves bound what it bound before
        its error, as locally. The twin of Airflow's ``@task.virtualenv`` (requirements, a Python
        version) and ``@task.external_python`` (``--python PATH`` or ``--env NAME`` alone).

        Examples::

            %%isolated --python 3.9 --req pandas==1.4.4
            %%isolated --env analytics --out totals
            %%isolated --python /opt/py/bin/python
        """
        shell = self.shell
        assert shell is not None
        if any(mark in line for mark in "{}$"):
            # IPython's {var} and $var expansion, as it does for other magics (frames: this
            # method, run_cell_magic, then its caller's, where IPython itself looks); a line
            # without them is left alone: IPython's formatter takes quadratic time on a long
            # line (50 s for 100,000 characters).
            line = shell.var_expand(line, 3)
        args = _options(line)
        # Checked before an environment is built or a child started: a name the notebook
        # does not have is a typo, not something the child can fix.
        missing = [name for name in args.inputs or () if name not in shell.user_ns]
        if missing:
            raise TransferError(
                missing[0],
                "undefined",
                "--in names a variable the notebook does not have; define it first, or leave "
                "it out of --in",
            )
        python_source = shell.transform_cell(cell)
        facts = cell_facts(python_source, args.name)
        reason = self.branching.reason_to_skip(facts)
        if reason is not None:
            print(self.branching.skip(facts, reason, shell.user_ns))
            return None
        if args.branch:
            cell = bind_choice(cell, python_source, "an %%isolated --branch cell")
            python_source = shell.transform_cell(cell)
        from isocell.runner import CellRequest

        request = CellRequest(
            code=cell,
            python_source=python_source,
            environment=args.environment,
            inputs=tuple(args.inputs) if args.inputs is not None else None,
            outputs=tuple(args.outputs) if args.outputs is not None else None,
            timeout=args.timeout,
            restart=args.restart,
            name=args.name,
            header=f"%%isolated {line}".strip(),
            execution_count=cell_count(shell),
        )
        result = self._run(request)
        if args.branch:
            value = shell.user_ns.pop(CHOICE, None)
            self.branching.decide(facts.task_id or "cell", args.branch, value)
        self.branching.record_run(facts.makes)
        relay_payloads(shell, result.payload)
        if result.display is not None:
            return Displayed(*result.display)
        return None

    def _run(self, request: CellRequest) -> CellResult:
        """Run ``request`` in its child; a cell that failed there raises the child's own
        exception (its class, message and traceback), as a local cell raises it."""
        shell = self.shell
        assert shell is not None
        progress = BuildLine(shell, BuildPublisher(self.runner.store.home, request.header))
        ok = False
        try:
            result = self.runner.run(
                request,
                shell.user_ns,
                sink=CellOutput(shell),
                progress=progress,
                hidden=shell.user_ns_hidden.__contains__,
                stdin=notebook_stdin(shell),
            )
            ok = True
            return result
        except CellError as error:
            if error.exception is None:
                raise
            if isinstance(error.exception, SyntaxError):
                header = int(request.code_with_header() != request.code)
                syntax_error_of_body(error.exception, shell, request.code, header)
            raise error.exception from None
        finally:
            progress.finish(sys.exc_info()[1])
            runner = self.runner
            tell_where(runner.last_environment, runner.pool.records(), progress.built, ok)

    @no_var_expand
    @cell_magic
    def branch(self, line: str, cell: str) -> Any:
        """Run this cell here, in the notebook's kernel, as a branch over the named cells.

        Its last expression (a cell's name, a list of names, or None) chooses the cells that
        run; the others are skipped, and so are the cells that read only what skipped cells
        make, as Airflow skips the tasks a ``@task.branch`` task did not choose. Exported as
        ``@task.branch``. For a branch in an isolated environment: ``%%isolated --branch``.

        Example::

            %%branch full_report short_report
            "full_report" if rows > 1000 else "short_report"
        """
        shell = self.shell
        assert shell is not None
        try:
            targets = parse_branch_line(line)
        except OptionError as error:
            raise UsageError(f"%%branch {shown(line, 200)}: {error}") from None
        return run_branch_here(shell, self.branching, targets, cell)

    @line_magic
    def isocell(self, line: str) -> None:
        """Manage isolated environments and child kernels.

        Usage::

            %isocell envs | pythons          list named environments / interpreters
            %isocell kernels                 the running child kernels
            %isocell context [--logical-date DATE] [--conf JSON]   an Airflow run's context
            %isocell restart [ENV]           restart one child (or all)
            %isocell stop [ENV]              stop one child (or all)
            %isocell env create|add|list|show|remove ...   as the `isocell` command
            %isocell export [NOTEBOOK.ipynb] [options]      this notebook (saved) to a DAG
            %isocell run NOTEBOOK.ipynb [options]           as `isocell run`

        An unknown command or a bad option is a ``UsageError``; a command that fails raises
        its :class:`~isocell.errors.IsocellError`.
        """
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%isocell {line}: {error}; close the quote") from None
        command = words[0] if words else "kernels"
        if command not in _COMMANDS:
            raise UsageError(
                f"%isocell has no command {command[:80]!r}: use one of {', '.join(_COMMANDS)}"
            )
        if command in _OWN_COMMANDS:
            self._own_command(command, words[1:])
            return
        from isocell.commands import CommandLineError, run

        cli_words = ["env", "list", *words[1:]] if command == "envs" else words
        if command == "export" and not (len(words) > 1 and words[1].endswith(".ipynb")):
            cli_words = ["export", self._notebook_path(), *words[1:]]
        try:
            code = run(cli_words)
        except CommandLineError as error:
            raise UsageError(f"%{error.message}") from None
        except SystemExit as exit_:  # --help
            code = exit_.code if isinstance(exit_.code, int) else 0
        if code:
            raise IsocellError(f"%isocell {line} failed (exit code {code})")

    def _own_command(self, command: str, rest: list[str]) -> None:
        if command == "context":
            self._context(rest)
            return
        if command == "kernels":
            if rest:
                raise UsageError(f"%isocell kernels takes no arguments, not {' '.join(rest)!r}")
            records = self.runner.pool.records()
            if not records:
                print("no child kernels are running")
            for record in records:
                print(f"{record.label}  {'running' if record.alive else 'dead'}")
            return
        if len(rest) > 1:
            raise UsageError(
                f"%isocell {command} takes one environment (a name or label from "
                f"%isocell kernels) or none for every child, not {' '.join(rest)!r}"
            )
        target = rest[0] if rest else None
        from isocell.runner import fetch_before_restart

        assert self.shell is not None
        fetch_before_restart(self.runner.pool, self.shell.user_ns, target)
        pool = self.runner.pool
        stopped = pool.stop(target) if command == "stop" else pool.restart(target)
        if target is not None and not stopped:
            running = ", ".join(record.environment for record in self.runner.pool.records())
            raise UsageError(
                f"%isocell {command} {target}: no child kernel runs in an environment "
                f"{target!r} (running: {running or 'none'}); see %isocell kernels"
            )
        verb = "stopped" if command == "stop" else "restarted"
        print(f"{verb}: {', '.join(stopped) or 'nothing'}")

    def _context(self, words: list[str]) -> None:
        """``%isocell context [--logical-date DATE] [--conf JSON]``: bind the context of a
        manual Airflow run in the notebook (:func:`isocell.context.run_context`). ``params``
        is the saved notebook's parameters (its cell tagged parameters) with the conf over
        them, and a conf value for a parameter also sets that variable, as a task reading it
        under Airflow would get the run's value."""
        import argparse

        from isocell.context import (
            given_context,
            parse_conf,
            parse_logical_date,
            run_context,
            run_params,
        )

        class Parser(argparse.ArgumentParser):
            def error(self, message: str) -> Any:
                raise UsageError(f"{self.prog}: {message}")

        parser = Parser(prog="%isocell context", add_help=False)
        parser.add_argument("--logical-date", metavar="DATE")
        parser.add_argument("--conf", metavar="JSON")
        args = parser.parse_args(words)
        moment, conf = parse_logical_date(args.logical_date), parse_conf(args.conf)
        shell = self.shell
        assert shell is not None
        given = given_context()
        if given:
            # `isocell run --logical-date/--conf` chose the run: this line does not change it.
            shell.user_ns.update(given)
            print(f"context of the run isocell run was given, at {given['ts']} (kept)")
            return
        declared = self._declared_parameters()
        values = {name: shell.user_ns[name] for name in declared if name in shell.user_ns}
        params, settings = run_params(declared, values, conf)
        shell.user_ns.update(settings)
        context = run_context(moment, params)
        shell.user_ns.update(context)
        print(
            f"context of a manual run at {context['ts']} (run_id {context['run_id']}): "
            f"{', '.join(context)}"
        )

    def _declared_parameters(self) -> dict[str, Any]:
        """The parameters of the saved notebook, if this kernel knows which notebook it runs."""
        import nbformat

        from isocell.params import declared_parameters

        path = self._notebook_file()
        if path is None:
            return {}
        try:
            return declared_parameters(nbformat.read(path, as_version=4))
        except Exception:  # no file or an unreadable one: no parameters known, as unsaved
            return {}

    def _notebook_file(self) -> str | None:
        """The running notebook's saved file, or None: Jupyter Server (and ``isocell run``)
        name it in ``JPY_SESSION_NAME``, VS Code in ``__vsc_ipynb_file__``."""
        import os

        shell = self.shell
        assert shell is not None
        path = os.environ.get("JPY_SESSION_NAME") or shell.user_ns.get("__vsc_ipynb_file__")
        if not path or not str(path).endswith(".ipynb"):
            return None
        return str(path)

    def _notebook_path(self) -> str:
        """The running notebook's file. It must be saved: the export reads the file."""
        path = self._notebook_file()
        if path is None:
            raise IsocellError(
                "cannot tell which notebook this is; name it: %isocell export NOTEBOOK.ipynb"
            )
        return path


def register(shell: Any) -> None:
    """Register the magics on ``shell`` (called by ``%load_ext isocell``), and the AST
    transformer that skips the plain cells a branch skips."""
    shell.register_magics(IsolatedMagics)
    magics = shell.magics_manager.registry["IsolatedMagics"]
    shell.ast_transformers.append(SkipPlainCells(magics.branching, shell.user_ns))
    shell.ast_transformers.append(FetchKept(magics.pool, shell.user_ns))
    magics.completer = register_completer(shell)


def unregister(shell: Any) -> None:
    """Stop the child kernels of ``shell``'s magics (called by ``%unload_ext isocell``)."""
    magics = shell.magics_manager.registry.get("IsolatedMagics")
    if magics is not None:
        magics.close()
        matchers = getattr(getattr(shell, "Completer", None), "custom_matchers", [])
        if magics.completer in matchers:
            matchers.remove(magics.completer)
    shell.ast_transformers[:] = [
        t for t in shell.ast_transformers if not isinstance(t, (SkipPlainCells, FetchKept))
    ]
