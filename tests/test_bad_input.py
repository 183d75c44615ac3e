"""Every entry point refuses bad input with a clear error, and writes nothing.

:data:`ROWS` is the table of the inputs tried: for each, the entry point (``%%isolated``,
``%isocell``, the ``isocell`` command, the REST API, ``export_notebook``), the input, and what
the user must be told (fragments of the message: the offending input, and what is accepted).
``tests/bad_input.md`` renders it for reviewers; :func:`test_the_table_is_rendered` keeps it in
sync (``ISOCELL_WRITE_TABLE=1`` rewrites it).

Every row runs through the real entry point: a real IPython shell, ``isocell.cli.main`` in
process with its output captured (and a few rows as a real subprocess), a real Jupyter server
through pytest-jupyter's fixtures, the real export. For every row the test checks:

* a clear error: an :class:`~isocell.errors.IsocellError` or ``UsageError`` from a magic; a
  non-zero exit code and one paragraph on stderr, no traceback, from the command; a 4xx (never
  a 500) with a JSON ``message`` from the REST API; and the message holds every fragment;
* nothing written or changed: ``ISOCELL_HOME`` (every path with its size and modification
  time, and the registry's contents) and the folder the outputs would go to are the same
  before and after; for the magics, the notebook namespace and the running child kernels too;
* no shell ran: the canary file that ``$(touch ...)`` and backticks would make never appears.

Placeholders in the table: ``{work}`` is the folder of the row's files (the server's root for
REST rows), ``{canary}`` the file a shell would create.

Two rows reach the package index (marked ``network``): an unknown package fails at build time,
and must leave no environment and no registry entry behind (the failed build's log is kept
under ``logs/`` by design, and the build lock under ``locks/``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.error import UsageError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

from isocell.errors import BuildError, IsocellError

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.bad_input

HOST_PYTHON = getattr(sys, "_base_executable", None) or sys.executable
TABLE = Path(__file__).with_name("bad_input.md")
UNKNOWN_PACKAGE = "isocell-no-such-package-zq7"


# ---- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One input tried at one entry point.

    Attributes
    ----------
    entry : str
        ``%%isolated``, ``%isocell``, ``isocell`` (the command), ``REST`` or
        ``export_notebook``.
    what : str
        The kind of input, in words.
    given : str
        The input as the user gives it (shortened for the table when very long).
    told : tuple of str
        Fragments the error message must hold (case-insensitive).
    run : dict
        How to give it: ``line`` and ``cell`` (magics), ``argv`` (command), ``method``,
        ``url``, ``body`` and ``status`` (REST), ``kwargs`` (``export_notebook``).
    network : bool
        The input reaches the package index (fails at build time, not before).
    """

    entry: str
    what: str
    given: str
    told: tuple[str, ...]
    run: dict[str, Any] = field(default_factory=dict, compare=False)
    network: bool = False

    @property
    def id(self) -> str:
        return f"{self.entry} {self.what}"


def _display(text: str, limit: int = 70) -> str:
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else f"{text[:40]}… ({len(text)} characters)"


def magic(what: str, line: str, *told: str, cell: str = "x = 1", network: bool = False) -> Row:
    return Row(
        "%%isolated",
        what,
        _display(f"%%isolated {line}"),
        told,
        {"line": line, "cell": cell},
        network,
    )


def line_magic(what: str, line: str, *told: str) -> Row:
    return Row("%isocell", what, _display(f"%isocell {line}"), told, {"line": line})


def command(what: str, argv: list[str], *told: str, network: bool = False) -> Row:
    shown = _display(shlex.join(["isocell", *argv]))
    return Row("isocell", what, shown, told, {"argv": argv}, network)


class Raw(bytes):
    """A request body sent as these bytes, not as JSON."""


def rest(what: str, method: str, url: str, body: Any, status: int, *told: str) -> Row:
    if body is None:
        text = ""
    elif isinstance(body, Raw):
        text = " " + (body.decode("utf-8") if body.isascii() else repr(bytes(body)))
    else:
        text = " " + json.dumps(body, ensure_ascii=False)
    given = _display(f"{method} /isocell/{url}{text}", 90)
    run = {"method": method, "url": url, "body": body, "status": status}
    return Row("REST", what, given, (f"{status}", *told), run)


def api(what: str, notebook: str, *told: str, **kwargs: Any) -> Row:
    arguments = ", ".join([repr(notebook), *(f"{k}={v!r}" for k, v in kwargs.items())])
    given = _display(f"export_notebook({arguments})", 90)
    return Row("export_notebook", what, given, told, {"notebook": notebook, "kwargs": kwargs})


# Requirement strings, tried through %%isolated --req, `isocell env create --req` and the
# REST API's "requirements": (what, requirement, fragments of the message).
PEP508 = "PEP 508"
REQUIREMENTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("empty requirement", "", ("it is empty", PEP508)),
    ("blank requirement", "   ", ("it is empty", PEP508)),
    ("option-like -e .", "-e .", ("'-e .'", "command-line option", PEP508)),
    (
        "option-like --index-url",
        "--index-url=http://evil.example/simple",
        ("--index-url=http://evil.example/simple", "command-line option", PEP508),
    ),
    ("option-like -r file", "-r other.txt", ("'-r other.txt'", "command-line option", PEP508)),
    ("shell command after ;", "pandas; rm -rf /", ("'pandas; rm -rf /'", PEP508)),
    ("shell $(...)", "$(touch {canary})", ("$(touch", PEP508)),
    ("shell backticks", "`touch {canary}`", ("`touch", PEP508)),
    ("shell pipe", "six | sh", ("'six | sh'", PEP508)),
    ("bare URL", "https://example.com/pkg-1.0.whl", ("https://example.com/pkg-1.0.whl", "@")),
    ("local path", "./local/pkg", ("./local/pkg", PEP508)),
    ("absolute path", "/etc/passwd", ("/etc/passwd", PEP508)),
    ("invalid PEP 508", "pandas==>1", ("'pandas==>1'", PEP508)),
    ("impossible range", "pandas>=2,<1", ("pandas>=2,<1", "no version can satisfy")),
    ("two different pins", "six==1.0,==2.0", ("six==1.0,==2.0", "no version can satisfy")),
    ("pin outside range", "six==1.0,>2", ("six==1.0,>2", "no version can satisfy")),
    (
        "newline injection",
        "six\n--index-url http://evil.example",
        ("control character", "one PEP 508 requirement per string"),
    ),
    ("very long", "a" * 5000, ("5000 characters", "longer than 1000")),
    ("unicode name", "pändas", ("pändas", PEP508)),
]

# Interpreters, through %%isolated --python, `isocell env create/add --python` and REST.
ACCEPTED_PYTHON = "--python /path/to/python"
PYTHONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("unknown version", "3.99", ("'3.99'", ACCEPTED_PYTHON)),
    ("not a version", "abc", ("'abc'", "not on PATH", ACCEPTED_PYTHON)),
    ("path that does not exist", "{work}/no/such/python", ("does not exist", ACCEPTED_PYTHON)),
    ("directory", "{work}/folder", ("{work}/folder is a folder", "bin/python")),
    ("non-Python file", "{work}/text.txt", ("text.txt is not an executable", ACCEPTED_PYTHON)),
    ("program that is not Python", "{work}/script.sh", ("script.sh exited", ACCEPTED_PYTHON)),
    ("shell $(...)", "$(touch {canary})", ("$(touch", ACCEPTED_PYTHON)),
    ("very long", "/" + "p" * 5000, ("5001 characters", "longer than any path")),
]

# Environment names, through %%isolated --env, every `isocell env` subcommand and REST.
NAME_RULE = "1-64 letters"
NAMES: list[tuple[str, str, tuple[str, ...]]] = [
    ("empty name", "", ("''", NAME_RULE)),
    ("name ..", "..", ("'..'", NAME_RULE)),
    ("name /", "/", ("'/'", NAME_RULE)),
    ("traversal", "../escape", ("'../escape'", NAME_RULE)),
    ("absolute path", "/tmp/isocell-abs", ("'/tmp/isocell-abs'", NAME_RULE)),
    ("too long", "n" * 65, ("'" + "n" * 65 + "'", NAME_RULE)),
    ("huge", "n" * 100_000, ("… (100", NAME_RULE)),
    ("leading dot", ".hidden", ("'.hidden'", NAME_RULE)),
    ("leading dash", "-rf", ("'-rf'", NAME_RULE)),
    ("unicode", "café", ("'café'", NAME_RULE)),
    ("space", "a b", ("'a b'", NAME_RULE)),
    ("shell $(...)", "x$(touch {canary})", ("$(touch", NAME_RULE)),
]

# Time limits, through %%isolated --timeout and `isocell run --timeout`.
SECONDS = "greater than 0"
TIMEOUTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("negative timeout", "-1", ("'-1'", SECONDS)),
    ("zero timeout", "0", ("'0'", SECONDS)),
    ("NaN timeout", "nan", ("'nan'", SECONDS)),
    ("infinite timeout", "inf", ("'inf'", SECONDS)),
    ("text timeout", "ten", ("'ten'", SECONDS)),
]

# Notebooks to export, through `isocell export`, export_notebook and POST /isocell/export.
NOTEBOOK_RULE = "nbformat 4"
NO_WORK = "no cell that does work"
NOTEBOOKS: list[tuple[str, str, tuple[str, ...]]] = [
    ("missing notebook", "missing.ipynb", ("missing.ipynb", NOTEBOOK_RULE)),
    ("notebook path is a folder", "folder.ipynb", ("folder.ipynb is a folder", NOTEBOOK_RULE)),
    ("not JSON", "notjson.ipynb", ("notjson.ipynb is not a readable notebook", NOTEBOOK_RULE)),
    ("JSON, not a notebook", "notnotebook.ipynb", ("notnotebook.ipynb", NOTEBOOK_RULE)),
    ("a JSON list", "list.ipynb", ("list.ipynb is not a readable notebook", NOTEBOOK_RULE)),
    ("not UTF-8", "binary.ipynb", ("binary.ipynb is not a readable notebook", NOTEBOOK_RULE)),
    ("nbformat 5", "v5.ipynb", ("Unsupported nbformat version 5", NOTEBOOK_RULE)),
    ("nbformat 4 missing keys", "invalid4.ipynb", ("invalid4.ipynb", NOTEBOOK_RULE)),
    ("empty notebook", "empty.ipynb", ("empty.ipynb", NO_WORK)),
    ("no cell that does work", "markdown.ipynb", ("markdown.ipynb", NO_WORK, "markdown")),
    ("cell with a syntax error", "syntax.ipynb", ("cell 2, line 2", "syntax error")),
    ("magic line, unknown option", "unknownopt.ipynb", ("cell 1, line 1", "'--nope'")),
    ("magic line, bad requirement", "badreq.ipynb", ("cell 1, line 1", "pandas; rm -rf /")),
    ("magic line, bad --in", "badin.ipynb", ("cell 1, line 1", "'1x'", "identifier")),
    ("magic line, missing --env", "missingenv.ipynb", ("cell 1, line 1", "'nosuch'")),
    ("bad cell after a good one", "twocells.ipynb", ("cell 2, line 1", "'3.99'")),
    ("!pip", "pip.ipynb", ("cell 1, line 2", "'!pip install six'", "requirements")),
    ("a name nothing defines", "undefined.ipynb", ("cell 3, line 2", "'totl'", "NameError")),
    (
        "an isolated cell reads a name nothing defines",
        "undefined_isolated.ipynb",
        ("cell 1, line 3", "'rows'", "no cell above it"),
    ),
]
DAG_ID_RULE = "1-250 letters"
SCHEDULE_RULE = "cron expression"
DATE_RULE = "YYYY-MM-DD"
EXPORT_OPTIONS: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("--dag-id with a space", "dag_id", "my dag", ("'my dag'", DAG_ID_RULE)),
    ("--dag-id empty", "dag_id", "", ("''", DAG_ID_RULE)),
    ("--dag-id too long", "dag_id", "d" * 251, ("251 characters", DAG_ID_RULE)),
    ("--dag-id with a quote", "dag_id", 'x"y', ('x"y', DAG_ID_RULE)),
    ("--schedule in words", "schedule", "every day", ("'every day'", SCHEDULE_RULE)),
    ("--schedule of 3 fields", "schedule", "* * *", ("3 fields", SCHEDULE_RULE)),
    ("--schedule minute 61", "schedule", "61 * * * *", ("minute field '61'", SCHEDULE_RULE)),
    ("--schedule unknown preset", "schedule", "@fortnightly", ("@fortnightly", "@daily")),
    ("--schedule empty", "schedule", "", ("''", SCHEDULE_RULE)),
    ("--start-date in words", "start_date", "yesterday", ("'yesterday'", DATE_RULE)),
    ("--start-date month 13", "start_date", "2024-13-01", ("'2024-13-01'", DATE_RULE)),
    ("--start-date 30 February", "start_date", "2024-02-30", ("'2024-02-30'", DATE_RULE)),
    ("--start-date empty", "start_date", "", ("''", DATE_RULE)),
    ("--data-dir empty", "data_dir", "", ("--data-dir ''", "fsspec URL")),
    ("--airflow 5", "airflow", 5, ("5", "3 or 2")),
]
OUTPUT_RULE = "folder"
OUTPUTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("output in a missing folder", "missing/deeper/out.py", ("missing/deeper", "does not exist")),
    ("output is a file", "existing.txt", ("existing.txt is a file", OUTPUT_RULE)),
    ("output is the notebook", "nb.ipynb", ("nb.ipynb is a file", OUTPUT_RULE)),
    ("output .py is a folder", "folder.py", ("folder.py is a folder", ".py")),
]


def _rows() -> list[Row]:
    rows: list[Row] = []
    # -- %%isolated ---------------------------------------------------------------------------
    for what, requirement, told in REQUIREMENTS:
        rows.append(magic(what, f"--req {shlex.quote(requirement)}", *told))
    rows += [
        magic("option-like -e . unquoted", "--req -e .", "--req -e .", "cannot start with '-'"),
        magic(
            "option-like --index-url, quoted",
            "--req '--index-url=http://evil.example/simple'",
            "'--index-url=http://evil.example/simple'",
            "command-line option",
            PEP508,
        ),
        magic("--req without a value", "--req", "argument --req", "expected at least one"),
        magic("unknown option", "--nope", "'--nope'", "not an option of %%isolated"),
        magic("unclosed quote", "--req 'six", "--req 'six", "No closing quotation", "quote"),
        magic("-r missing file", "-r {work}/missing.txt", "missing.txt", "-r takes a text file"),
        magic("-r a folder", "-r {work}/folder", "{work}/folder", "-r takes a text file"),
        magic("-r binary file", "-r {work}/binary.txt", "binary.txt", "-r takes a text file"),
        magic(
            "-r file with an option line",
            "-r {work}/reqs-option.txt",
            "--index-url http://evil.example",
            "line 2 of {work}/reqs-option.txt",
            "command-line option",
        ),
        magic(
            "-r file with shell text",
            "-r {work}/reqs-shell.txt",
            "pandas; rm -rf /",
            "line 1 of {work}/reqs-shell.txt",
            PEP508,
        ),
        magic("-r shell $(...)", "-r '$(touch {canary})'", "$(touch", "-r takes a text file"),
        magic(
            "unknown package (reaches the index)",
            f"--req {UNKNOWN_PACKAGE}==1.0",
            UNKNOWN_PACKAGE,
            "building the environment",
            network=True,
        ),
    ]
    for what, python, told in PYTHONS:
        rows.append(magic(f"--python {what}", f"--python {shlex.quote(python)}", *told))
    rows.append(magic("--python empty", "--python ''", "request is empty", "3.9"))
    for what, name, told in NAMES:
        rows.append(magic(f"--env {what}", f"--env={shlex.quote(name)}", *told))
    rows += [
        magic("--env missing", "--env nosuch", "'nosuch'", "isocell env create"),
        magic("--env with --req", "--env host --req six", "--env host", "do not combine"),
        magic("--builder unknown", "--builder conda", "'conda'", "'uv', 'virtualenv'"),
        magic("flag with a value", "--restart=yes", "--restart", "ignored explicit argument 'yes'"),
        magic(
            "--system-site-packages with a value",
            "--system-site-packages=no",
            "--system-site-packages",
            "ignored explicit argument 'no'",
        ),
        magic("--exclude-newer words", "--exclude-newer 'last week'", "last week", "RFC 3339"),
        magic("--exclude-newer no date", "--exclude-newer 2022-13-45", "2022-13-45", "RFC 3339"),
        magic("--index-url option-like", "--index-url=-e", "--index-url -e", "http(s)://"),
        magic("--index-url not a URL", "--index-url 'not a url'", "not a url", "http(s)://"),
        magic(
            "--extra-index-url shell",
            "--extra-index-url '$(touch {canary})'",
            "$(touch",
            "http(s)://",
        ),
        magic("--name traversal", "--name ../x", "'../x'", "task id", NAME_RULE),
        magic("--name empty", "--name ''", "''", "not a cell name", NAME_RULE),
        magic("--name unicode", "--name café", "'café'", "not a cell name", NAME_RULE),
        magic("--in not an identifier", "--in 1x", "'1x'", "not a Python identifier"),
        magic("--in a keyword", "--in class", "'class'", "keyword", "variable names"),
        magic("--in with a dash", "--in a-b", "'a-b'", "not a Python identifier"),
        magic("--out a keyword", "--out def", "'def'", "keyword", "variable names"),
        magic("--out with a space", "--out 'x y'", "'x y'", "not a Python identifier"),
        magic("--in undefined variable", "--in no_such_variable", "no_such_variable", "define"),
    ]
    for what, value, told in TIMEOUTS:
        rows.append(magic(what, f"--timeout {value}", *told))
    # -- %isocell -------------------------------------------------------------------------------
    commands = "envs, pythons"
    rows += [
        line_magic("unknown command", "bogus", "'bogus'", commands),
        line_magic("unclosed quote", "env show 'x", "No closing quotation", "close the quote"),
        line_magic("kernels with an argument", "kernels now", "'now'", "takes no arguments"),
        line_magic("stop missing environment", "stop nosuch", "'nosuch'", "%isocell kernels"),
        line_magic("restart missing environment", "restart nosuch", "'nosuch'", "kernels"),
        line_magic("stop two environments", "stop a b", "'a b'", "takes one environment"),
        line_magic("env unknown subcommand", "env frob", "'frob'", "create"),
        line_magic("env create bad name", "env create ../x", "'../x'", NAME_RULE),
        line_magic(
            "env create shell name", "env create 'x$(touch {canary})'", "$(touch", NAME_RULE
        ),
        line_magic("env show missing", "env show nosuch", "'nosuch'", "isocell env create"),
        line_magic("env remove missing", "env remove nosuch", "'nosuch'", "isocell env create"),
        line_magic(
            "env create bad requirement",
            "env create ok --req 'pandas; rm -rf /'",
            "pandas; rm -rf /",
            PEP508,
        ),
        line_magic("envs unknown option", "envs --bogus", "--bogus", "unrecognized arguments"),
        line_magic("pythons extra word", "pythons extra", "extra", "unrecognized arguments"),
        line_magic("export without a saved notebook", "export", "which notebook", ".ipynb"),
        line_magic(
            "export missing notebook", "export {work}/missing.ipynb", "missing.ipynb", NOTEBOOK_RULE
        ),
        line_magic(
            "export --airflow 5", "export {work}/nb.ipynb --airflow 5", "5", "choose from 2, 3"
        ),
        line_magic(
            "run missing notebook", "run {work}/missing.ipynb", "missing.ipynb", NOTEBOOK_RULE
        ),
    ]
    # -- the isocell command ------------------------------------------------------------------
    usage = "usage: isocell"
    rows += [
        command("no command", [], "required: command", usage),
        command("unknown command", ["frobnicate"], "'frobnicate'", "choose from"),
        command("env without a subcommand", ["env"], "required: env_command", "create"),
        command("env create without a name", ["env", "create"], "required: name"),
        command("env add without --python", ["env", "add", "x"], "required: --python"),
        command("env show without a name", ["env", "show"], "required: name"),
        command(
            "env list extra word", ["env", "list", "extra"], "arguments: extra", "unrecognized"
        ),
        command("env list unknown option", ["env", "list", "--bogus"], "--bogus", "unrecognized"),
        command("pythons unknown option", ["pythons", "--bogus"], "--bogus", "unrecognized"),
        command(
            "--system-site-packages with a value",
            ["env", "create", "x", "--system-site-packages=no"],
            "--system-site-packages",
            "ignored explicit argument 'no'",
        ),
        command(
            "env list --json with a value",
            ["env", "list", "--json=yes"],
            "--json",
            "ignored explicit argument 'yes'",
        ),
        command("env create taken name", ["env", "create", "host"], "'host' exists", "remove"),
        command("env add taken name", ["env", "add", "host", "--python", "3"], "'host' exists"),
        command("env show missing", ["env", "show", "nosuch"], "'nosuch'", "env create"),
        command("env remove missing", ["env", "remove", "nosuch"], "'nosuch'", "env create"),
        command(
            "--builder unknown", ["env", "create", "x", "--builder", "conda"], "'conda'", "'uv'"
        ),
        command(
            "--exclude-newer words",
            ["env", "create", "x", "--exclude-newer", "last week"],
            "last week",
            "RFC 3339",
        ),
        command(
            "--index-url option-like",
            ["env", "create", "x", "--index-url=--trusted-host=evil"],
            "--trusted-host=evil",
            "http(s)://",
        ),
        command(
            "--extra-index-url not a URL",
            ["env", "create", "x", "--extra-index-url", "not a url"],
            "not a url",
            "http(s)://",
        ),
        command(
            "-r missing file",
            ["env", "create", "x", "-r", "{work}/missing.txt"],
            "missing.txt",
            "-r takes a text file",
        ),
        command(
            "-r file with an option line",
            ["env", "create", "x", "-r", "{work}/reqs-option.txt"],
            "--index-url http://evil.example",
            "command-line option",
        ),
        command(
            "unknown package (reaches the index)",
            ["env", "create", "ghost", "--req", UNKNOWN_PACKAGE],
            UNKNOWN_PACKAGE,
            "building the environment",
            network=True,
        ),
    ]
    for what, requirement, told in REQUIREMENTS:
        rows.append(command(what, ["env", "create", "x", f"--req={requirement}"], *told))
    for what, python, told in PYTHONS:
        rows.append(
            command(
                f"env create --python {what}", ["env", "create", "x", f"--python={python}"], *told
            )
        )
        rows.append(
            command(f"env add --python {what}", ["env", "add", "x", f"--python={python}"], *told)
        )
    rows.append(
        command("env add --python empty", ["env", "add", "x", "--python="], "request is empty")
    )
    for what, name, told in NAMES:
        for sub in ("create", "add", "show", "remove"):
            extra = ["--python", "3"] if sub == "add" else []
            rows.append(command(f"env {sub} {what}", ["env", sub, *extra, "--", name], *told))
    for what, value, told in TIMEOUTS:
        rows.append(command(f"run {what}", ["run", "{work}/nb.ipynb", f"--timeout={value}"], *told))
    rows += [
        command(
            "run missing notebook", ["run", "{work}/missing.ipynb"], "missing.ipynb", NOTEBOOK_RULE
        ),
        command("run a folder", ["run", "{work}/folder.ipynb"], "is a folder", NOTEBOOK_RULE),
        command("run not JSON", ["run", "{work}/notjson.ipynb"], "notjson.ipynb", NOTEBOOK_RULE),
        command(
            "run a parameter that is no variable name",
            ["run", "{work}/nb.ipynb", "-p", "1x", "5"],
            "'1x'",
            "not a Python variable name",
        ),
        command(
            "run a parameter without a value",
            ["run", "{work}/nb.ipynb", "-p", "n"],
            "-p/--parameter",
            "expected 2 arguments",
        ),
        command(
            "run -o in a missing folder",
            ["run", "{work}/nb.ipynb", "-o", "{work}/missing/out.ipynb"],
            "missing/out.ipynb",
            "a folder that exists",
        ),
        command(
            "export --airflow 5",
            ["export", "{work}/nb.ipynb", "--airflow", "5"],
            "5",
            "choose from 2, 3",
        ),
        command(
            "export --airflow text",
            ["export", "{work}/nb.ipynb", "--airflow", "two"],
            "'two'",
            "int",
        ),
        command(
            "export -o empty",
            ["export", "{work}/nb.ipynb", "-o", ""],
            "output path is empty",
            OUTPUT_RULE,
        ),
        command(
            "export --data-dir newline",
            ["export", "{work}/nb.ipynb", "--data-dir", "a\nb"],
            "control character",
            "fsspec URL",
        ),
        command("export without a notebook", ["export"], "required: notebook"),
    ]
    for what, notebook, told in NOTEBOOKS:
        rows.append(command(f"export {what}", ["export", f"{{work}}/{notebook}"], *told))
    for what, option, value, told in EXPORT_OPTIONS:
        if option == "airflow":
            continue
        flag = "--" + option.replace("_", "-")
        rows.append(
            command(f"export {what}", ["export", "{work}/nb.ipynb", f"{flag}={value}"], *told)
        )
    for what, output, told in OUTPUTS:
        rows.append(
            command(
                f"export {what}", ["export", "{work}/nb.ipynb", "-o", f"{{work}}/{output}"], *told
            )
        )
    # -- export_notebook ------------------------------------------------------------------------
    for what, notebook, told in NOTEBOOKS:
        rows.append(api(what, f"{{work}}/{notebook}", *told))
    for what, option, value, told in EXPORT_OPTIONS:
        rows.append(api(what, "{work}/nb.ipynb", *told, **{option: value}))
    rows.append(api("--airflow True", "{work}/nb.ipynb", "True", "3 or 2", airflow=True))
    for what, output, told in OUTPUTS:
        rows.append(api(what, "{work}/nb.ipynb", *told, output=f"{{work}}/{output}"))
    # -- REST -----------------------------------------------------------------------------------
    rows += _rest_rows()
    return rows


def _rest_rows() -> list[Row]:
    envs, export = "envs", "export"
    post = "POST"
    json_object = "JSON object"
    rows = [
        rest("body not JSON", post, envs, Raw(b"{nope"), 400, "not JSON", json_object),
        rest("body not UTF-8", post, envs, Raw(b"\xff\xfe{}"), 400, "not JSON", json_object),
        rest("body nested too deeply", post, envs, Raw(b"[" * 100_000), 400, "nested", "flat"),
        rest("body a list", post, envs, ["tiny"], 400, "not a list", json_object),
        rest("body a string", post, envs, "tiny", 400, "not a string", json_object),
        rest("body null", post, envs, Raw(b"null"), 400, "not null", json_object),
        rest("empty body", post, envs, Raw(b""), 400, "'name' field", "a string"),
        rest("no name", post, envs, {"requirements": ["six"]}, 400, "'name' field"),
        rest("name a number", post, envs, {"name": 1}, 400, "'name' must be a string", "number"),
        rest("name a list", post, envs, {"name": ["x"]}, 400, "'name' must be a string"),
        rest(
            "python a number",
            post,
            envs,
            {"name": "x", "python": 3.9},
            400,
            "'python' must be a string",
            "a number",
        ),
        rest("name newline", post, envs, {"name": "a\nb"}, 400, "'a\\nb'", "one line"),
        rest(
            "misspelt field",
            post,
            envs,
            {"name": "x", "requirement": ["six"]},
            400,
            "'requirement'",
            "did you mean 'requirements'",
        ),
        rest(
            "requirements a string",
            post,
            envs,
            {"name": "x", "requirements": "six"},
            400,
            "'requirements' must be a list of strings",
            "a string",
        ),
        rest(
            "requirements of numbers",
            post,
            envs,
            {"name": "x", "requirements": [1]},
            400,
            "'requirements' must be a list of strings",
            "a number",
        ),
        rest(
            "requirement with a newline",
            post,
            envs,
            {"name": "x", "requirements": ["six\n-e ."]},
            400,
            "'six\\n-e .'",
            "one-line",
        ),
        rest(
            "system_site_packages text",
            post,
            envs,
            {"name": "x", "system_site_packages": "yes"},
            400,
            "'system_site_packages'",
            "true or false",
        ),
        rest(
            "builder unknown", post, envs, {"name": "x", "builder": "conda"}, 400, "'conda'", "uv"
        ),
        rest(
            "builder a number", post, envs, {"name": "x", "builder": 1}, 400, "'builder'", "string"
        ),
        rest(
            "exclude_newer words",
            post,
            envs,
            {"name": "x", "exclude_newer": "last week"},
            400,
            "last week",
            "RFC 3339",
        ),
        rest(
            "index_url option-like",
            post,
            envs,
            {"name": "x", "index_url": "-e"},
            400,
            "'-e'",
            "package index URL",
        ),
        rest(
            "index_url not a URL",
            post,
            envs,
            {"name": "x", "index_url": "not a url"},
            400,
            "not a url",
            "http(s)://",
        ),
        rest(
            "extra_index_urls a string",
            post,
            envs,
            {"name": "x", "extra_index_urls": "https://x.example"},
            400,
            "'extra_index_urls'",
            "list of strings",
        ),
        rest(
            "extra_index_urls newline",
            post,
            envs,
            {"name": "x", "extra_index_urls": ["https://x.example\n--trusted-host x"]},
            400,
            "'extra_index_urls'",
            "one-line",
        ),
        rest(
            "external without python",
            post,
            envs,
            {"name": "x", "external": True},
            400,
            "'python'",
            "interpreter's path or version",
        ),
        rest(
            "external a string",
            post,
            envs,
            {"name": "x", "external": "yes", "python": HOST_PYTHON},
            400,
            "'external'",
            "true or false",
        ),
        rest(
            "external with requirements",
            post,
            envs,
            {"name": "x", "external": True, "python": HOST_PYTHON, "requirements": ["six"]},
            400,
            "used as it is",
            "install requirements",
        ),
        rest(
            "external with build options",
            post,
            envs,
            {"name": "x", "external": True, "python": HOST_PYTHON, "builder": "uv"},
            400,
            "'builder'",
            "only apply to an environment isocell builds",
        ),
        rest(
            "taken name",
            post,
            envs,
            {"name": "host", "requirements": ["six"]},
            409,
            "'host'",
            "exists already",
        ),
        rest(
            "taken name, external",
            post,
            envs,
            {"name": "host", "external": True, "python": HOST_PYTHON},
            409,
            "'host'",
            "exists already",
        ),
    ]
    for what, requirement, told in REQUIREMENTS:
        body = {"name": "x", "requirements": [requirement]}
        status_told = told
        if "\n" in requirement:
            status_told = ("one-line", "control character")
        rows.append(rest(f"requirement {what}", post, envs, body, 400, *status_told))
    for what, python, told in PYTHONS:
        rows.append(rest(f"python {what}", post, envs, {"name": "x", "python": python}, 400, *told))
        body = {"name": "x", "python": python, "external": True}
        rows.append(rest(f"external python {what}", post, envs, body, 400, *told))
    for what, name, told in NAMES:
        if not name:
            rows.append(rest(f"name {what}", post, envs, {"name": name}, 400, "'name'", "empty"))
            continue
        rows.append(rest(f"name {what}", post, envs, {"name": name}, 400, *told))
    # Names in the URL: percent-encoded as a client would, and traversal spelt every way.
    url_names = [
        ("name ..", "..", ("'..'", NAME_RULE)),
        ("name %2e%2e", "%2e%2e", ("'..'", NAME_RULE)),
        ("encoded slash", "%2F", ("'/'", NAME_RULE)),
        ("encoded traversal", "..%2F..%2Fetc", ("'../../etc'", NAME_RULE)),
        ("leading dot", ".hidden", ("'.hidden'", NAME_RULE)),
        ("leading dash", "-rf", ("'-rf'", NAME_RULE)),
        ("too long", "n" * 65, ("'" + "n" * 65 + "'", NAME_RULE)),
        ("unicode", "caf%C3%A9", ("'café'", NAME_RULE)),
        ("space", "a%20b", ("'a b'", NAME_RULE)),
        ("shell", "x%24(touch%20x)", ("'x$(touch x)'", NAME_RULE)),
    ]
    for what, name, told in url_names:
        rows.append(rest(f"GET {what}", "GET", f"envs/{name}", None, 400, *told))
        rows.append(rest(f"DELETE {what}", "DELETE", f"envs/{name}", None, 400, *told))
        rows.append(rest(f"rebuild {what}", post, f"envs/{name}/rebuild", {}, 400, *told))
    # A task's log from line N: the task is a real build, failed (an index that is absent).
    for what, since in [("negative", "-1"), ("text", "abc"), ("a fraction", "1.5"), ("empty", "")]:
        url = f"tasks/{{task}}?since={since}"
        rows.append(rest(f"task since {what}", "GET", url, None, 400, f"'{since}'", "line index"))
    missing = ("'nosuch'", "isocell env create")
    rows += [
        rest("GET missing", "GET", "envs/nosuch", None, 404, *missing),
        rest("DELETE missing", "DELETE", "envs/nosuch", None, 404, *missing),
        rest("rebuild missing", post, "envs/nosuch/rebuild", {}, 404, *missing),
        rest("rebuild an external", post, "envs/host/rebuild", {}, 400, "'host'", "used as it is"),
        rest("rebuild body not JSON", post, "envs/host/rebuild", Raw(b"{nope"), 400, "not JSON"),
        rest("rebuild body a list", post, "envs/host/rebuild", [], 400, json_object),
        rest(
            "unknown task",
            "GET",
            "tasks/0123abcd",
            None,
            404,
            "'0123abcd'",
            "list the environments",
        ),
        rest("task traversal", "GET", "tasks/..%2F..%2Fetc", None, 404, "'../../etc'", "no task"),
        rest(
            "unknown route",
            "GET",
            "envs/host/frob",
            None,
            404,
            "no route",
            "/isocell/envs/host/frob",
        ),
    ]
    # Export.
    rows += [
        rest("export body not JSON", post, export, Raw(b"{nope"), 400, "not JSON", json_object),
        rest("export body a list", post, export, ["nb.ipynb"], 400, json_object),
        rest("no path", post, export, {}, 400, "'path' field", "a string"),
        rest("path a number", post, export, {"path": 1}, 400, "'path' must be a string"),
        rest("path empty", post, export, {"path": ""}, 400, "'path' must not be empty"),
        rest(
            "path absolute", post, export, {"path": "/etc/passwd"}, 400, "'/etc/passwd'", "relative"
        ),
        rest(
            "path traversal",
            post,
            export,
            {"path": "../outside.ipynb"},
            403,
            "'../outside.ipynb'",
            "outside",
        ),
        rest(
            "path deep traversal",
            post,
            export,
            {"path": "sub/../../../etc/x.ipynb"},
            403,
            "outside",
        ),
        rest("path not .ipynb", post, export, {"path": "text.txt"}, 400, "text.txt", ".ipynb"),
        rest("path newline", post, export, {"path": "nb.ipynb\nx"}, 400, "'path'", "one line"),
        rest(
            "export misspelt field",
            post,
            export,
            {"path": "nb.ipynb", "schedul": "@daily"},
            400,
            "'schedul'",
            "did you mean 'schedule'",
        ),
        rest(
            "output absolute",
            post,
            export,
            {"path": "nb.ipynb", "output": "/tmp/out"},
            400,
            "'/tmp/out'",
            "relative",
        ),
        rest(
            "output traversal",
            post,
            export,
            {"path": "nb.ipynb", "output": "../dags"},
            403,
            "'../dags'",
            "outside",
        ),
        rest(
            "output a number",
            post,
            export,
            {"path": "nb.ipynb", "output": 1},
            400,
            "'output' must be a string",
        ),
        rest(
            "airflow text",
            post,
            export,
            {"path": "nb.ipynb", "airflow": "3"},
            400,
            "'airflow' must be an integer",
        ),
        rest(
            "airflow huge",
            post,
            export,
            {"path": "nb.ipynb", "airflow": 10**100},
            400,
            "1000000",
            "3 or 2",
        ),
        rest(
            "data_dir with quotes",
            post,
            export,
            {"path": "nb.ipynb", "data_dir": '/x"""+1'},
            400,
            "data_dir",
            "must not contain",
        ),
        rest(
            "data_dir newline",
            post,
            export,
            {"path": "nb.ipynb", "data_dir": "/x\n/y"},
            400,
            "'data_dir'",
            "one line",
        ),
        rest(
            "dag_id a number",
            post,
            export,
            {"path": "nb.ipynb", "dag_id": 1},
            400,
            "'dag_id' must be a string",
        ),
    ]
    for what, notebook, told in NOTEBOOKS:
        status = 404 if notebook == "missing.ipynb" else 400
        if notebook == "missing.ipynb":
            told = ("no notebook at missing.ipynb",)
        elif notebook == "folder.ipynb":
            told = ("folder.ipynb is a folder", ".ipynb file")
        rows.append(rest(f"export {what}", post, export, {"path": notebook}, status, *told))
    for what, option, value, told in EXPORT_OPTIONS:
        body = {"path": "nb.ipynb", option: value}
        rows.append(rest(f"export {what}", post, export, body, 400, *told))
    for what, output, told in OUTPUTS:
        body = {"path": "nb.ipynb", "output": output}
        rows.append(rest(f"export {what}", post, export, body, 400, *told))
    return rows


ROWS = _rows()


def render_table(rows: list[Row]) -> str:
    """``tests/bad_input.md``: the table, grouped by entry point."""

    def cell(text: str) -> str:
        text = text.replace("|", "\\|").replace("\n", "\\n")
        return f"`` {text} ``" if "`" in text else f"`{text}`"

    counts = {
        entry: sum(r.entry == entry for r in rows) for entry in dict.fromkeys(r.entry for r in rows)
    }
    lines = [
        "# Bad input: what every entry point is given, and what the user must be told",
        "",
        "Generated from `ROWS` in `tests/test_bad_input.py` (the test "
        "`test_the_table_is_rendered` keeps this file in sync; `ISOCELL_WRITE_TABLE=1` "
        "rewrites it). For every row the test asserts a clear error (an `IsocellError` or "
        "`UsageError` from a magic; a non-zero exit, one paragraph on stderr and no traceback "
        "from the command; a 4xx with a JSON `message` from the REST API), that the message "
        "holds every fragment in the last column, and that nothing was written or changed: "
        "`ISOCELL_HOME` (every path with its size and mtime, and `registry.json`), the output "
        "folders, and for the magics the notebook namespace and the running child kernels. "
        "`{work}` is the row's folder of files (the server's root for REST), `{canary}` a "
        "file a shell would create; it must never appear. Rows marked *network* reach the "
        "package index and fail at build time, leaving no environment and no registry entry.",
        "",
        "Not rows, by design: `name @ https://...` and `name @ file://...` requirements are "
        "valid PEP 508 and are accepted; an nbformat 3 notebook is upgraded by nbformat and "
        "exported; unknown REST fields are ignored unless one looks like a misspelt known field.",
        "",
        "| Entry point | Rows |",
        "|---|---|",
        *(f"| {entry} | {count} |" for entry, count in counts.items()),
        f"| all | {len(rows)} |",
    ]
    for entry in counts:
        lines += [
            "",
            f"## {entry}",
            "",
            "| # | Input | Given | Must be told |",
            "|---|---|---|---|",
        ]
        for number, row in enumerate((r for r in rows if r.entry == entry), 1):
            what = row.what + (" *(network)*" if row.network else "")
            told = " … ".join(cell(fragment) for fragment in row.told)
            lines.append(f"| {number} | {what} | {cell(row.given)} | {told} |")
    return "\n".join(lines) + "\n"


def test_the_table_is_rendered() -> None:
    text = render_table(ROWS)
    if os.environ.get("ISOCELL_WRITE_TABLE"):
        TABLE.write_text(text, encoding="utf-8")
    assert TABLE.read_text(encoding="utf-8") == text, "run with ISOCELL_WRITE_TABLE=1"


def test_every_row_is_distinct_and_names_what_is_accepted() -> None:
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert all(row.told for row in ROWS)
    assert {row.entry for row in ROWS} == {
        "%%isolated",
        "%isocell",
        "isocell",
        "REST",
        "export_notebook",
    }


# ---- the files a row may name, and snapshots ----------------------------------------------


def _notebook(folder: Path, name: str, *cells: Any) -> None:
    nbformat.write(new_notebook(cells=list(cells)), folder / name)


def make_work(folder: Path) -> Path:
    """The files the rows name: notebooks good and bad, files that are not what is asked."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "folder").mkdir()
    (folder / "folder.ipynb").mkdir()
    (folder / "folder.py").mkdir()
    (folder / "text.txt").write_text("this is not Python\n")
    (folder / "existing.txt").write_text("keep me\n")
    script = folder / "script.sh"
    script.write_text("#!/bin/sh\necho not python\n")
    script.chmod(0o755)
    (folder / "binary.txt").write_bytes(b"\xff\xfe\x00six\n")
    (folder / "reqs-option.txt").write_text("six\n--index-url http://evil.example\n")
    (folder / "reqs-shell.txt").write_text("pandas; rm -rf /\nsix\n")
    _notebook(folder, "nb.ipynb", new_code_cell("x = 1"))
    (folder / "notjson.ipynb").write_text("{nope")
    (folder / "notnotebook.ipynb").write_text('{"a": 1}')
    (folder / "list.ipynb").write_text("[1, 2]")
    (folder / "binary.ipynb").write_bytes(b"\xff\xfe{}")
    (folder / "v5.ipynb").write_text(
        json.dumps({"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []})
    )
    (folder / "invalid4.ipynb").write_text(
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code"}]})
    )
    _notebook(folder, "empty.ipynb")
    _notebook(
        folder, "markdown.ipynb", new_markdown_cell("# Notes"), new_code_cell("%load_ext isocell")
    )
    _notebook(folder, "syntax.ipynb", new_code_cell("x = 1"), new_code_cell("y = 2\nz = (\n"))
    _notebook(folder, "unknownopt.ipynb", new_code_cell("%%isolated --nope\nx = 1"))
    _notebook(folder, "badreq.ipynb", new_code_cell("%%isolated --req 'pandas; rm -rf /'\nx = 1"))
    _notebook(folder, "badin.ipynb", new_code_cell("%%isolated --in 1x\nx = 1"))
    _notebook(folder, "missingenv.ipynb", new_code_cell("%%isolated --env nosuch\nx = 1"))
    _notebook(
        folder,
        "twocells.ipynb",
        new_code_cell(f"%%isolated --req six==1.16.0 --python {HOST_PYTHON}\nx = 1"),
        new_code_cell("%%isolated --python 3.99\ny = x + 1"),
    )
    _notebook(folder, "pip.ipynb", new_code_cell("x = 1\n!pip install six"))
    _notebook(
        folder,
        "undefined.ipynb",
        new_code_cell("import math\ntotal = math.pi"),
        new_markdown_cell("# and then"),
        new_code_cell("print(ds, len(total := [total]))\nresult = totl + 1"),
    )
    _notebook(
        folder,
        "undefined_isolated.ipynb",
        new_code_cell("%%isolated --python 3.99\nimport json\nout = json.dumps(rows)"),
        new_code_cell("rows = [1]"),
    )
    return folder


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time (ns)."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found


@dataclass
class Snapshot:
    home: dict[str, tuple[int, int]]
    registry: str | None
    work: dict[str, tuple[int, int]]
    folder: Path

    @classmethod
    def of(cls, home: Path, work: Path) -> Snapshot:
        registry = home / "registry.json"
        text = registry.read_text(encoding="utf-8") if registry.exists() else None
        return cls(tree(home), text, tree(work), home)


def fill(text: str, work: Path, canary: Path) -> str:
    return text.replace("{work}", str(work)).replace("{canary}", str(canary))


def assert_told(row: Row, message: str, work: Path, canary: Path) -> None:
    assert message.strip(), f"{row.id}: an empty message"
    lowered = message.lower()
    for fragment in row.told:
        expected = fill(fragment, work, canary).lower()
        assert expected in lowered, f"{row.id}: {expected!r} not in the message:\n{message}"


def assert_unchanged(row: Row, before: Snapshot, after: Snapshot, canary: Path) -> None:
    assert not canary.exists(), f"{row.id}: a shell ran (the canary {canary} exists)"
    assert after.registry == before.registry, f"{row.id}: the registry changed"
    assert after.work == before.work, f"{row.id}: files changed: {_diff(before.work, after.work)}"
    if not row.network:
        assert after.home == before.home, (
            f"{row.id}: ISOCELL_HOME changed: {_diff(before.home, after.home)}"
        )
        return
    # A failed build keeps its log (logs/), its build lock (locks/), what the release-date
    # look-up learnt (cache/) and, for ten minutes, its record for the sidebar (builds/);
    # never an environment, finished or half made. The kernel layer of the interpreter,
    # complete and shared by every environment of it, is built first (once per Python) and
    # stays.
    changed = _diff(before.home, after.home)
    allowed = ("logs", "locks", "cache", "envs", "builds")
    assert all(path.split(os.sep)[0] in allowed for path in changed), changed
    environments = [p for p in changed if p.startswith("envs" + os.sep)]
    assert not [p for p in environments if not _in_kernel_layer(after.folder, p)], changed


def _in_kernel_layer(home: Path, path: str) -> bool:
    """Whether ``envs/<key>/...`` is inside a complete kernel layer."""
    folder = home / Path(path).parts[0] / Path(path).parts[1]
    facts = folder / "isocell-env.json"
    return facts.is_file() and bool(json.loads(facts.read_text())["spec"].get("kernel_layer"))


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


# ---- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(isocell_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An ISOCELL_HOME with one registered environment (``host``, the notebook's Python) and
    a warm interpreter cache, shared by every row: a row must leave it as it found it."""
    from isocell import envs as catalog
    from isocell.envs import EnvStore, find_interpreters

    folder = tmp_path_factory.mktemp("bad-input-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ISOCELL_HOME", str(folder))
        catalog.register_external("host", HOST_PYTHON, store=EnvStore(folder))
        find_interpreters()
        yield folder


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return make_work(tmp_path / "work")


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    return tmp_path / "canary"


@pytest.fixture
def jp_server_config() -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"isocell.server": True}}})


def _params(entry: str | tuple[str, ...]) -> list[Any]:
    entries = (entry,) if isinstance(entry, str) else entry
    return [
        pytest.param(
            row, id=row.id, marks=[pytest.mark.network, pytest.mark.slow] if row.network else []
        )
        for row in ROWS
        if row.entry in entries
    ]


# ---- the magics ---------------------------------------------------------------------------


@pytest.mark.parametrize("row", _params(("%%isolated", "%isocell")))
def test_magic(
    row: Row,
    ip: Any,
    ns: dict[str, Any],
    home: Path,
    work: Path,
    canary: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from isocell.envs import EnvStore, Registry

    magics = ip.magics_manager.registry["IsolatedMagics"]
    monkeypatch.setattr(magics.runner, "store", EnvStore(home))
    monkeypatch.setattr(magics.runner, "registry", Registry(home))
    ns["x"] = [1, 2]
    namespace = {name: id(value) for name, value in ns.items()}
    children = magics.runner.pool.records()
    before = Snapshot.of(home, work)
    line = fill(row.run["line"], work, canary)
    with pytest.raises((IsocellError, UsageError)) as caught:
        if row.entry == "%%isolated":
            ip.run_cell_magic("isolated", line, fill(row.run["cell"], work, canary))
        else:
            ip.run_line_magic("isocell", line)
    if row.network:
        assert isinstance(caught.value, BuildError)
    assert_told(row, str(caught.value), work, canary)
    assert {name: id(value) for name, value in ns.items()} == namespace, "the namespace changed"
    assert [r.pid for r in magics.runner.pool.records()] == [r.pid for r in children], (
        "a child kernel was started or stopped"
    )
    assert_unchanged(row, before, Snapshot.of(home, work), canary)


# ---- the isocell command ------------------------------------------------------------------


@pytest.mark.parametrize("row", _params("isocell"))
def test_command(
    row: Row, home: Path, work: Path, canary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from isocell.cli import main

    before = Snapshot.of(home, work)
    argv = [fill(word, work, canary) for word in row.run["argv"]]
    code = main(argv)  # anything but a return is a traceback: the test fails on it
    out, err = capsys.readouterr()
    assert code not in (0, None), f"{row.id}: exit code {code}"
    assert "Traceback" not in err and out == "", (out, err)
    paragraph = err.strip()
    if not row.network:  # a build's progress lines come before its error
        assert paragraph and "\n\n" not in paragraph, f"{row.id}: not one paragraph:\n{err}"
    assert_told(row, err, work, canary)
    assert_unchanged(row, before, Snapshot.of(home, work), canary)


@pytest.mark.parametrize(
    "row",
    [
        r
        for r in _params("isocell")
        if r.values[0].what
        in ("no command", "env create traversal", "export not JSON", "run NaN timeout")
    ],  # type: ignore[union-attr]
)
def test_command_as_a_process(row: Row, home: Path, work: Path, canary: Path) -> None:
    """A few rows through the real ``isocell`` command: the same message, no traceback."""
    before = Snapshot.of(home, work)
    argv = [fill(word, work, canary) for word in row.run["argv"]]
    done = subprocess.run(
        [sys.executable, "-m", "isocell.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "ISOCELL_HOME": str(home)},
        timeout=120,
    )
    assert done.returncode in (1, 2) and done.stdout == ""
    assert "Traceback" not in done.stderr and "\n\n" not in done.stderr.strip()
    assert_told(row, done.stderr, work, canary)
    assert_unchanged(row, before, Snapshot.of(home, work), canary)


# ---- export_notebook ----------------------------------------------------------------------


@pytest.mark.parametrize("row", _params("export_notebook"))
def test_export_notebook(row: Row, home: Path, work: Path, canary: Path) -> None:
    from isocell.dag import export_notebook

    before = Snapshot.of(home, work)
    kwargs = {
        key: fill(value, work, canary) if isinstance(value, str) else value
        for key, value in row.run["kwargs"].items()
    }
    with pytest.raises(IsocellError) as caught:
        export_notebook(fill(row.run["notebook"], work, canary), **kwargs)
    assert_told(row, str(caught.value), work, canary)
    assert_unchanged(row, before, Snapshot.of(home, work), canary)


# ---- REST ---------------------------------------------------------------------------------


async def failed_task(fetch: Any) -> str:
    """The id of a build task that has ended: its index does not exist, so it fails at once
    (no network), and what it leaves is in ISOCELL_HOME before the row's snapshot."""
    body = {"name": "doomed", "requirements": ["six"], "index_url": "file:///no/such/index"}
    response = await fetch("envs", "POST", json.dumps(body).encode())
    assert response.code == 202, response.body
    task = json.loads(response.body)["task"]
    deadline = time.monotonic() + 120
    while task["state"] == "running":
        assert time.monotonic() < deadline, task
        await asyncio.sleep(0.1)
        task = json.loads((await fetch(f"tasks/{task['id']}")).body)["task"]
    assert task["state"] == "failed", task
    return str(task["id"])


@pytest.mark.parametrize("row", _params("REST"))
async def test_rest(
    row: Row,
    jp_serverapp: Any,
    http_server_client: Any,
    jp_auth_header: dict[str, str],
    jp_base_url: str,
    jp_root_dir: Path,
    home: Path,
    canary: Path,
) -> None:
    from jupyter_server.utils import url_path_join

    work = make_work(jp_root_dir)

    async def fetch(url: str, method: str = "GET", payload: bytes | None = None) -> Any:
        # Sent as written: percent-escapes in the URL are the client's, not re-escaped.
        return await http_server_client.fetch(
            url_path_join(jp_base_url, "isocell", url),
            method=method,
            body=payload,
            headers=jp_auth_header,
            raise_error=False,
            allow_nonstandard_methods=True,
            request_timeout=60,
        )

    url = fill(row.run["url"], work, canary)
    if "{task}" in url:
        url = url.replace("{task}", await failed_task(fetch))
    before = Snapshot.of(home, work)
    body = row.run["body"]
    if body is None:
        payload = None
    elif isinstance(body, Raw):
        payload = bytes(body)
    else:
        payload = fill(json.dumps(body), work, canary).encode()
    response = await fetch(url, row.run["method"], payload)
    assert response.code == row.run["status"], (response.code, response.body[:2000])
    assert response.headers.get("Content-Type", "").startswith("application/json")
    reply = json.loads(response.body)
    assert isinstance(reply.get("message"), str), reply
    assert_told(row, f"{response.code} {reply['message']}", work, canary)
    assert_unchanged(row, before, Snapshot.of(home, work), canary)


async def test_rest_build_that_fails_leaves_no_environment(
    jp_serverapp: Any,
    http_server_client: Any,
    jp_auth_header: dict[str, str],
    jp_base_url: str,
    home: Path,
) -> None:
    """A build the API accepted (202) and that then fails: the task says why, and neither an
    environment, finished or half made, nor a registry entry is left."""
    from jupyter_server.utils import url_path_join

    async def fetch(url: str, method: str = "GET", payload: bytes | None = None) -> Any:
        return await http_server_client.fetch(
            url_path_join(jp_base_url, "isocell", url),
            method=method,
            body=payload,
            headers=jp_auth_header,
            raise_error=False,
        )

    registry = (home / "registry.json").read_text(encoding="utf-8")
    envs = sorted(p.name for p in (home / "envs").glob("*")) if (home / "envs").exists() else []
    task_id = await failed_task(fetch)
    task = json.loads((await fetch(f"tasks/{task_id}")).body)["task"]
    assert "doomed" not in (home / "registry.json").read_text(encoding="utf-8")
    assert (home / "registry.json").read_text(encoding="utf-8") == registry
    assert sorted(p.name for p in (home / "envs").glob("*")) == envs
    assert task["error"] and "no/such/index" in task["error"], task
    listing = json.loads((await fetch("envs")).body)["environments"]
    assert [row["name"] for row in listing] == ["host"]
