"""The grammar of a cell's options (isocell.options): a table of lines with what each parses to
or the error it gives; the manual, the command's --help and the REST body list one table."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

import pytest
from IPython.core.error import UsageError

from isocell.envs import EnvRequest
from isocell.errors import OptionError
from isocell.options import (
    BUILD_OPTIONS,
    OPTIONS,
    CellOptions,
    Word,
    parse_cell_options,
    split_line,
    unexpanded,
)

# (line, the parsed options that differ from the defaults). Keys of EnvRequest go to
# `environment`, the others to CellOptions.
PARSED: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("--python 3.9 --req pandas==1.4.4", {"python": "3.9", "requirements": ("pandas==1.4.4",)}),
    ("--req a b --req c", {"requirements": ("a", "b", "c")}),
    ("--req 'pandas>=1,<2' six", {"requirements": ("pandas>=1,<2", "six")}),
    ('--req "a; b"', {"requirements": ("a; b",)}),
    (
        "--req 'x[extra]; python_version<\"3.10\"'",
        {"requirements": ('x[extra]; python_version<"3.10"',)},
    ),
    ("--req pkg#egg", {"requirements": ("pkg#egg",)}),
    # A quoted word that starts with '-' is a value (then refused as a requirement by envs).
    ("--req '-e .'", {"requirements": ("-e .",)}),
    ("--req '--index-url=http://x'", {"requirements": ("--index-url=http://x",)}),
    ('--req six "--restart"', {"requirements": ("six", "--restart")}),
    ("--python 'C:\\Python39\\python.exe'", {"python": "C:\\Python39\\python.exe"}),
    ("--python C:\\Python39\\python.exe", {"python": "C:\\Python39\\python.exe"}),
    ("--python='/opt/my python/bin/python'", {"python": "/opt/my python/bin/python"}),
    ("-r a.txt --requirements b.txt", {"requirement_files": ("a.txt", "b.txt")}),
    ("--env analytics --out totals", {"environment_name": "analytics", "outputs": ("totals",)}),
    ("--env=analytics", {"environment_name": "analytics"}),
    ("--in a b --out", {"inputs": ("a", "b"), "outputs": ()}),
    ("--in", {"inputs": ()}),
    ("--system-site-packages --restart", {"system_site_packages": True, "restart": True}),
    (
        "--index-url https://i/simple --extra-index-url https://a --extra-index-url https://b",
        {"index_url": "https://i/simple", "extra_index_urls": ("https://a", "https://b")},
    ),
    ("--builder virtualenv", {"builder": "virtualenv"}),
    ("--exclude-newer 2022-09-01", {"exclude_newer": "2022-09-01"}),
    ("--timeout 0.5", {"timeout": 0.5}),
    ("--timeout=60", {"timeout": 60.0}),
    ("--name load_rows", {"name": "load_rows"}),
    ("   --restart   ", {"restart": True}),
    # IPython expands {var} before the magic sees the line; the core reads it as it is.
    ("--req {spec}", {"requirements": ("{spec}",)}),
    ("--python " + "3" * 5000, {"python": "3" * 5000}),
]

# (line, fragments of the error message).
REFUSED: list[tuple[str, tuple[str, ...]]] = [
    ("--req", ("argument --req", "expected at least one argument", "cannot start with '-'")),
    ("--req -e .", ("argument --req", "expected at least one", "cannot start with '-'")),
    ("--nope", ("'--nope' is not an option of %%isolated", "-e, -r or --index-url")),
    ("--req six --nope x", ("unrecognized arguments: --nope x", "'--nope'")),
    ("pandas==1.4.4", ("unrecognized arguments: pandas==1.4.4", "after --req")),
    ("--req 'six", ("No closing quotation", "close the quote")),
    ('--req "six', ("No closing quotation",)),
    ("--python", ("argument --python", "expected one argument")),
    ("--restart=yes", ("argument --restart", "ignored explicit argument 'yes'")),
    ("--builder conda", ("argument --builder", "'conda'", "'uv', 'virtualenv'")),
    ("--timeout -1", ("argument --timeout", "'-1'", "greater than 0")),
    ("--timeout 0", ("'0'", "greater than 0")),
    ("--timeout nan", ("'nan'", "greater than 0")),
    ("--timeout inf", ("'inf'", "greater than 0")),
    ("--timeout ten", ("'ten'", "greater than 0")),
    ("--in 1x", ("argument --in", "'1x' is not a Python identifier")),
    ("--in a-b", ("'a-b' is not a Python identifier",)),
    ("--out 'x y'", ("argument --out", "'x y' is not a Python identifier")),
    ("--out def", ("'def' is a Python keyword",)),
    ("--env ../x", ("argument --env", "'../x'", "1-64 letters")),
    ("--env ''", ("argument --env", "''", "1-64 letters")),
    ("--env " + "n" * 100_000, ("argument --env", "… (100000 characters)", "1-64 letters")),
    ("--name café", ("argument --name", "'café' is not a cell name", "task id")),
    ("--name " + "t" * 65, ("argument --name", "not a cell name")),
    ("--req six\x00", ("NUL character",)),
    ("--in " + "x" * 90 + "-y", ("… (92 characters)", "not a Python identifier")),
]


def _expected(changes: dict[str, Any]) -> CellOptions:
    fields = set(EnvRequest.__dataclass_fields__)
    environment = EnvRequest(**{k: v for k, v in changes.items() if k in fields})
    rest = {k: v for k, v in changes.items() if k not in fields}
    return CellOptions(environment=environment, **rest)


@pytest.mark.parametrize(("line", "changes"), PARSED, ids=[row[0][:40] for row in PARSED])
def test_a_line_parses_to(line: str, changes: dict[str, Any]) -> None:
    assert parse_cell_options(line) == _expected(changes)


@pytest.mark.parametrize(("line", "told"), REFUSED, ids=[row[0][:40] for row in REFUSED])
def test_a_line_is_refused_with(line: str, told: tuple[str, ...]) -> None:
    with pytest.raises(OptionError) as caught:
        parse_cell_options(line)
    message = str(caught.value)
    for fragment in told:
        assert fragment in message, (fragment, message)
    assert len(message) < 1000, "the message repeats a huge value"


def test_the_result_is_frozen() -> None:
    options = parse_cell_options("--req six --in a")
    with pytest.raises(AttributeError):
        options.name = "x"  # type: ignore[misc]
    assert options.environment.requirements == ("six",) and options.inputs == ("a",)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("a  'b c'  \"d\"", [Word("a"), Word("b c", True), Word("d", True)]),
        ("x'y z'w", [Word("xy zw")]),
        ("'-e' -e", [Word("-e", True), Word("-e")]),
        ("--opt='-v'", [Word("--opt=-v")]),
        ("a\\ b", [Word("a\\"), Word("b")]),
        ("#not-a-comment", [Word("#not-a-comment")]),
        ("''", [Word("", True)]),
        ("", []),
    ],
)
def test_split_line(line: str, words: list[Word]) -> None:
    assert split_line(line) == words


@pytest.mark.parametrize(
    ("line", "found"),
    [("--req {spec}", "{spec}"), ("--python $py", "$py"), ("--req six", None), ("--x $", None)],
)
def test_unexpanded(line: str, found: str | None) -> None:
    assert unexpanded(line) == found


# -- one table, three doors ----------------------------------------------------------------


def _flags_in(text: str) -> set[str]:
    known = {flag for option in OPTIONS for flag in option.flags}
    return {word.strip("[],") for word in text.split() if word.strip("[],") in known}


def test_the_manual_lists_every_option_in_the_tables_order() -> None:
    from isocell.magics import IsolatedMagics

    manual = IsolatedMagics.isolated.__doc__
    assert manual is not None
    assert _flags_in(manual) == {flag for option in OPTIONS for flag in option.flags}
    positions = [manual.index(f"\n  {option.flags[0]}") for option in OPTIONS]
    assert positions == sorted(positions)
    for option in OPTIONS:
        assert option.help.split()[0] in manual


def test_the_command_takes_the_build_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "env", "create", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert _flags_in(done.stdout) == {flag for option in BUILD_OPTIONS for flag in option.flags}


def test_the_rest_body_takes_the_build_options() -> None:
    from isocell.server._envs import _FIELDS

    fields = {option.field for option in BUILD_OPTIONS if option.field}
    assert set(_FIELDS) == fields | {"name", "external"}
    # Only a file on the client's side cannot travel in a body.
    assert [option.name for option in BUILD_OPTIONS if not option.field] == ["--requirements"]


def test_a_build_option_is_parsed_alike_by_the_command_and_the_magic() -> None:
    from isocell.options import add_arguments, environment_request, read_namespace

    parser = argparse.ArgumentParser()
    add_arguments(parser, BUILD_OPTIONS)
    words = ["--python", "3.9", "--req", "a", "b", "--req", "c", "-r", "f.txt", "--builder", "uv"]
    words += ["--extra-index-url", "https://x", "--system-site-packages"]
    command = environment_request(read_namespace(parser.parse_args(words), BUILD_OPTIONS))
    assert command == parse_cell_options(" ".join(words)).environment


# -- {var} expansion in the notebook (no kernel starts: --in names are checked first) -------


def test_the_magic_expands_variables_as_ipython_does(
    ip: Any, ns: dict[str, Any], tmp_path: Any
) -> None:
    from isocell.errors import TransferError

    ns["wanted"] = "no_such_name"
    with pytest.raises(TransferError, match="no_such_name"):
        ip.run_cell("%%isolated --in {wanted}\nx = 1", store_history=False).raise_error()
    with pytest.raises(TransferError, match="no_such_name"):
        ip.run_cell("%%isolated --in $wanted\nx = 1", store_history=False).raise_error()
    # Called from a function, the same frames as IPython's own cell magics (%%writefile).
    code = (
        "def call():\n"
        "    wanted = 'local_name'\n"
        f"    get_ipython().run_cell_magic('writefile', '{tmp_path}/{{wanted}}', 'x')\n"
        "    get_ipython().run_cell_magic('isolated', '--in {wanted}', 'x = 1')\n"
        "call()"
    )
    with pytest.raises(TransferError) as caught:
        ip.run_cell(code, store_history=False).raise_error()
    [written] = [path.name for path in tmp_path.iterdir()]
    assert f"variable {written!r}" in str(caught.value)
    # {{ and }} stand for braces, as in str.format.
    with pytest.raises(UsageError, match=r"'\{x\}'"):
        ip.run_cell("%%isolated --in {{x}}\nx = 1", store_history=False).raise_error()


def test_the_sidebar_checks_names_by_the_rule_the_server_applies() -> None:
    # labextension/src/widgets/format.ts checks a new name as it is typed (issue #15)
    from pathlib import Path

    from isocell.envs._names import _NAME

    source = (Path(__file__).parents[1] / "labextension/src/widgets/format.ts").read_text()
    assert f"NAME_PATTERN = /{_NAME.pattern}/;" in source
