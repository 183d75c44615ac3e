"""Every error isocell raises, under one root, :class:`IsocellError`.

Each error says what failed, why, and what to do, and carries the data it names as
attributes (the requirement, the path, the variable), so callers can act on it without
parsing the message. Like filelock's errors, they survive pickling: the data is passed to
``__init__`` and kept in ``args``.
"""

from __future__ import annotations

__all__ = [
    "BranchError",
    "BrokenEnvironmentError",
    "BuildError",
    "CellError",
    "ChildDiedError",
    "DagFileExistsError",
    "EnvironmentNotFoundError",
    "ExportError",
    "InterpreterNotFoundError",
    "IsocellError",
    "NameTakenError",
    "OptionError",
    "RegistryError",
    "RegistryRepairedWarning",
    "RequirementError",
    "TransferError",
    "shown",
]


def shown(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters for a message, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


class IsocellError(Exception):
    """Root of every error raised by isocell.

    In IPython, the error shows as one clear line (``_render_traceback_``), not as a
    traceback through isocell's own code: the message says what to do.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class RequirementError(IsocellError, ValueError):
    """A requirement string is not a valid PEP 508 requirement, or is not allowed.

    Parameters
    ----------
    requirement : str
        The text the user gave.
    reason : str
        Why it was refused.
    """

    def __init__(self, requirement: str, reason: str) -> None:
        super().__init__(requirement, reason)
        self.requirement = requirement
        self.reason = reason

    def __str__(self) -> str:
        return f"invalid requirement {self.requirement!r}: {self.reason}"


class OptionError(IsocellError, ValueError):
    """A cell's or a command's options do not parse, or an option's value is refused.

    Parameters
    ----------
    option : str
        The option involved (``"--timeout"``), or ``""`` for the line as a whole (an unclosed
        quote, an unknown option).
    reason : str
        What is wrong and what to give instead; quotes the value (cut to 80 characters).
    """

    def __init__(self, option: str, reason: str) -> None:
        super().__init__(option, reason)
        self.option = option
        self.reason = reason

    def __str__(self) -> str:
        return f"argument {self.option}: {self.reason}" if self.option else self.reason


class InterpreterNotFoundError(IsocellError, LookupError):
    """No interpreter matches the requested version or path.

    Parameters
    ----------
    request : str
        What was asked for (``"3.9"`` or a path).
    found : list of str
        One line per interpreter that discovery did find, to show the user.
    """

    def __init__(self, request: str, found: list[str]) -> None:
        super().__init__(request, found)
        self.request = request
        self.found = list(found)

    def __str__(self) -> str:
        listing = "\n".join(f"  {line}" for line in self.found) or "  (none)"
        return (
            f"no Python interpreter matches {self.request!r}. Found:\n{listing}\n"
            "Install that version (for example with pyenv or uv) or pass --python /path/to/python."
        )


class BuildError(IsocellError):
    """Building an environment failed; nothing of it was kept.

    Read cause first: the builder's own message (:attr:`cause`), then what failed and where
    the full log is; the commands it ran and their temporary paths stay in :attr:`log` (the
    sidebar folds it, the log file keeps it).

    Parameters
    ----------
    message : str
        What failed, in one line.
    log : str
        The builder's output (uv's or pip's resolver message, for example).
    """

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message, log)
        self.message = message
        self.log = log

    @property
    def cause(self) -> str:
        """The builder's message of why it failed, from :attr:`log`: uv's ``error:`` line
        and the lines under it, else pip's ``ERROR:`` lines, else the log's last line that
        is not a command; empty without a log."""
        lines = [line.rstrip() for line in self.log.splitlines() if line.strip()]
        for index, line in enumerate(lines):
            if line.startswith("error: "):  # uv: the error, its causes indented below
                found = [line[len("error: ") :]]
                found += [more.strip() for more in lines[index + 1 :] if more.startswith(" ")]
                return "\n".join(found)
        pip = [line[len("ERROR: ") :] for line in lines if line.startswith("ERROR: ")]
        if pip:
            return "\n".join(pip)
        others = [line for line in lines if not line.startswith("$ ")]
        return others[-1].strip() if others else ""

    def __str__(self) -> str:
        cause = self.cause
        return f"{cause}\n{self.message}" if cause else self.message


class BrokenEnvironmentError(IsocellError):
    """An environment exists but cannot run a kernel, and isocell cannot repair it.

    Environments isocell built are rebuilt instead; this error is for interpreters used as
    they are (``isocell env add``, ``--python PATH``), which isocell never changes, and for a
    rebuild that did not help.

    Parameters
    ----------
    environment : str
        The environment's name or label.
    python : str
        Its interpreter.
    reason : str
        What is wrong (the interpreter is gone, the kernel's packages do not import).
    remedy : str
        What to do.
    """

    def __init__(self, environment: str, python: str, reason: str, remedy: str) -> None:
        super().__init__(environment, python, reason, remedy)
        self.environment = environment
        self.python = python
        self.reason = reason
        self.remedy = remedy

    def __str__(self) -> str:
        return (
            f"environment {self.environment} (interpreter {self.python}) cannot be used: "
            f"{self.reason}. {self.remedy} The notebook namespace is unchanged."
        )


class EnvironmentNotFoundError(IsocellError, LookupError):
    """No named environment has that name.

    Parameters
    ----------
    name : str
        The name asked for.
    known : list of str
        The names that are registered.
    """

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name, known)
        self.name = name
        self.known = list(known)

    def __str__(self) -> str:
        known = ", ".join(self.known) or "none"
        return (
            f"no environment named {self.name!r} (registered: {known}). "
            "Create it with `isocell env create NAME ...` or `isocell env add NAME --python PATH`."
        )


class RegistryError(IsocellError):
    """The registry of named environments cannot be read or written.

    Parameters
    ----------
    path : str
        The registry file.
    reason : str
        What is wrong with it.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"environment registry {self.path}: {self.reason}"


class NameTakenError(RegistryError):
    """A new environment's name is registered already (``path``: the registry file)."""

    def __init__(self, path: str, name: str) -> None:
        super().__init__(
            path,
            f"an environment named {name!r} exists already; choose another name, or remove it "
            f"first (isocell env remove {name})",
        )
        self.args = (path, name)
        self.name = name

    def __str__(self) -> str:
        return self.reason


class RegistryRepairedWarning(UserWarning):
    """The registry of named environments was damaged and has been repaired.

    Parameters
    ----------
    path : str
        The registry file.
    detail : str
        What was wrong, where the damaged copy was put, what was kept and what was lost.
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(path, detail)
        self.path = path
        self.detail = detail

    def __str__(self) -> str:
        return f"isocell: repaired the damaged environment registry {self.path}: it {self.detail}"


class TransferError(IsocellError):
    """A variable cannot be moved between the notebook and the child kernel.

    Parameters
    ----------
    variable : str
        The variable's name; for ``type_name`` ``"payload"`` (the payload as a whole, when
        there is no room for it), the names joined by ``", "``.
    type_name : str
        Its type, qualified (``"pandas.core.frame.DataFrame"``), or ``"payload"``.
    reason : str
        Why it cannot cross, and what to do.
    """

    def __init__(self, variable: str, type_name: str, reason: str) -> None:
        super().__init__(variable, type_name, reason)
        self.variable = variable
        self.type_name = type_name
        self.reason = reason

    def __str__(self) -> str:
        if self.type_name == "payload":  # the whole payload: ``variable`` lists the names
            names = self.variable.split(", ")
            listed = ", ".join(repr(name) for name in names)
            if len(names) > 1:
                return f"variables {listed} cannot be transferred together: {self.reason}"
            return f"variable {listed} cannot be transferred: {self.reason}"
        return f"variable {self.variable!r} ({self.type_name}) cannot be transferred: {self.reason}"


class ChildDiedError(IsocellError):
    """The child kernel died while it was running a cell.

    Parameters
    ----------
    environment : str
        The environment the child ran in.
    detail : str
        What is known about how it ended (exit code, signal).
    """

    def __init__(self, environment: str, detail: str) -> None:
        super().__init__(environment, detail)
        self.environment = environment
        self.detail = detail

    def __str__(self) -> str:
        return (
            f"the child kernel for environment {self.environment} died ({self.detail}). "
            "The notebook namespace is unchanged; the next isolated cell starts a new child."
        )


class CellError(IsocellError):
    """The cell raised an exception in the child kernel.

    IPython shows the child's own traceback through :meth:`_render_traceback_`, once, with the
    cell's line numbers, instead of a traceback through isocell's code.

    Parameters
    ----------
    ename : str
        The exception's class name in the child.
    evalue : str
        Its message.
    traceback : list of str
        The child's formatted traceback lines (may hold ANSI colours), as in the Jupyter
        messaging protocol's ``error`` message.
    """

    def __init__(self, ename: str, evalue: str, traceback: list[str]) -> None:
        super().__init__(ename, evalue, traceback)
        self.ename = ename
        self.evalue = evalue
        self.traceback = list(traceback)
        #: The child's exception as the notebook raises it (its own class, message and
        #: traceback; ``isocell.runner._cell_errors``), or None where the notebook raises this.
        self.exception: BaseException | None = None

    def __str__(self) -> str:
        return f"{self.ename}: {self.evalue}"

    def _render_traceback_(self) -> list[str]:
        return self.traceback or [str(self)]


class BranchError(IsocellError, ValueError):
    """A branch cell chose no task it branches over, or cannot choose at all (it does not end
    with an expression). The message names the choice and the tasks it may name."""


class ExportError(IsocellError):
    """A notebook cannot be exported to an Airflow DAG as it is.

    Parameters
    ----------
    cell : int or None
        The cell's position in the notebook (0-based, as nbformat lists cells), if one is at
        fault. The message counts from 1, as a person counts the cells they see.
    line : int or None
        The line within that cell (1-based), if known.
    reason : str
        What is wrong and what to do.
    """

    def __init__(self, cell: int | None, line: int | None, reason: str) -> None:
        super().__init__(cell, line, reason)
        self.cell = cell
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        where = ""
        if self.cell is not None:
            where = f"cell {self.cell + 1}" + (f", line {self.line}" if self.line else "") + ": "
        return f"cannot export: {where}{self.reason}"


class DagFileExistsError(ExportError):
    """The DAG file an export would write exists, and it was asked not to replace it (the
    JupyterLab dialog asks the user first); ``path`` is the DAG file."""

    def __init__(self, path: str) -> None:
        super().__init__(
            None, None, f"{path} exists; replace it, or export to another folder or DAG id"
        )
        self.path = path
