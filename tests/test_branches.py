"""Branches in the notebook: ``%%branch`` (the notebook's kernel) and ``%%isolated --branch``
(a child kernel) skip what they did not choose, and what reads only skipped cells, as
Airflow does. Real IPython shell; the isolated ones start real child kernels."""

from __future__ import annotations

import re

import pytest
from IPython.utils.capture import capture_output

from isocell.branching import Branching, bind_choice, cell_facts
from isocell.errors import BranchError, OptionError
from isocell.options import parse_branch_line, parse_cell_options


@pytest.fixture
def branching(ip, ns):
    """The shell's branch state, empty before and after the test."""
    state: Branching = ip.magics_manager.registry["IsolatedMagics"].branching
    state.skipped.clear()
    state.ran.clear()
    yield state
    state.skipped.clear()
    state.ran.clear()


def run_cells(ip, *sources: str) -> str:
    """Run ``sources`` as notebook cells; their printed text. A cell that fails fails here."""
    with capture_output() as captured:
        for source in sources:
            result = ip.run_cell(source)
            if result.error_in_exec is not None:
                raise result.error_in_exec
            if result.error_before_exec is not None:
                raise result.error_before_exec
    return captured.stdout


NOTEBOOK = (
    "n = {n}",
    "%%branch big small\n'big' if n > 3 else 'small'",
    "big = n * 100",
    "small = n",
    "post_small = small + 1",
    "report = (big, small, n)",
)


def test_the_cell_not_chosen_and_what_reads_only_it_are_skipped(ip, ns, branching):
    printed = run_cells(ip, *(s.format(n=5) for s in NOTEBOOK))
    assert ns["big"] == 500
    # skipped: its value is None downstream, as a skipped task's XCom is in Airflow
    assert ns["small"] is None and ns["post_small"] is None
    assert ns["report"] == (500, None, 5)  # the join runs: it also reads what big made
    lines = [line for line in printed.splitlines() if line.startswith("isocell: skipped")]
    assert lines == [
        "isocell: skipped small: branch cell chose big",
        "isocell: skipped post_small: every cell it reads from was skipped (small)",
    ]


def test_the_other_choice_skips_the_other_side(ip, ns, branching):
    run_cells(ip, *(s.format(n=5) for s in NOTEBOOK))
    run_cells(ip, *(s.format(n=1) for s in NOTEBOOK))  # run all again, other choice
    assert ns["big"] is None and ns["small"] == 1 and ns["post_small"] == 2
    assert ns["report"] == (None, 1, 1)


def test_the_choice_is_the_cells_result_and_may_name_several_or_none(ip, ns, branching):
    with capture_output():
        shown = ip.run_cell("%%branch a b\n['a', 'b']")
    assert shown.result == ["a", "b"]
    assert branching.skipped == {}
    run_cells(ip, "%%branch a b\nNone")
    assert set(branching.skipped) == {"a", "b"}
    run_cells(ip, "a = 1")
    assert ns["a"] is None  # skipped


@pytest.mark.parametrize(
    ("cell", "told"),
    [
        ("%%branch a b\n'c'", "chose 'c', which is not one of the cells it branches over (a, b)"),
        ("%%branch a b\n3", "a branch chooses by task id"),
        ("%%branch a b\nchoice = 'a'", "must end with an expression"),
    ],
)
def test_a_choice_that_names_no_cell_is_a_clear_error(ip, ns, branching, cell, told):
    with pytest.raises(BranchError, match=told.replace("(", r"\(").replace(")", r"\)")):
        run_cells(ip, cell)
    assert branching.skipped == {}  # nothing decided


def test_branch_lines_are_checked():
    assert parse_branch_line("a b a") == ("a", "b")
    for line, told in [("", "name the cells"), ("--x", "not options"), ("../a", "cell name")]:
        with pytest.raises(OptionError, match=told):
            parse_branch_line(line)
    assert parse_cell_options("--branch a b --name pick").branch == ("a", "b")


def test_the_choice_is_bound_without_moving_a_line():
    cell = "x = 1\n'big' if x else [\n  'smäll']  # why\n"
    bound = bind_choice(cell, cell, "cell")
    assert bound.splitlines()[1].startswith("__isocell_choice__ = ('big'")
    assert bound.splitlines()[2] == "  'smäll'])  # why"
    namespace: dict = {}
    exec(bound, namespace)
    assert namespace["__isocell_choice__"] == "big"
    assert bind_choice("'a';", "'a';", "cell").endswith("__isocell_choice__;")  # stays quiet


def test_a_cells_task_id_is_its_name_or_the_first_name_it_makes():
    assert cell_facts("import os\ndef f(): pass\nb = 1\na = f()").task_id == "b"
    assert cell_facts("x = 1", "named").task_id == "named"
    assert cell_facts("import os").task_id is None
    assert cell_facts("import os\nclass K: pass\ny = 2").makes == ("y",)


@pytest.mark.slow
def test_an_isolated_branch_chooses_in_its_child(ip, ns, branching):
    run_cells(
        ip,
        "n = 7",
        "%%isolated --branch big small --name pick\nimport sys\n'big' if n > 3 else 'small'",
        "%%isolated --name big\nbig_value = n * 2",
        "%%isolated --name small\nsmall_value = n",
        "after_small = small_value + 1",
    )
    assert "__isocell_choice__" not in ns
    assert ns["big_value"] == 14 and ns["small_value"] is None and ns["after_small"] is None
    assert branching.skipped == {"small": "branch pick chose big"}


def _export(tmp_path, *sources: str):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from isocell.dag import export_notebook

    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return export_notebook(path, tmp_path / "out")


@pytest.mark.parametrize(
    ("cells", "cell", "told"),
    [
        (("n = 1", "%%branch a b\n'a'", "a = n"), 2, "names 'b', but no cell after it"),
        (("a = 1", "%%branch a\n'a'"), 2, "names 'a', but no cell after it"),
        (("n = 1", "%%branch a\nm = 2\n'a'", "a = m"), 2, "makes 'm', which a later cell"),
        (("n = 1", "%%branch a\nchoice = 'a'", "a = n"), 2, "must end with an expression"),
        (("n = 1", "%%branch ../x\n'a'"), 2, "the %%branch line is invalid"),
        (
            ("n = 1", "%%branch a b\n'a'", "a = n\nv = 1", "b = n\nv = 2", "w = v"),
            5,
            "it reads 'v', which cells 3 and 4 both make",
        ),
    ],
)
def test_a_branch_the_export_cannot_follow_is_an_error_naming_the_cell(tmp_path, cells, cell, told):
    from isocell.errors import ExportError

    with pytest.raises(ExportError, match=re.escape(told)) as caught:
        _export(tmp_path, *cells)
    assert caught.value.cell == cell - 1


def test_tasks_after_a_branchs_targets_get_the_join_trigger_rule(tmp_path):
    text = _export(
        tmp_path,
        "n = 1",
        "other = 2",
        "%%branch a b\n'a' if n else 'b'",
        "a = n",
        "b = n",
        "after_a = a + 1",
        "join = (after_a, b, other)",
        "unrelated = other * 2",
    ).text
    tasks = _decorators(text)
    assert tasks["a"] == tasks["b"] == "@task(multiple_outputs=True)"
    assert (
        tasks["after_a"]
        == '@task(multiple_outputs=True, trigger_rule="none_failed_min_one_success")'
    )
    assert tasks["join"] == '@task(trigger_rule="none_failed_min_one_success")'
    assert tasks["unrelated"] == "@task"  # not downstream of a target: Airflow's default
    assert "cell_" in next(name for name, line in tasks.items() if line == "@task.branch")
    assert 'isocell_choice = "a" if n else "b"\n        return isocell_choice' in text


def _decorators(text: str) -> dict[str, str]:
    """Task function name → its decorator line(s), joined."""
    import ast

    tree = ast.parse(text)
    dag = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    return {
        n.name: "@" + ast.get_source_segment(text, n.decorator_list[0])
        for n in dag.body
        if isinstance(n, ast.FunctionDef)
    }
