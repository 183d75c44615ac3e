"""Per-run requirements in the export: ``--req NAME=={var}`` as Airflow's templated
``requirements`` (a parameter, an earlier task's value), anything else an error naming the
cell and the expansion. No build: such a task has no lock."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from isocell.dag import export_notebook
from isocell.errors import ExportError


def _export(tmp_path, *sources: str, parameters: str = "version = '1.16.0'"):
    cells = [new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(source) for source in sources]
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return export_notebook(path, tmp_path / "out")


def test_a_parameter_and_an_earlier_value_become_templates(isocell_home, tmp_path):
    text = _export(
        tmp_path,
        "pin = '1.15.0'",
        "%%isolated --req six=={version} 'packaging>=20' --name a\nx = 1",
        "%%isolated --req six==$pin --name b\ny = 2",
        "%%isolated --req 'six=={ pin }' --name c\nz = 3",
    ).text
    assert 'requirements=["packaging>=20", "six=={{ params.version }}"]' in text
    pulled = """six=={{ ti.xcom_pull(task_ids="pin", key="pin__text") }}"""
    assert text.count(f"requirements=['{pulled}']") == 2
    # the producer returns the text beside its payload reference
    assert '"pin__text": str(pin)' in text
    assert 'b(pin=pin_result["pin"])' in text  # and b runs after it


@pytest.mark.parametrize(
    ("cells", "cell", "told"),
    [
        (("%%isolated --req 'six=={version + 1}'\nx = 1",), 2, "expands '{version + 1}'"),
        (("import os", "%%isolated --req six=={os}\nx = 1"), 3, "--req takes {os}"),
        (("%%isolated --req six=={later}\nx = 1", "later = 1"), 2, "'later' is read here"),
        (("%%isolated --python {version}\nx = 1",), 2, "only a --req may take"),
        (("%%isolated --env base --req six=={version}\nx = 1",), 2, "do not combine --env"),
    ],
)
def test_other_expansions_are_errors_naming_the_cell(isocell_home, tmp_path, cells, cell, told):
    with pytest.raises(ExportError, match=re.escape(told)) as caught:
        _export(tmp_path, *cells)
    assert caught.value.cell == cell - 1
