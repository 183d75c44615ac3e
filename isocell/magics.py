"""``%%isolated`` and ``%isocell``: the notebook's front door, kept thin.

Options are declared with IPython's ``magic_arguments`` (bad options raise ``UsageError``;
``%%isolated?`` prints the generated manual); the work is :meth:`isocell.session.Session.run`.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from isocell.cli import environment_name, identifier, seconds
from isocell.envs import BuildProgress, EnvRequest, check_name
from isocell.errors import IsocellError, RegistryError, TransferError
from isocell.session import CellRequest, Session, child_label

__all__ = ["IsolatedMagics", "parse_isolated", "register", "unregister"]

# What `%isocell` does itself, and what it passes to the `isocell` command.
_OWN_COMMANDS = ("kernels", "stop", "restart")
_COMMANDS = (*_OWN_COMMANDS, "envs", "pythons", "env", "export", "run")


def _split(line: str) -> list[str]:
    """The words of a magic line, split as a POSIX shell splits them (quotes group words and
    come off; a backslash is kept as it is, for Windows paths).

    A word that the user quoted and that starts with ``-`` keeps one pair of quotes until
    after parsing (see :func:`_unquote`), so that it is read as a value, never as an option:
    ``--req '--index-url=x'`` is a requirement, refused as such.

    Raises
    ------
    ValueError
        For an unclosed quote.
    """
    words: list[str] = []
    word: list[str] = []
    quote = ""
    started = quoted = False
    for char in line + " ":
        if quote:
            if char == quote:
                quote = ""
            else:
                word.append(char)
        elif char in "'\"":
            quote, quoted = char, quoted or not started
            started = True
        elif char.isspace():
            if started:
                text = "".join(word)
                words.append(f"'{text}'" if quoted and text.startswith("-") else text)
            word, started, quoted = [], False, False
        else:
            word.append(char)
            started = True
    if quote:
        raise ValueError("No closing quotation")
    return words


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == "'" and text[1:2] == "-":
        return text[1:-1]
    return text


def _unquoting(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An ``argparse`` type that checks the value without its quotes."""

    def check(text: str) -> Any:
        return kind(_unquote(text))

    check.__name__ = kind.__name__
    return check


def _cell_name(text: str) -> str:
    """A cell's name: it becomes the task id on export, so an environment name's rules."""
    import argparse

    try:
        return check_name(text)
    except RegistryError:
        raise argparse.ArgumentTypeError(
            f"{text[:80]!r} is not a cell name: it becomes the task id of an export, so use "
            "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        ) from None


def parse_isolated(line: str) -> Any:
    """The options of an ``%%isolated`` line, as an ``argparse.Namespace``.

    Raises
    ------
    UsageError
        If the line does not parse: an unknown option, a missing or invalid value, an
        unclosed quote. The message names the option and what it takes.
    """
    try:
        args = IsolatedMagics.isolated.parser.parse_args(_split(line))  # type: ignore[attr-defined]
    except ValueError as error:  # an unclosed quote
        raise UsageError(
            f"%%isolated {line}: {error}; quote values that hold spaces, and close the quote"
        ) from None
    except UsageError as error:
        message = str(error).strip().splitlines()[-1]
        unknown = _unknown_options(line)
        if "expected" in message and "argument" in message:
            message += (
                "; a value that starts with '-' reads as a command-line option (write "
                "--env=NAME), and a requirement, a PEP 508 string, cannot start with '-'"
            )
        elif unknown:
            message += (
                f"; {unknown!r} is not an option of %%isolated (its options: see %%isolated?). "
                "A requirement cannot start with '-': options such as -e, -r or --index-url "
                "are not requirements"
            )
        raise UsageError(f"%%isolated {line}: {message}") from None
    for key, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, key, _unquote(value))
        elif isinstance(value, list):
            setattr(args, key, [_unquoted_all(item) for item in value])
    return args


def _unquoted_all(value: Any) -> Any:
    if isinstance(value, str):
        return _unquote(value)
    if isinstance(value, list):
        return [_unquoted_all(item) for item in value]
    return value


def _unknown_options(line: str) -> str:
    known = IsolatedMagics.isolated.parser._option_string_actions  # type: ignore[attr-defined]
    try:
        words = _split(line)
    except ValueError:
        return ""
    for word in words:
        option = word.split("=", 1)[0]
        if option.startswith("-") and option not in known and not _is_number(option):
            return str(word)
    return ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
        self.session = Session()

    @magic_arguments()
    @argument(
        "--req",
        nargs="+",
        action="append",
        default=[],
        metavar="SPEC",
        help="PEP 508 requirements to install (repeatable): --req pandas==1.4.4 pyarrow",
    )
    @argument(
        "-r",
        "--requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="a requirements file, one requirement a line (repeatable)",
    )
    @argument(
        "--python",
        metavar="VERSION|PATH",
        help="an installed Python version (3.9) or an interpreter path. Without "
        "requirements: that interpreter's own environment, used as it is",
    )
    @argument(
        "--env",
        type=_unquoting(environment_name),
        metavar="NAME",
        help="a named environment (see `%%isocell envs`)",
    )
    @argument(
        "--in",
        dest="inputs",
        nargs="*",
        type=_unquoting(identifier),
        metavar="NAME",
        help="the notebook variables to send (default: those the cell reads)",
    )
    @argument(
        "--out",
        dest="outputs",
        nargs="*",
        type=_unquoting(identifier),
        metavar="NAME",
        help="the variables to return (default: those the cell binds or mutates)",
    )
    @argument(
        "--system-site-packages",
        action="store_true",
        help="let the environment see the base interpreter's packages",
    )
    @argument("--index-url", metavar="URL", help="the package index (default: PyPI)")
    @argument(
        "--extra-index-url",
        action="append",
        default=[],
        metavar="URL",
        help="another package index (repeatable)",
    )
    @argument(
        "--builder",
        choices=["uv", "virtualenv"],
        help="how to build the environment (default: uv, else virtualenv + pip)",
    )
    @argument(
        "--exclude-newer",
        metavar="DATE|auto|none",
        help="resolve as if nothing newer was published. auto (default): the release "
        "date of the newest exactly pinned requirement; none: off",
    )
    @argument(
        "--timeout",
        type=_unquoting(seconds),
        metavar="SECONDS",
        help="interrupt the cell after this long, then kill the child",
    )
    @argument("--restart", action="store_true", help="start a fresh child kernel first")
    @argument(
        "--name",
        type=_unquoting(_cell_name),
        metavar="NAME",
        help="a name for the cell (the task id when exported)",
    )
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
        args = parse_isolated(line)
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
        request = CellRequest(
            code=cell,
            python_source=shell.transform_cell(cell),
            environment=EnvRequest.from_arguments(args),
            inputs=tuple(args.inputs) if args.inputs is not None else None,
            outputs=tuple(args.outputs) if args.outputs is not None else None,
            timeout=args.timeout,
            restart=args.restart,
            name=args.name,
            header=f"%%isolated {line}".strip(),
        )
        result = self.session.run(
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
        from isocell.cli import CommandLineError, run

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
        if command == "kernels":
            if rest:
                raise UsageError(f"%isocell kernels takes no arguments, not {' '.join(rest)!r}")
            if not self.session.children:
                print("no child kernels are running")
            for child in self.session.children.values():
                state = "running" if child.kernel.is_alive() else "dead"
                print(f"{child_label(child)}  {state}")
            return
        if len(rest) > 1:
            raise UsageError(
                f"%isocell {command} takes one environment (a name or label from "
                f"%isocell kernels) or none for every child, not {' '.join(rest)!r}"
            )
        target = rest[0] if rest else None
        stopped = self.session.stop(target)
        if target is not None and not stopped:
            running = ", ".join(c.environment.label for c in self.session.children.values())
            raise UsageError(
                f"%isocell {command} {target}: no child kernel runs in an environment "
                f"{target!r} (running: {running or 'none'}); see %isocell kernels"
            )
        verb = (
            "stopped" if command == "stop" else "restarted (a new child starts with the next cell)"
        )
        print(f"{verb}: {', '.join(stopped) or 'nothing'}")

    def _notebook_path(self) -> str:
        """The running notebook's file: Jupyter Server names it in ``JPY_SESSION_NAME``, VS
        Code in ``__vsc_ipynb_file__``. It must be saved: the export reads the file."""
        import os

        shell = self.shell
        assert shell is not None
        path = os.environ.get("JPY_SESSION_NAME") or shell.user_ns.get("__vsc_ipynb_file__")
        if not path or not str(path).endswith(".ipynb"):
            raise IsocellError(
                "cannot tell which notebook this is; name it: %isocell export NOTEBOOK.ipynb"
            )
        return str(path)


def register(shell: Any) -> None:
    """Register the magics on ``shell`` (called by ``%load_ext isocell``)."""
    shell.register_magics(IsolatedMagics)


def unregister(shell: Any) -> None:
    """Stop the children of ``shell``'s session (called by ``%unload_ext isocell``)."""
    magics = shell.magics_manager.registry.get("IsolatedMagics")
    if magics is not None:
        magics.session.close()
