"""``%%isolated`` and ``%isocell``: the notebook's front door, kept thin.

Options are declared with IPython's ``magic_arguments`` (bad options raise ``UsageError``;
``%%isolated?`` prints the generated manual); the work is :meth:`isocell.runner.CellRunner.run`.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from isocell.errors import IsocellError, OptionError, TransferError, shown
from isocell.options import OPTIONS, CellOptions, parse_cell_options

if TYPE_CHECKING:  # the runner, its kernels and transfer load with the first isolated cell
    from isocell.envs import BuildProgress
    from isocell.runner import CellRunner

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


class _CellOutput:
    """Puts a child's outputs in the running cell's output area, as a local cell would."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def stream(self, name: str, text: str) -> None:
        stream = sys.stderr if name == "stderr" else sys.stdout
        stream.write(text)
        stream.flush()

    def display(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any],
        transient: dict[str, Any],
        update: bool,
    ) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.shell.display_pub.publish(
            data=data, metadata=metadata, transient=transient or None, update=update
        )

    def clear(self, wait: bool) -> None:
        from IPython.display import clear_output

        clear_output(wait=wait)


class _Progress:
    """A live line while an environment builds (phase, packages, seconds), then a summary."""

    def __init__(self, shell: Any) -> None:
        # Only a kernel can update a display in place; a terminal gets one line per phase.
        self.live = type(shell).__name__ == "ZMQInteractiveShell"
        self.handle: Any = None
        self.phase = ""
        self.shown = 0.0
        self.phases_shown: set[str] = set()
        self.cutoff = ""

    def __call__(self, event: BuildProgress) -> None:
        packages = f", {event.packages} packages" if event.packages is not None else ""
        line = f"isocell: {event.phase}{packages}, {event.elapsed:.1f} s: {event.message}"
        if event.message.startswith("resolving as of"):
            self.cutoff = "; " + event.message
        if event.phase == "done":
            line = f"isocell: environment ready ({event.message}{packages}{self.cutoff})"
        if not self.live:
            # One line per phase (pip alternates between them), the cut-off date, the summary.
            if event.phase not in self.phases_shown or "resolving as of" in line:
                print(line, file=sys.stderr, flush=True)
                self.phases_shown.add(event.phase)
            return
        from IPython.display import display

        now = time.monotonic()
        if self.handle is None:
            self.handle = display({"text/plain": line}, raw=True, display_id=True)
        elif event.phase != self.phase or now - self.shown > 0.2 or event.phase == "done":
            self.handle.update({"text/plain": line}, raw=True)
        else:
            return
        self.phase, self.shown = event.phase, now


class _Displayed:
    """The cell's last value, as the child rendered it (its mime bundle)."""

    def __init__(self, data: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.data, self.metadata = data, metadata

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self.data, self.metadata

    def __repr__(self) -> str:
        return str(self.data.get("text/plain", ""))


@magics_class
class IsolatedMagics(Magics):
    """The ``%%isolated`` cell magic and the ``%isocell`` line magic."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._runner: CellRunner | None = None

    @property
    def runner(self) -> CellRunner:
        """The cell runner of this shell, made with the first isolated cell or command that
        needs it (``%load_ext`` stays light)."""
        if self._runner is None:
            from isocell.runner import CellRunner

            self._runner = CellRunner()
        return self._runner

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
        and errors show as from a local cell. On any error the notebook namespace is
        unchanged. The twin of Airflow's ``@task.virtualenv`` (requirements, a Python
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
        from isocell.runner import CellRequest

        request = CellRequest(
            code=cell,
            python_source=shell.transform_cell(cell),
            environment=args.environment,
            inputs=tuple(args.inputs) if args.inputs is not None else None,
            outputs=tuple(args.outputs) if args.outputs is not None else None,
            timeout=args.timeout,
            restart=args.restart,
            name=args.name,
            header=f"%%isolated {line}".strip(),
        )
        result = self.runner.run(
            request,
            shell.user_ns,
            sink=_CellOutput(shell),
            progress=_Progress(shell),
            hidden=shell.user_ns_hidden.__contains__,
        )
        if result.display is not None:
            return _Displayed(*result.display)
        return None

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
        stopped = self.runner.pool.stop(target)
        if target is not None and not stopped:
            running = ", ".join(record.environment for record in self.runner.pool.records())
            raise UsageError(
                f"%isocell {command} {target}: no child kernel runs in an environment "
                f"{target!r} (running: {running or 'none'}); see %isocell kernels"
            )
        verb = (
            "stopped" if command == "stop" else "restarted (a new child starts with the next cell)"
        )
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
    """Register the magics on ``shell`` (called by ``%load_ext isocell``)."""
    shell.register_magics(IsolatedMagics)


def unregister(shell: Any) -> None:
    """Stop the child kernels of ``shell``'s magics (called by ``%unload_ext isocell``)."""
    magics = shell.magics_manager.registry.get("IsolatedMagics")
    if magics is not None:
        magics.close()
