"""``isocell export``: the DAG file's shape, determinism, lint, and bad notebooks.

The runs in a real Airflow are in ``test_airflow_export.py``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from isocell.dag import export_notebook
from isocell.errors import ExportError
from tests.conftest import needs_py39

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    from ruff.__main__ import find_ruff_bin

    return subprocess.run(
        [find_ruff_bin(), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def notebook(tmp_path: Path, *sources: str, name: str = "nb.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def tasks_of(text: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(text)
    dag = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    return {n.name: n for n in dag.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.slow
@needs_py39
def test_demo_export_is_deterministic_formatted_and_airflow_lint_clean(isocell_home, tmp_path):
    first = export_notebook(NOTEBOOKS / "etl_to_airflow.ipynb", tmp_path / "a")
    second = export_notebook(NOTEBOOKS / "etl_to_airflow.ipynb", tmp_path / "b")
    assert first.text == second.text
    assert first.dag_file.read_bytes() == second.dag_file.read_bytes()
    assert (
        ruff("format", "--isolated", "--check", str(first.dag_file), cwd=tmp_path).returncode == 0
    )
    lint = ruff(
        "check", "--isolated", "--select", "AIR", "--preview", str(first.dag_file), cwd=tmp_path
    )
    assert lint.returncode == 0, lint.stdout
    tree = ast.parse(first.text)
    assert "etl_to_airflow.ipynb" in ast.get_docstring(tree)
    # nothing at top level but imports, one constant and the DAG definition and call
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Import", "Assign", "FunctionDef"}
    assert first.tasks == ("orders", "legacy_report", "scoring", "summary")
    names = {path.name for path in first.files}
    assert {"etl_helpers.py", "legacy_report.txt", "Dockerfile.isocell", "exchange.py"} <= names
    lock = (first.dag_file.parent / "requirements" / "legacy_report.txt").read_text().split()
    assert "pandas==1.4.4" in lock and "numpy==1.23.2" in lock
    assert not any(line.startswith("ipykernel") for line in lock)  # only the cell's own packages


@pytest.mark.slow
@needs_py39
def test_mapping_to_airflow_decorators(isocell_home, tmp_path):
    result = export_notebook(NOTEBOOKS / "etl_to_airflow.ipynb", tmp_path)
    text = result.text
    assert "from airflow.sdk import dag, task" in text
    assert 'python_version="3.9"' in text and "system_site_packages=False" in text
    assert '"pandas==1.4.4"' in text
    assert "catchup=False" in text and 'tz="UTC"' in text
    functions = tasks_of(text)
    # dataflow: the two isolated tasks read only the extract task's output, so they are
    # independent of each other; the summary reads both
    assert [a.arg for a in functions["legacy_report"].args.args] == ["orders", "isocell_data_dir"]
    assert [a.arg for a in functions["scoring"].args.args] == ["orders", "isocell_data_dir"]
    assert sorted(a.arg for a in functions["summary"].args.args) == [
        "cleaned", "legacy_version", "report", "scores",
    ]  # fmt: skip
    # the function defined in an earlier cell travels inside the task that uses it
    assert any(
        isinstance(n, ast.FunctionDef) and n.name == "normalize"
        for n in ast.walk(functions["legacy_report"])
    )
    v2 = export_notebook(NOTEBOOKS / "etl_to_airflow.ipynb", tmp_path / "v2", airflow=2)
    assert "from airflow.decorators import dag, task" in v2.text


def test_external_python_for_an_interpreter_used_as_it_is(isocell_home, tmp_path):
    path = notebook(tmp_path, f"%%isolated --python {sys.executable}\nvalue = 1 + 1")
    text = export_notebook(path, tmp_path / "out").text
    assert "@task.external_python(" in text
    # ruff wraps the call when the interpreter's path is long (a clone in a deep folder).
    assert 'os.environ.get("ASTRO_PYENV_py' in "".join(text.split())


def test_setup_magics_are_dropped_and_shell_lines_refused(isocell_home, tmp_path):
    path = notebook(tmp_path, "%load_ext isocell\n%matplotlib inline\nx = 1")
    text = export_notebook(path, tmp_path / "ok").text
    assert "(dropped from the export: %matplotlib inline)" in text
    bad = notebook(tmp_path, "x = 1", "y = 2\n!pip install pandas\n", name="bad.ipynb")
    with pytest.raises(ExportError) as caught:
        export_notebook(bad, tmp_path / "bad")
    assert caught.value.cell == 1 and caught.value.line == 2
    assert "!pip install pandas" in str(caught.value)
    assert not (tmp_path / "bad").exists()  # nothing written


def test_context_key_names_are_not_used_as_parameters(isocell_home, tmp_path):
    path = notebook(tmp_path, "ds = [1, 2]\nparams = {'a': 1}", "total = sum(ds) + params['a']")
    text = export_notebook(path, tmp_path / "out").text
    functions = tasks_of(text)
    assert [a.arg for a in functions["total"].args.args] == ["ds_value", "params_value"]
    assert "ds = load(ds_value)" in text


def test_strings_that_span_lines_reach_the_task_as_they_are(isocell_home, tmp_path):
    cell = 'text = """first\n# not a comment\n    indented\nlast"""\nraw = r"""a\\b\n# kept"""'
    path = notebook(tmp_path, cell + "\nn = len(text)", "m = (n, raw)")
    body = export_notebook(path, tmp_path / "out").text
    # each line a piece of an implicit concatenation: the task's indentation cannot change
    # the value, and no line starts with "#", which Airflow drops from shipped task bodies
    assert "exec(" not in body
    assert not any(line.lstrip().startswith("# not a comment") for line in body.splitlines())
    namespace = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.walk(ast.parse(body))
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("text", "raw")
        if not isinstance(node.value, ast.Call)  # raw = load(raw), in the next task
    }
    expected: dict = {}
    exec(cell, expected)
    assert (namespace["text"], namespace["raw"]) == (expected["text"], expected["raw"])
    # an f-string that spans lines cannot be rewritten so: the code goes as a literal
    formatted = notebook(tmp_path, 'n = 1\ntext = f"""{n}\n# kept"""', "m = text", name="f.ipynb")
    body = export_notebook(formatted, tmp_path / "f").text
    assert "exec(" in body and "compile(" in body and "an f-string here spans lines" in body
    assert not any(line.strip() == "# kept" for line in body.splitlines())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"schedule": "every day"}, "--schedule"),
        ({"start_date": "01/02/2024"}, "--start-date"),
        ({"airflow": 1}, "--airflow"),
        ({"dag_id": "bad id!"}, "invalid DAG id"),
    ],
)
def test_bad_options_are_refused_before_writing(isocell_home, tmp_path, kwargs, message):
    path = notebook(tmp_path, "x = 1")
    with pytest.raises(ExportError, match=message):
        export_notebook(path, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_not_a_notebook_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.ipynb"
    path.write_text("{not json")
    with pytest.raises(ExportError, match="not a readable notebook"):
        export_notebook(path, tmp_path / "out")


def test_export_command(isocell_home, tmp_path):
    path = notebook(tmp_path, "x = 1", "y = x + 1")
    done = subprocess.run(
        [sys.executable, "-m", "isocell.cli", "export", str(path), "-o", str(tmp_path / "out"),
         "--dag-id", "tiny", "--schedule", "@daily", "--start-date", "2025-02-03"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out" / "tiny.py").read_text()
    assert 'schedule="@daily"' in text and "pendulum.datetime(2025, 2, 3" in text


def test_line_magic_exports_the_named_notebook(ip, tmp_path, capsys):
    path = notebook(tmp_path, "x = 1", "y = x * 2")
    ip.run_line_magic("isocell", f"export {path} -o {tmp_path / 'out'} --dag-id from_magic")
    assert "from_magic" in capsys.readouterr().out
    assert (tmp_path / "out" / "from_magic.py").is_file()


def test_line_magic_without_a_notebook_says_how(ip, monkeypatch):
    from isocell.errors import IsocellError

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(IsocellError, match="name it"):
        ip.run_line_magic("isocell", "export")


def test_user_text_cannot_escape_the_docstring(isocell_home, tmp_path):
    path = notebook(tmp_path, "x = 1", name='we"ird.ipynb')
    evil = '/x"""+__import__("os").system("touch PWNED")+"""'
    result = export_notebook(path, tmp_path / "out", data_dir=evil)
    tree = ast.parse(result.text)
    docstring = ast.get_docstring(tree)
    assert evil in docstring and 'we"ird.ipynb' in docstring
    calls = [n for n in ast.walk(tree.body[0]) if isinstance(n, ast.Call)]
    assert calls == []  # the docstring is one plain string, nothing runs at import


def test_names_from_builtins_the_context_imports_and_cells_above_are_defined(tmp_path):
    path = notebook(
        tmp_path,
        "import math\nfrom collections import Counter",
        "def scale(x):\n    return x * FACTOR",  # reads a global a later cell defines
        "FACTOR = 2\nrows = [1, 2]",
        "counts = Counter(rows)\nlabel = f'{ds} {run_id} {__name__}'\n"
        "total = scale(math.fsum(rows))",
    )
    result = export_notebook(path, tmp_path / "dags")
    assert result.tasks == ("FACTOR", "counts")


def test_a_function_that_reads_a_name_nothing_defines_is_refused_where_it_is_called(tmp_path):
    path = notebook(tmp_path, "def scale(x):\n    return x * FACTR", "y = scale(2)")
    with pytest.raises(ExportError) as caught:
        export_notebook(path, tmp_path / "dags")
    assert caught.value.cell == 1 and caught.value.line is None
    assert "cell 2: 'FACTR' is read here" in str(caught.value)


def _tagged(tmp_path, *cells):
    nb = new_notebook()
    nb.cells = [
        new_code_cell(source, metadata={"tags": ["parameters"]} if tagged else {})
        for source, tagged in cells
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_the_parameters_cell_is_no_task_and_its_names_come_from_the_run(tmp_path):
    path = _tagged(
        tmp_path,
        ("n = 3  # how many\nlabel: str = 'x'\nnone = None", True),
        ("total = n * 2\nday = ds", False),
    )
    result = export_notebook(path, tmp_path / "dags")
    assert result.tasks == ("total",)
    text = result.text
    assert '"n": Param(3, type="integer", description="how many")' in text
    assert '"label": Param("x", type="string")' in text
    assert '"none": Param(None)' in text
    assert "n=\"{{ params['n'] | tojson }}\"" in text and 'ds="{{ ds }}"' in text


@pytest.mark.parametrize(
    ("cells", "told"),
    [
        ([("n = 3", True), ("m = 4", True), ("x = n", False)], "a second cell tagged parameters"),
        (
            [("import datetime\nday = datetime.date.today()", True), ("x = 1", False)],
            "assignments of values to names only",
        ),
        ([("day = str(3)", True), ("x = day", False)], "must be a plain value"),
        ([("n = 3", True), ("x = ti.task_id", False)], "'ti' is in Airflow's context"),
    ],
)
def test_parameters_that_cannot_be_exported(tmp_path, cells, told):
    with pytest.raises(ExportError, match=told):
        export_notebook(_tagged(tmp_path, *cells), tmp_path / "dags")


# ---- task ids -----------------------------------------------------------------------------


def _ids(tmp_path: Path, folder: str, *sources: str, markdown_first: bool = False) -> tuple:
    from nbformat.v4 import new_markdown_cell

    cells = [new_code_cell(s) for s in sources]
    if markdown_first:
        cells.insert(0, new_markdown_cell("# Added above"))
    path = tmp_path / folder / "nb.ipynb"
    path.parent.mkdir()
    nbformat.write(new_notebook(cells=cells), path)
    return export_notebook(path, path.parent / "dags").tasks


def test_task_ids_do_not_move_when_cells_are_inserted_deleted_or_moved(tmp_path):
    cells = [
        "import math\nrows = [1, 2, 3]",
        "for row in rows:\n    pass\ntotal = math.fsum(rows)",  # first bound: row
        "mean = total / len(rows)\nlabel = 'x'",
        "print(mean)",  # binds nothing: cell_<hash of its code>
        "%%isolated --name report\nshown = f'{mean:.1f}'",
    ]
    before = _ids(tmp_path, "a", *cells)
    assert before[:3] == ("rows", "row", "mean") and before[4] == "report"
    assert before[3].startswith("cell_") and before[3] != "cell_3"
    # a markdown cell and a code cell above, one below, a cell deleted, two swapped
    after = _ids(tmp_path, "b", "setup = 0", *cells, "extra = mean * 2", markdown_first=True)
    assert after == ("setup", *before, "extra")
    moved = _ids(tmp_path, "c", cells[0], cells[2].replace("total", "sum(rows)"), cells[4])
    assert moved == ("rows", "mean", "report")


def test_an_auto_id_yields_to_a_name_and_to_an_earlier_task(tmp_path):
    ids = _ids(
        tmp_path,
        "a",
        "total = 1\nother = 2",
        "total = 3\nsecond = total",  # total is taken: the next name it binds
        "total = 4",  # nothing free: total_<hash of its code>
        "dag = 5\nvalue = dag",  # the DAG file's own names are never task names
        "report = 6\nkept = report",  # report is a later cell's --name
        "%%isolated --name report\nfinal = kept",
    )
    assert ids[:2] == ("total", "second") and ids[2].startswith("total_")
    assert ids[3:] == ("value", "kept", "report")


def test_two_cells_with_one_name_are_refused_naming_both(tmp_path):
    path = notebook(
        tmp_path, "%%isolated --name step\na = 1", "b = a", "%%isolated --name step\nc = b"
    )
    with pytest.raises(ExportError) as caught:
        export_notebook(path, tmp_path / "dags")
    assert caught.value.cell == 2
    assert "task id 'step' is the --name of cell 1 too" in str(caught.value)
    twins = notebook(tmp_path, "x = 1", "print(x)", "print(x)", name="twins.ipynb")
    with pytest.raises(ExportError) as caught:
        export_notebook(twins, tmp_path / "twins")
    assert caught.value.cell == 2 and "as cell 2's is (the same code)" in str(caught.value)


@pytest.mark.slow
@needs_py39
def test_the_etl_demos_task_ids_survive_cells_added_at_the_top(isocell_home, tmp_path):
    import shutil

    from nbformat.v4 import new_markdown_cell

    before = export_notebook(NOTEBOOKS / "etl_to_airflow.ipynb", tmp_path / "before").tasks
    edited = nbformat.read(NOTEBOOKS / "etl_to_airflow.ipynb", as_version=4)
    edited.cells[:0] = [new_markdown_cell("## Notes"), new_code_cell("started = 'today'")]
    folder = tmp_path / "edited"
    folder.mkdir()
    shutil.copy(NOTEBOOKS / "etl_helpers.py", folder / "etl_helpers.py")
    nbformat.write(edited, folder / "etl_to_airflow.ipynb")
    after = export_notebook(folder / "etl_to_airflow.ipynb", folder / "dags").tasks
    assert before == ("orders", "legacy_report", "scoring", "summary")
    assert after == ("started", *before)
