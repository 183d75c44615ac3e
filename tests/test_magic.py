"""``%%isolated`` end to end through IPython: real uv builds, real child kernels."""

from __future__ import annotations

import os
import sys

import pytest
from IPython.utils.capture import capture_output

from isocell.errors import CellError, IsocellError, RequirementError, TransferError
from tests.conftest import PY39, needs_py39

pytestmark = pytest.mark.slow


def run(ip, line: str, cell: str):
    return ip.run_cell_magic("isolated", line, cell)


def test_bare_cell_runs_in_a_child_on_the_notebooks_python(ip, ns):
    ns["x"] = 41
    run(ip, "", "import os, sys\ny = x + 1\npid = os.getpid()\nversion = sys.version_info[:2]\n")
    assert ns["y"] == 42
    assert ns["pid"] != os.getpid()
    assert tuple(ns["version"]) == sys.version_info[:2]
    assert ns["os"] is os  # an imported module: the notebook's own, as a local import binds


def test_state_persists_in_the_child_between_cells(ip, ns):
    run(ip, "--out seen", "hidden_counter = 1\nseen = 0")  # never returned: the child's own
    run(ip, "--out seen", "seen = hidden_counter + 1")
    assert ns["seen"] == 2
    assert "hidden_counter" not in ns


def test_a_name_the_notebook_deleted_is_deleted_in_the_child(ip, ns):
    run(ip, "", "shared_counter = 1")
    ns.pop("shared_counter")  # as `del shared_counter` in the notebook
    with pytest.raises(NameError):
        run(ip, "--out seen", "seen = shared_counter + 1")


def test_outputs_are_relayed_in_order_and_last_value_displayed(ip, ns):
    with capture_output() as captured:
        value = run(ip, "", "print('one')\nimport sys\nprint('two', file=sys.stderr)\n6 * 7")
    assert captured.stdout == "one\n"
    assert captured.stderr == "two\n"
    assert value is not None and repr(value) == "42"


def test_display_and_update_display_are_relayed(ip, ns):
    cell = (
        "from IPython.display import display, HTML\n"
        "h = display(HTML('<b>first</b>'), display_id='d1')\n"
        "h.update(HTML('<b>second</b>'))\n"
    )
    with capture_output() as captured:
        run(ip, "--out", cell)
    html = [out.data.get("text/html") for out in captured.outputs]
    assert html == ["<b>first</b>", "<b>second</b>"]


def test_mutated_inputs_come_back_and_unmutated_do_not(ip, ns):
    ns["items"] = [1, 2]
    ns["table"] = {"a": 1}
    ns["untouched"] = [9]
    run(ip, "", "items.append(3)\ntable['b'] = 2\nn = len(untouched)")
    assert ns["items"] == [1, 2, 3]
    assert ns["table"] == {"a": 1, "b": 2}
    assert ns["n"] == 1


def test_deleted_names_are_deleted_in_the_notebook(ip, ns):
    ns["doomed"] = 1
    run(ip, "", "del doomed")
    assert "doomed" not in ns


def test_error_shows_child_traceback_with_cell_line_numbers_and_keeps_what_ran(ip, ns):
    ns["a"] = 1
    with pytest.raises(ValueError) as caught:
        run(ip, "", "a = 2\nb = 3\nraise ValueError('boom')\n")
    assert caught.type is ValueError and str(caught.value) == "boom"  # the child's own
    assert ns["a"] == 2 and ns["b"] == 3  # bound before the error, as a local cell leaves them
    text = "\n".join(caught.value._render_traceback_())
    assert "boom" in text
    # line 1 of the notebook cell is the magic line: the raise is on line 4
    assert "line 4" in text


def test_functions_defined_in_the_notebook_cross_on_the_same_python(ip, ns):
    ip.run_cell("def double(v):\n    return v * factor\nfactor = 2\n")
    run(ip, "", "result = double(21)")
    assert ns["result"] == 42


def test_in_and_out_override_inference(ip, ns):
    ns["p"], ns["q"] = 1, 2
    run(ip, "--in p --out r", "r = p + 10\ns = 5")
    assert ns["r"] == 11 and "s" not in ns


def test_unknown_in_name_is_a_clear_error(ip, ns):
    with pytest.raises(TransferError, match="no_such_var"):
        run(ip, "--in no_such_var", "pass")


@pytest.mark.parametrize(
    "line",
    [
        "--req '--index-url=http://evil'",
        "--req 'pandas; rm -rf ~'",
        "--req ''",
        "--req 'not a requirement!!'",
    ],
)
def test_bad_requirements_are_refused_before_anything_runs(ip, ns, line, isocell_home):
    before = sorted(os.listdir(isocell_home / "envs")) if (isocell_home / "envs").exists() else []
    with pytest.raises(RequirementError):
        run(ip, line, "x = 1")
    after = sorted(os.listdir(isocell_home / "envs")) if (isocell_home / "envs").exists() else []
    assert before == after
    assert "x" not in ns


def test_option_looking_requirement_is_not_read_as_an_option(ip, ns):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError):
        run(ip, "--req -e .", "x = 1")


def test_unknown_python_version_lists_what_was_found(ip, ns):
    with pytest.raises(IsocellError, match=r"no Python interpreter matches '3\.99'"):
        run(ip, "--python 3.99", "x = 1")


@needs_py39
def test_flagship_python39_pandas_144(ip, ns):
    ns["rows"] = [
        {"region": "north", "units": 3},
        {"region": "south", "units": 5},
        {"region": "north", "units": 4},
    ]
    cell = (
        "import pandas as pd, sys\n"
        "frame = pd.DataFrame(rows)\n"
        "totals = frame.groupby('region')['units'].sum().to_dict()\n"
        "versions = (sys.version_info[:2], pd.__version__)\n"
        "frame.head()\n"
    )
    with capture_output():
        shown = run(ip, "--python 3.9 --req pandas==1.4.4", cell)
    assert ns["totals"] == {"north": 7, "south": 5}
    assert tuple(ns["versions"][0]) == (3, 9)
    assert ns["versions"][1] == "1.4.4"
    assert "<table" in shown._repr_mimebundle_()[0]["text/html"]
    assert list(ns["frame"]["units"]) == [3, 5, 4]


@needs_py39
def test_external_python_without_ipykernel_takes_the_kernel_from_the_layer(ip, ns):
    before = set(os.listdir(os.path.dirname(os.path.dirname(PY39))))
    run(ip, f"--python {PY39}", "import sys\nwhere = sys.version_info[:2]\n")
    assert tuple(ns["where"]) == (3, 9)
    # nothing was installed into the user's interpreter
    assert set(os.listdir(os.path.dirname(os.path.dirname(PY39)))) == before


def test_child_death_is_reported_and_next_cell_gets_a_new_child(ip, ns):
    run(ip, "", "import os\nfirst = os.getpid()")
    ns["keep"] = "me"
    with pytest.raises(IsocellError, match="died"):
        run(ip, "", "import os\nkeep = 'changed'\nos._exit(3)")
    assert ns["keep"] == "me"
    run(ip, "", "import os\nsecond = os.getpid()")
    assert ns["second"] != ns["first"]


def test_timeout_interrupts_and_keeps_the_child(ip, ns):
    run(ip, "", "import os\nbefore = os.getpid()\nstate = 'kept'")
    with pytest.raises(CellError, match="timeout"):
        run(ip, "--timeout 1", "import time\ntime.sleep(30)")
    run(ip, "--out after same", "import os\nafter = os.getpid()\nsame = state")
    assert ns["after"] == ns["before"] and ns["same"] == "kept"


def _installed_minors() -> list[str]:
    from tests.conftest import _pyenv_python

    return [
        minor
        for minor in ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
        if _pyenv_python(minor)
    ]


PLAIN = {
    "an_int": 2**70,
    "a_float": 1.5,
    "a_str": "héllo",
    "some_bytes": b"\x00\xff",
    "a_list": [1, [2, 3], None],
    "a_tuple": (1, "two"),
    "a_set": {1, 2, 3},
    "a_dict": {"k": {"nested": [1.0, True]}},
    "nothing": None,
}


@pytest.mark.parametrize("minor", ["3.6", "3.7", "3.8", "3.10", "3.12", "3.13", "3.14"])
def test_plain_data_crosses_every_python_version_both_ways(ip, ns, minor):
    if minor not in _installed_minors():
        pytest.skip(f"CPython {minor} is not installed (pyenv)")
    import datetime as dt

    ns.update(PLAIN)
    ns["a_moment"] = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    ns["a_day"] = dt.date(2024, 5, 1)
    names = sorted([*PLAIN, "a_moment", "a_day"])
    cell = "import sys\nversion = sys.version_info[:2]\n" + "\n".join(
        f"{name}_back = {name}" for name in names
    )
    run(ip, f"--python {minor}", cell)
    assert ".".join(map(str, ns["version"])) == minor
    for name in names:
        assert ns[f"{name}_back"] == ns[name], name


@needs_py39
def test_notebook_code_crosses_python_versions_as_source(ip, ns):
    ip.run_cell(
        "import dataclasses\n"
        "OFFSET = 10\n"
        "@dataclasses.dataclass\n"
        "class Point:\n"
        "    x: int\n"
        "    def shifted(self):\n"
        "        return Point(self.x + helper(OFFSET))\n"
        "def helper(v):\n"
        "    return v + 1\n"
        "origin = Point(1)\n"
    )
    run(ip, "--python 3.9", "import sys\nmoved = origin.shifted()\nwhere = sys.version_info[:2]")
    assert tuple(ns["where"]) == (3, 9)
    assert ns["moved"] == ns["Point"](12)  # the notebook's class, rebuilt from the child's


@needs_py39
def test_code_defined_in_an_isolated_cell_comes_back_as_source(ip, ns):
    run(ip, "--python 3.9", "def triple(v):\n    return 3 * v\nclass Box:\n    size = 4\n")
    assert ns["triple"](2) == 6 and ns["Box"].size == 4


@needs_py39
def test_lambda_across_versions_is_a_clear_error(ip, ns):
    ns["square"] = lambda v: v * v
    ns["kept"] = 1
    with pytest.raises(TransferError, match="lambda"):
        run(ip, "--python 3.9", "kept = square(3)")
    assert ns["kept"] == 1


def test_clear_output_is_relayed(ip, ns):
    cell = (
        "from IPython.display import clear_output\nprint('gone')\nclear_output()\nprint('stays')\n"
    )
    with capture_output() as captured:
        run(ip, "--out", cell)
    assert "stays" in captured.stdout


def test_help_prints_the_manual(ip):
    manual = ip.find_cell_magic("isolated").__doc__
    for option in ("--req SPEC", "--python VERSION|PATH", "--exclude-newer", "--timeout"):
        assert option in manual


def test_matplotlib_figure_is_displayed(ip, ns):
    cell = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])\nplt.show()\n"
    with capture_output() as captured:
        run(ip, "--req matplotlib --exclude-newer none --out", cell)
    assert any("image/png" in out.data for out in captured.outputs)


def test_child_sockets_live_in_a_private_folder_not_the_notebooks(ip, ns, tmp_path, monkeypatch):
    # jupyter_client's default IPC path is kernel-ipc-N in the working folder, N the first free
    # number: two notebooks in one folder starting children at once took each other's sockets.
    monkeypatch.chdir(tmp_path)
    ip.run_cell_magic("isolated", "--restart", "import os\nwhere = os.getcwd()")
    assert ns["where"] == str(tmp_path)
    assert list(tmp_path.iterdir()) == []
    pool = ip.magics_manager.registry["IsolatedMagics"].runner.pool
    folders = [pool.get_kernel(key).kernel._ipc_dir for key in pool]
    assert folders and all(folder and any(os.scandir(folder)) for folder in folders)
    ip.run_line_magic("isocell", "stop")
    assert list(tmp_path.iterdir()) == []
    assert not any(os.path.exists(folder) for folder in folders)


def test_inputs_reach_a_body_that_starts_with_a_cell_magic(ip, ns):
    # Such a body has no header line for the inputs to ride on: they are loaded apart.
    ns["x"] = 21
    ip.run_cell_magic("isolated", "--in x --out y", "%%capture captured\ny = x * 2\nprint(y)")
    assert ns["y"] == 42
    ns["x"] = 5
    ip.run_cell_magic("isolated", "", "y = x * 3")  # and the header path still works after it
    assert ns["y"] == 15


@pytest.mark.skipif(
    "3.14" not in _installed_minors(), reason="CPython 3.14 is not installed (pyenv)"
)
def test_a_python_3_14_child_exchanges_arrays_frames_and_notebook_functions(ip, ns):
    """The newest CPython (issue #17; `bash dev.sh test` builds it with pyenv)."""
    import numpy as np
    import pandas as pd

    ns["array"] = np.arange(6.0).reshape(2, 3)
    ns["frame"] = pd.DataFrame({"n": [1, 2], "s": ["a", None]})
    ip.run_cell("def double(v):\n    return v * 2")
    run(
        ip,
        "--python 3.14 --req numpy pandas",
        "import sys\nversion = sys.version_info[:2]\n"
        "array_back = array.T\nframe_back = frame.assign(m=frame['n'] * 3)\n"
        "doubled = double(21)",
    )
    assert ns["version"] == (3, 14)
    np.testing.assert_array_equal(ns["array_back"], ns["array"].T)
    # the child has no pyarrow: the frame it made keeps its strings (values and column
    # names) in Python objects
    expected = ns["frame"].assign(m=[3, 6])
    pd.testing.assert_frame_equal(
        ns["frame_back"], expected, check_dtype=False, check_column_type=False
    )
    assert ns["frame_back"]["s"].tolist()[0] == "a" and pd.isna(ns["frame_back"]["s"][1])
    assert ns["doubled"] == 42
