"""Export a notebook to an Airflow DAG: collect the cells, model the tasks, render the file."""

from __future__ import annotations

from isocell.dag._collect import read_notebook
from isocell.dag._export import ExportResult, export_notebook

__all__ = ["ExportResult", "export_notebook", "read_notebook"]
