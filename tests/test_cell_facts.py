"""Where an isolated cell ran (issue #15): told to the frontend as a comm (nothing added to
the cell's outputs), saved by ``isocell run`` in the cell's metadata, and compared by
``isocell export`` with the environment's lock now."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from isocell._cell_facts import COMM_TARGET, LASTING
from tests.conftest import needs_py39
from tests.test_faults import NotebookKernel

pytestmark = pytest.mark.slow
PANDAS = "%%isolated --python 3.9 --req pandas==1.4.4"


def test_the_frontend_is_told_where_each_cell_ran(isocell_home: Path) -> None:
    kernel = NotebookKernel(isocell_home)
    try:
        told: list[dict[str, Any]] = []
        outputs: list[str] = []

        def hook(message: dict[str, Any]) -> None:
            if message["msg_type"] == "comm_open":
                told.append(message["content"])
            elif message["msg_type"] in ("stream", "display_data", "execute_result", "error"):
                outputs.append(message["msg_type"])

        code = f"%%isolated --python {sys.executable}\nanswer = 42"
        assert kernel.execute(code, hook=hook)["status"] == "ok"
        assert outputs == []  # nothing a local cell would not show
        (content,) = [c for c in told if c["target_name"] == COMM_TARGET]
        facts = content["data"]
        assert facts["interpreter"] == sys.executable
        assert facts["python"] == "{}.{}.{}".format(*sys.version_info[:3])
        assert facts["ok"] is True and facts["built"] is False
        assert isinstance(facts["kernel"], int) and facts["lock"] is None
        assert set(LASTING) <= set(facts)
        told.clear()
        failed = kernel.execute(f"%%isolated --python {sys.executable}\n1 / 0", hook=hook)
        assert failed["status"] == "error" and failed["ename"] == "ZeroDivisionError"
        assert [c["data"]["ok"] for c in told if c["target_name"] == COMM_TARGET] == [False]
    finally:
        kernel.close()


@needs_py39
def test_isocell_run_saves_it_and_export_warns_when_the_lock_changed(
    isocell_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from isocell.cli import main

    path = tmp_path / "nb.ipynb"
    cells = [new_code_cell("%load_ext isocell"), new_code_cell(f"{PANDAS}\nrows = 3")]
    nbformat.write(new_notebook(cells=cells), path)
    executed = tmp_path / "executed.ipynb"
    assert main(["run", str(path), "-o", str(executed)]) == 0
    recorded = nbformat.read(executed, as_version=4).cells[1].metadata["isocell"]
    assert set(recorded) == set(LASTING)
    assert recorded["python"].startswith("3.9.") and recorded["lock"].startswith("sha256:")
    # the executed notebook exports quietly; one whose recorded lock differs warns
    capsys.readouterr()
    assert main(["export", str(executed), "-o", str(tmp_path / "same")]) == 0
    assert "warning" not in capsys.readouterr().err
    changed = nbformat.read(executed, as_version=4)
    changed.cells[1].metadata["isocell"]["lock"] = "sha256:" + "0" * 64
    nbformat.write(changed, path)
    assert main(["export", str(path), "-o", str(tmp_path / "other")]) == 0
    err = capsys.readouterr().err
    assert "isocell: warning: cell 2 (rows) last ran in" in err, err
