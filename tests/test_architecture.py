"""The arrows of STYLE.md: no import cycle among isocell's modules, no private module imported
from outside its package, an exporter that loads no front door and no kernel, a core that
loads no IPython. Imports inside functions count (grimp reads every import statement of a
module, wherever it stands)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

FRONT_DOORS_AND_KERNELS = (
    "isocell.magics",
    "isocell.cli",
    "isocell.commands",
    "isocell.runner",
    "isocell.kernel",
    "isocell.server",
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("isocell", cache_dir=None)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from cyclic import b\n")
    (package / "b.py").write_text("from cyclic import c\n")
    (package / "c.py").write_text("import cyclic.a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        cyclic = grimp.build_graph("cyclic", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert _cycles(cyclic) == [["cyclic.a", "cyclic.b", "cyclic.c"]]


def test_no_import_cycle_among_isocells_modules(graph: grimp.ImportGraph) -> None:
    assert _cycles(graph) == []


def _private_crossings(graph: grimp.ImportGraph) -> list[str]:
    """Imports of a private module (``_name``) from outside the package that holds it:
    ``a.b._c`` is ``a.b``'s, for ``a.b`` and the modules under it only."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            parts = imported.split(".")
            private = [i for i, part in enumerate(parts) if part.startswith("_")]
            private = [i for i in private if not parts[i].startswith("__")]
            if not private:
                continue
            owner = ".".join(parts[: private[0]])
            if importer != owner and not importer.startswith(owner + "."):
                found.append(f"{importer} -> {imported}")
    return found


def test_the_private_import_finder_finds_one(tmp_path: Path) -> None:
    package = tmp_path / "layered"
    for folder in (package, package / "a", package / "b"):
        folder.mkdir()
        (folder / "__init__.py").write_text("")
    (package / "a" / "_inner.py").write_text("from layered.a import _deeper\n")
    (package / "a" / "_deeper.py").write_text("")
    (package / "b" / "user.py").write_text("def f():\n    from layered.a import _inner\n")
    sys.path.insert(0, str(tmp_path))
    try:
        layered = grimp.build_graph("layered", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert _private_crossings(layered) == ["layered.b.user -> layered.a._inner"]


def test_no_private_module_is_imported_from_another_package(graph: grimp.ImportGraph) -> None:
    assert _private_crossings(graph) == []


@pytest.mark.parametrize("imported", FRONT_DOORS_AND_KERNELS)
def test_the_exporter_imports_no_front_door_and_no_kernel(
    graph: grimp.ImportGraph, imported: str
) -> None:
    chain = graph.find_shortest_chain(importer="isocell.dag", imported=imported, as_packages=True)
    assert chain is None, f"isocell.dag reaches {imported}: {' -> '.join(chain or ())}"


def test_the_magics_do_not_import_the_command_line(graph: grimp.ImportGraph) -> None:
    assert not graph.direct_import_exists(importer="isocell.magics", imported="isocell.cli")


def test_reading_a_notebook_for_export_loads_no_front_door_and_no_kernel(
    tmp_path: Path,
) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("rows = [1, 2]"),
        nbformat.v4.new_code_cell("%%isolated --python 3.9 --req six==1.16.0 --name total\nt = 1"),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, str(path))
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "import isocell.dag\n"
        "from isocell.dag._collect import read_cells\n"
        f"cells = read_cells(Path({str(path)!r}))\n"
        "assert cells[1].options.name == 'total', cells\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    assert [m for m in loaded if m.startswith(FRONT_DOORS_AND_KERNELS)] == []
    # IPython itself comes (its input transformer reads IPython syntax); a kernel does not.
    assert [m for m in loaded if m.startswith(("jupyter_client", "zmq", "ipykernel"))] == []


def test_the_options_core_loads_no_ipython() -> None:
    script = "import sys, isocell.options; print(sorted(m for m in sys.modules if 'IPython' in m))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def _packages() -> list[str]:
    import pkgutil

    import isocell

    found = ["isocell"]
    for module in pkgutil.walk_packages(isocell.__path__, "isocell."):
        # the exported runtime is copied into a DAG folder and imported there, as its own
        if module.ispkg and not module.name.startswith("isocell.dag.runtime"):
            found.append(module.name)
    return found


@pytest.mark.parametrize("name", _packages())
def test_every_package_says_what_it_exports(name: str) -> None:
    import importlib
    import types

    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    assert [n for n in exported if not hasattr(package, n)] == [], f"{name}.__all__ lies"
    helpers = {"annotations", "TYPE_CHECKING", "Any", "importlib"}
    public = [
        key
        for key, value in vars(package).items()
        if not key.startswith("_") and key not in helpers
        if not isinstance(value, types.ModuleType) or key in exported
    ]
    assert [key for key in public if key not in exported] == [], f"{name} exports more"


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
LONG_ON_PURPOSE = "# Long on purpose:"


def _modules() -> list[Path]:
    import isocell

    return sorted(Path(isocell.__file__).parent.rglob("*.py"))


def test_no_module_is_over_400_lines() -> None:
    long = {}
    for path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            long[str(path)] = lines
    assert long == {}


def _long_functions(source: str) -> list[str]:
    """Functions whose code (docstring left out) is over :data:`MAX_FUNCTION_LINES` lines
    and that do not say why with a ``# Long on purpose:`` comment."""
    import ast

    found = []
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        first = body[0]
        if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
            body = body[1:]
        if not body or node.end_lineno is None:
            continue
        count = node.end_lineno - body[0].lineno + 1
        whole = lines[node.lineno - 1 : node.end_lineno]
        if count > MAX_FUNCTION_LINES and not any(LONG_ON_PURPOSE in line for line in whole):
            found.append(f"{node.name} ({count} lines)")
    return found


def test_the_long_function_finder_finds_one() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES + 1))
    source = f'def long():\n    """Doc."""\n{body}\ndef short():\n    return 1\n'
    assert _long_functions(source) == [f"long ({MAX_FUNCTION_LINES + 1} lines)"]
    said = source.replace("def long():\n", f"def long():\n    {LONG_ON_PURPOSE} a table\n")
    assert _long_functions(said) == []


def test_no_function_is_over_60_lines_without_saying_why() -> None:
    long = {}
    for path in _modules():
        found = _long_functions(path.read_text(encoding="utf-8"))
        if found:
            long[str(path)] = found
    assert long == {}


def test_the_code_a_child_runs_compiles_on_the_oldest_supported_python() -> None:
    """The child runs the wire modules and its launcher from source, on any Python from 3.6
    (issue #17): no ``from __future__ import annotations``, no syntax newer than 3.6."""
    from tests.conftest import _pyenv_python

    oldest = _pyenv_python("3.6")
    if oldest is None:
        pytest.skip("CPython 3.6 is not installed (pyenv)")
    package = Path(__file__).resolve().parents[1] / "isocell"
    files = sorted((package / "transfer" / "_wire").glob("*.py"))
    files.append(package / "kernel" / "_child_launcher.py")
    # an exported 3.6 cell's child imports the runtime package (isocell.dag.runtime.legacy)
    files += [
        package / "dag" / "runtime" / "__init__.py",
        package / "dag" / "runtime" / "legacy.py",
    ]
    script = (
        "import sys\n"
        "for path in sys.argv[1:]:\n"
        "    compile(open(path, encoding='utf-8').read(), path, 'exec')\n"
    )
    done = subprocess.run(
        [oldest, "-c", script, *map(str, files)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_code_a_python2_child_runs_compiles_on_python2() -> None:
    """A Python 2.7 child runs its agent (``_wire.python2``), the modules it imports and the
    launcher from source, and isocell asks it for its packages (``envs._installed``'s
    script): all of it compiles on 2.7 (issue #17)."""
    from isocell.envs._installed import _SCRIPT
    from tests.conftest import _pyenv_python

    python2 = _pyenv_python("2.7")
    if python2 is None:
        pytest.skip("CPython 2.7 is not installed (pyenv)")
    package = Path(__file__).resolve().parents[1] / "isocell"
    wire = package / "transfer" / "_wire"
    files = [wire / name for name in ("python2.py", "rebinding.py", "iteration.py")]
    files.append(package / "kernel" / "_child_launcher.py")
    # run as scripts too (an exported task's child): Python 2 reads a file without a coding
    # declaration as ASCII
    assert all(path.read_bytes().isascii() for path in files)
    script = (
        "import io, sys\n"
        "for path in sys.argv[2:]:\n"
        "    compile(io.open(path, encoding='utf-8').read(), path, 'exec')\n"
        "compile(sys.argv[1], 'installed', 'exec')\n"
    )
    done = subprocess.run(
        [python2, "-c", script, _SCRIPT, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
