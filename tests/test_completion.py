"""Tab completion of an ``%%isolated`` cell's first line by the kernel (issue #15): options,
named environments, Pythons found and builders, through IPython's own completer as a
frontend's ``complete_request`` reaches it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from IPython.core.completer import provisionalcompleter

from isocell._completion import complete_options
from isocell.envs import Registry


def _completions(ip: object, text: str) -> list[str]:
    with provisionalcompleter():
        found = ip.Completer.completions(text, len(text))  # type: ignore[attr-defined]
        return [c.text for c in found]


def test_options_complete_after_a_dash(ip: object) -> None:
    assert _completions(ip, "%%isolated --e") == ["--env", "--exclude-newer", "--extra-index-url"]
    assert "--python" in _completions(ip, "%%isolated --req pandas==1.4.4 --py")
    assert "--restart" in _completions(ip, "%%isolated ")


def test_values_complete_after_their_option(ip: object, fresh_home: Path) -> None:
    Registry(fresh_home).add("analytics", python=sys.executable)
    Registry(fresh_home).add("another", python=sys.executable)
    assert _completions(ip, "%%isolated --env an") == ["analytics", "another"]
    assert _completions(ip, "%%isolated --builder ") == ["uv", "virtualenv"]
    minor = "{}.{}".format(*sys.version_info[:2])
    assert minor in _completions(ip, "%%isolated --python 3")


def test_nothing_to_offer_offers_no_python_keywords(ip: object, fresh_home: Path) -> None:
    # the issue: Tab after `%%isolated --env ` offered `and`, `if`, `in`
    shown = _completions(ip, "%%isolated --env ")
    assert not {"and", "if", "in"} & set(shown)
    assert not {"and", "if"} & set(_completions(ip, "%%isolated --name i"))


def test_the_cell_body_and_plain_cells_keep_ipythons_completions(ip: object) -> None:
    assert "os" in _completions(ip, "%%isolated --env x\nimport o")
    assert "import" in _completions(ip, "impo")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%%isolated --timeout ", ([], "")),
        ("%%isolated --restart --bu", (["--builder"], "--bu")),
        ("%%isolated --req pandas --", (["--req"], "--")),
        ("%%time --e", ([], "")),
    ],
)
def test_complete_options_reads_the_line(line: str, expected: tuple[list[str], str]) -> None:
    candidates, fragment = complete_options(line)
    if expected[0] == ["--req"]:
        assert "--req" in candidates and fragment == "--"
    else:
        assert (candidates, fragment) == expected
