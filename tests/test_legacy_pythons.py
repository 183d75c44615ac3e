"""Cells on Pythons older than the notebook's (issue #17): Pythons 3.7 and 3.6 with requirements
of their time, on the real pyenv interpreters (skipped with a reason where one is absent).

The environment is built by uv, the child is the newest ipykernel that supports 3.7 (the
kernel layer resolves it for that Python), and values cross through the version-neutral codec
run from source in the child: plain Python data, numpy arrays and pandas frames, functions as
source.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from IPython.utils.capture import capture_output

from isocell.errors import TransferError
from isocell.runner._held import HeldInChild
from tests.conftest import _pyenv_python
from tests.test_faults import NotebookKernel

pytestmark = pytest.mark.slow

PY27 = _pyenv_python("2.7")
needs_py27 = pytest.mark.skipif(PY27 is None, reason="CPython 2.7 is not installed (pyenv)")

PY37 = _pyenv_python("3.7")
needs_py37 = pytest.mark.skipif(PY37 is None, reason="CPython 3.7 is not installed (pyenv)")
SEVEN = "--python 3.7 --req pandas==1.1.5 scikit-learn==0.24.2"
# The same requirements on each old Python (both have wheels for 3.6 and 3.7).
OLD = [
    pytest.param(
        minor,
        marks=pytest.mark.skipif(
            _pyenv_python(minor) is None, reason=f"CPython {minor} is not installed (pyenv)"
        ),
    )
    for minor in ("3.7", "3.6")
]


def _line(minor: str) -> str:
    return f"--python {minor} --req pandas==1.1.5 scikit-learn==0.24.2"


@pytest.mark.parametrize("minor", OLD)
def test_an_old_python_cell_runs_with_the_packages_of_its_time(ip, ns, minor):
    ip.run_cell_magic(
        "isolated",
        _line(minor),
        "import sys, pandas, sklearn\n"
        "version = '%d.%d' % sys.version_info[:2]\n"
        "packages = (pandas.__version__, sklearn.__version__)",
    )
    assert ns["version"] == minor
    assert ns["packages"] == ("1.1.5", "0.24.2")


@pytest.mark.parametrize("minor", OLD)
def test_values_cross_both_ways_with_an_old_python_child(ip, ns, minor):
    ns["numbers"] = {"a": [1, 2.5, None], "b": ("x", b"y"), "c": {3, 4}}
    ns["array"] = np.arange(12.0).reshape(3, 4)
    ns["frame"] = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", None]})
    ip.run_cell("def double(v):\n    return v * 2")  # a notebook function: crosses as source
    ip.run_cell_magic(
        "isolated",
        _line(minor),
        "numbers_back = numbers\n"
        "array_back = array * 2\n"
        "frame_back = frame.assign(m=frame['n'] * 10)\n"
        "doubled = double(21)\n"
        "from sklearn.linear_model import LinearRegression\n"
        "slope = float(LinearRegression().fit(array[:, :1], array[:, 1]).coef_[0])",
    )
    assert ns["numbers_back"] == ns["numbers"]
    np.testing.assert_array_equal(ns["array_back"], ns["array"] * 2)
    expected = ns["frame"].assign(m=ns["frame"]["n"] * 10)
    pd.testing.assert_frame_equal(ns["frame_back"], expected)
    assert ns["doubled"] == 42
    assert ns["slope"] == pytest.approx(1.0)
    # the child is the same between cells: what the first imported is loaded
    ip.run_cell_magic("isolated", _line(minor), "import sys\nloaded = 'sklearn' in sys.modules")
    assert ns["loaded"] is True


@needs_py37
@pytest.mark.airflow
def test_a_python_3_7_cell_exports_to_a_task_that_airflow_runs(isocell_home, tmp_path):
    import json

    from isocell.dag import export_notebook
    from tests import airflow_harness
    from tests.test_export import notebook

    if airflow_harness.airflow_venv(3) is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")
    path = notebook(
        tmp_path,
        "numbers = [1, 2, 3]",
        f"%%isolated {SEVEN}\nimport sys, pandas\n"
        "total = int(pandas.Series(numbers).sum())\nversion = '%d.%d' % sys.version_info[:2]",
        "import json, os\n"
        "with open(os.environ['ISOCELL_RESULTS'], 'w') as handle:\n"
        "    json.dump({'total': total, 'version': version}, handle)",
    )
    result = export_notebook(path, tmp_path / "dags", data_dir=str(tmp_path / "data"))
    assert 'python_version="3.7"' in result.text
    results = tmp_path / "results.json"
    outcome = airflow_harness.dags_test(
        result.dag_file.parent, result.dag_id, env={"ISOCELL_RESULTS": str(results)}
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert json.loads(results.read_text()) == {"total": 6, "version": "3.7"}


LEGACY_EXPORTS = [
    pytest.param(
        "--python 3.6 --req pandas==1.1.5",
        "import sys, pandas\n"
        "frame = pandas.DataFrame({'n': numbers})\n"
        "total = int(frame['n'].sum())\n"
        "version = '%d.%d' % sys.version_info[:2]\n"
        "print('total', total)",
        "3.6",
        marks=pytest.mark.skipif(
            _pyenv_python("3.6") is None, reason="CPython 3.6 is not installed (pyenv)"
        ),
        id="3.6",
    ),
    pytest.param(
        "--python 2.7 --req six==1.16.0",
        "import sys, six\n"
        'print "total", sum(numbers)\n'
        "total = sum(numbers)\n"
        "version = '%d.%d' % sys.version_info[:2]\n"
        "frame = None",
        "2.7",
        marks=needs_py27,
        id="2.7",
    ),
]


@pytest.mark.airflow
@pytest.mark.parametrize(("line", "body", "minor"), LEGACY_EXPORTS)
def test_a_cell_on_a_python_older_than_3_7_exports_to_a_task_that_airflow_runs(
    ip, ns, isocell_home, tmp_path, line, body, minor
):
    """Airflow's virtualenv tasks run 3.7 and newer: the cell runs from a plain task, in its
    environment's interpreter, with the notebook's results."""
    import json

    from isocell.dag import export_notebook
    from tests import airflow_harness
    from tests.test_export import notebook

    if airflow_harness.airflow_venv(3) is None:
        pytest.skip(f"Airflow 3 could not be installed: {airflow_harness.build_failure(3)}")
    ns["numbers"] = [1, 2, 3]
    ip.run_cell_magic("isolated", line, body)  # in the notebook first: the same results
    assert (ns["total"], ns["version"]) == (6, minor)
    path = notebook(
        tmp_path,
        "numbers = [1, 2, 3]",
        f"%%isolated {line}\n{body}",
        "import json, os\n"
        "with open(os.environ['ISOCELL_RESULTS'], 'w') as handle:\n"
        "    json.dump({'total': total, 'version': version}, handle)",
    )
    result = export_notebook(path, tmp_path / "dags", data_dir=str(tmp_path / "data"))
    assert "run_cell(" in result.text and "@task.virtualenv(" not in result.text
    results = tmp_path / "results.json"
    outcome = airflow_harness.dags_test(
        result.dag_file.parent, result.dag_id, env={"ISOCELL_RESULTS": str(results)}
    )
    assert outcome.returncode == 0, outcome.output[-5000:]
    assert json.loads(results.read_text()) == {"total": 6, "version": minor}


@pytest.mark.parametrize("minor", OLD[1:])
def test_what_an_old_python_task_cannot_do_is_refused_naming_the_cell(
    isocell_home, tmp_path, minor
):
    from isocell.dag import export_notebook
    from isocell.errors import ExportError
    from tests.test_export import notebook

    cases = [
        (  # the provider's pod script needs 3.7
            [f"%%isolated {_line(minor)}\ny = 1"],
            {"target": "kubernetes", "data_dir": "s3://bucket/data"},
            r"pod script runs Python 3\.7 and newer, not 3\.6",
        ),
        (  # requirements rendered per run need a @task.virtualenv
            ["pin = '1.16.0'", f"%%isolated --python {minor} --req six==$pin\ny = 1"],
            {},
            r"rendered per run need a @task\.virtualenv.*not 3\.6",
        ),
        (  # the Variables a cell reads come as templated arguments of a virtualenv task
            [f"%%isolated {_line(minor)}\nfrom isocell import Variable\ny = Variable.get('k')"],
            {},
            r"Python 3\.6 cannot read Airflow's Variables",
        ),
    ]
    for cells, options, message in cases:
        path = notebook(tmp_path, *cells)
        with pytest.raises(ExportError, match=message) as caught:
            export_notebook(path, tmp_path / "dags", **options)
        assert caught.value.cell == len(cells) - 1
        assert not (tmp_path / "dags").exists()


@needs_py27
def test_the_prebuilt_target_says_what_the_image_needs_for_a_python2_cell(isocell_home, tmp_path):
    from isocell.dag import export_notebook
    from tests.test_export import notebook

    path = notebook(tmp_path, "%%isolated --python 2.7 --req six==1.16.0\nprint 'x'\ny = 1")
    result = export_notebook(path, tmp_path / "dags", target="prebuilt")
    (notice,) = result.notices
    assert "runs on Python 2.7, which the image does not hold" in notice
    assert "ASTRO_PYENV_py27" in notice and "ASTRO_PYENV_py27" in result.text
    for name in ("Dockerfile", "Dockerfile.astro"):  # nothing the image's uv would fail on
        assert "py27" not in (tmp_path / "dags" / name).read_text()


PYTHON2_CELL = """\
print "hello from", sys.version_info[0]
back = data
text = "caf\\xc3\\xa9".decode("utf-8").encode("utf-8")
literal = "café"
wide = u"naïve"
raw = "\\xff\\x00"
doubled = big * 2
kinds = [type(data[u"b"][0]).__name__, type(data[u"b"][1]).__name__, type(big).__name__]
try:
    1 / 0
except ZeroDivisionError, error:
    message = str(error)
"""


@needs_py27
def test_a_python2_cell_runs_as_python2_and_plain_data_crosses_both_ways(ip, ns):
    ns["data"] = {"a": [1, 2.5, None, True], "b": ("x", b"y\xff"), "c": {3, 4}, "d": 1j}
    ns["big"] = 2**70
    ip.run_cell_magic("isolated", "--python 2.7", "import sys")
    with capture_output() as captured:
        ip.run_cell_magic("isolated", "--python 2.7", PYTHON2_CELL)
    assert captured.stdout == "hello from 2\n"
    # the notebook's str is unicode there, its bytes str; a long is a long
    assert ns["kinds"] == ["unicode", "str", "long"]
    assert ns["back"] == ns["data"]
    # a Python 2 str comes back as str when it is UTF-8 text, else as bytes
    assert ns["text"] == "café" and ns["literal"] == "café"
    assert ns["wide"] == "naïve"
    assert ns["raw"] == b"\xff\x00"
    assert ns["doubled"] == 2**71
    assert ns["message"] == "integer division or modulo by zero"


@needs_py27
def test_a_python2_cells_error_is_raised_as_its_own_class_and_the_child_persists(ip, ns):
    ip.run_cell_magic("isolated", "--python 2.7 --out", "import os\ncounter = [1]")
    with pytest.raises(KeyError, match="missing"):
        ip.run_cell_magic("isolated", "--python 2.7", "raise KeyError('missing')")
    ip.run_cell_magic("isolated", "--python 2.7", "import sys\nkept = 'os' in sys.modules")
    assert ns["kept"] is True


@needs_py27
def test_only_plain_data_crosses_to_and_from_python2(ip, ns):
    ns["array"] = np.arange(3)
    with pytest.raises(TransferError, match=r"array.*plain data only"):
        ip.run_cell_magic("isolated", "--python 2.7", "n = len(array)")
    # a value of another kind stays in the child, as an unpicklable value of any child does
    ip.run_cell_magic(
        "isolated", "--python 2.7", "import collections\nordered = collections.OrderedDict()"
    )
    assert isinstance(ns["ordered"], HeldInChild)
    assert ns["ordered"].type_name == "collections.OrderedDict"
    assert "plain data" in ns["ordered"].reason
    ip.run_cell_magic("isolated", "--python 2.7", "size = len(ordered)")
    assert ns["size"] == 0


@needs_py27
def test_a_plain_cell_iterates_over_a_generator_a_python2_child_holds(ip, ns):
    ip.run_cell_magic("isolated", "--python 2.7", "squares = (i * i for i in xrange(4))")
    assert isinstance(ns["squares"], HeldInChild)
    result = ip.run_cell("first = next(squares)\nrest = list(squares)")
    result.raise_error()
    assert (ns["first"], ns["rest"]) == (0, [1, 4, 9])


@needs_py27
def test_a_python2_cell_reads_stdin_as_a_local_python2_would(isocell_home):
    """raw_input, getpass and Python 2's evaluating input() ask the frontend, through a
    real notebook kernel."""
    kernel = NotebookKernel(isocell_home)
    asked: list[tuple[str, bool]] = []
    answers = ["Ada", "secret", "1 + 2"]

    def typed(message: dict) -> None:
        asked.append((message["content"]["prompt"], message["content"]["password"]))
        kernel.client.input(answers.pop(0))

    printed: list[str] = []
    cell = (
        "%%isolated --python 2.7\n"
        "name = raw_input('Name: ')\n"
        "import getpass\n"
        "size = len(getpass.getpass('Password: '))\n"
        "total = input('Sum: ')\n"
        "print 'hi', name, size, type(total).__name__\n"
    )
    try:
        reply = kernel.client.execute_interactive(
            cell,
            timeout=600,
            allow_stdin=True,
            stdin_hook=typed,
            output_hook=lambda m: printed.append(m["content"].get("text", "")),
        )
        assert reply["content"]["status"] == "ok"
        assert asked == [("Name: ", False), ("Password: ", True), ("Sum: ", False)]
        assert "".join(printed) == "hi Ada 6 int\n"
        assert kernel.value("(name, size, total)") == "('Ada', 6, 3)"
    finally:
        kernel.close()


def test_a_legacy_task_whose_interpreter_is_missing_says_so(tmp_path, monkeypatch):
    """The exported runtime, as an export writes it beside the DAG."""
    import shutil

    from isocell.dag._outputs import runtime_sources

    package = tmp_path / "isocell_runtime"
    package.mkdir()
    for source, name in runtime_sources():
        shutil.copy(source, package / name)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        from isocell_runtime.legacy import CellFailed, run_cell

        with pytest.raises(CellFailed, match=r"/nowhere/python2\.7 cannot run on this worker"):
            run_cell("/nowhere/python2.7", "x = 1", {}, ["x"])
    finally:  # the copy is this test's alone
        for name in [name for name in sys.modules if name.split(".")[0] == "isocell_runtime"]:
            del sys.modules[name]
