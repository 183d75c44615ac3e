"""Every benchmark in one run, written to ``bench/results.md``.

    python -m bench [--quick] [--out bench/results.md] [--skip transfer,rest,...]

Figures (each with median, min and max, and the ratio of each peer's median to isocell's, the
peers measured in the same run):

* environment builds, warm and cold package cache, two specs (``bench/builds.py``);
* cached reuse of an environment (``bench/builds.py``);
* the first cell of a session and a trivial cell's round trip (``bench/cells.py``);
* ``%load_ext isocell`` and the analysis of a 500-line cell (``bench/cells.py``);
* the REST API's listing latency under 20 clients while a build runs (``bench/rest.py``);
* moving a 512 MiB array and a 10-million-row frame in and out (``bench/transfer.py``);
* the subplots chapter of the real-notebook corpus, plainly and isolated, cell by cell
  (``bench/figures.py``; skipped where ``../shared/realnb`` is absent).

Airflow 3 is installed on first use into a cached virtual environment (see
``tests/airflow_harness.py``); its figures are skipped, with the reason, where it cannot be.
``--quick`` runs fewer repetitions and small transfer payloads (a check, not a result).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, Figure, machine, progress, table

_SECTIONS = ("overhead", "builds", "cells", "rest", "transfer", "figures")


def _versions() -> str:
    names = ["isocell", "uv", "virtualenv", "pip", "ipykernel", "jupyter_client", "ipyparallel"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    marker = None
    try:
        sys.path.insert(0, str(ROOT))
        from tests import airflow_harness

        bin_dir = airflow_harness.airflow_venv(3)
        if bin_dir is not None:
            marker = airflow_harness.installed_versions(3)
    except Exception as error:  # reported, not fatal
        marker = {"Airflow": f"unavailable ({error})"}
    if marker:
        found += [
            f"{name} {version}"
            for name, version in sorted(marker.items())
            if name.startswith("apache-airflow") or name == "Airflow"
        ]
    return ", ".join(found)


def _summary(figures: list[Figure]) -> list[str]:
    lines = []
    for figure in figures:
        if figure.met is None:
            continue
        verdict = "met" if figure.met else "MISSED"
        lines.append(
            f"- {figure.name}: isocell median {figure.isocell.median:.3g} {figure.unit}; "
            f"target {figure.target}: {verdict}"
        )
    return lines


def _figures_section(quick: bool) -> list[str]:
    from bench import figures

    progress("figures (bench/figures.py)")
    try:
        return [figures.run(repeat=1 if quick else 5)]
    except SystemExit as error:  # the corpus is not here
        return [f"## Figures\n\nSkipped: {error}\n"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions: a smoke check")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    parser.add_argument("--skip", default="", help=f"comma-separated of {', '.join(_SECTIONS)}")
    args = parser.parse_args()
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    quick = args.quick

    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="isocell-bench-"))
    os.environ["ISOCELL_HOME"] = str(work / "isocell-home")
    header = [
        "# isocell benchmarks",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M %Z')} with `python -m bench"
        + (" --quick" if quick else "")
        + "`.",
        "",
        f"Machine: {machine()}.",
        "",
    ]
    figures: list[Figure] = []
    extra: list[str] = []
    try:
        from bench import builds, cells

        if "overhead" not in skip:
            figures.append(cells.load_ext_figure(5 if quick else 20))
            figures.append(cells.analysis_figure(10 if quick else 50))
        if "builds" not in skip:
            figures += builds.build_figures(
                warm_runs=2 if quick else 5, cold_runs=1 if quick else 5, work=work
            )
        if "cells" not in skip:
            figures.append(cells.first_cell_figure(2 if quick else 5))
            from IPython.core.interactiveshell import InteractiveShell

            shell = InteractiveShell.instance()
            shell.run_line_magic("load_ext", "isocell")
            try:
                figures += cells.roundtrip_figures(shell, 20 if quick else 200, work)
            finally:
                shell.run_line_magic("unload_ext", "isocell")
        if "rest" not in skip:
            extra += _rest_section(work, quick)
        if "transfer" not in skip:
            from bench import transfer

            progress("transfer (bench/transfer.py)")
            extra += [
                "## Transfer",
                "",
                "From `bench/transfer.py` in the same run. "
                + transfer.run(repeat=1 if quick else 3, scale=0.02 if quick else 1.0),
                "",
            ]
        if "figures" not in skip:
            extra += _figures_section(quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    body = [
        f"Software: {_versions()}.",
        "",
        "Ratios are each peer's median divided by isocell's: above 1, isocell is that many times "
        "faster. Peers are measured in the same run, interleaved with isocell where they can be.",
        "",
        "## Figures",
        "",
        table(figures),
        "",
        "## Targets",
        "",
        *_summary(figures),
        "",
        *extra,
        f"Total run time: {(time.time() - started) / 60:.1f} min.",
    ]
    text = "\n".join(header + body) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


def _rest_section(work: Path, quick: bool) -> list[str]:
    from bench import rest

    progress("REST API under load (bench/rest.py)")
    rows = []
    for clients in (1, 20):
        with rest.serve(work / f"rest-home-{clients}") as server:
            result = rest.measure(server, clients)
        rows.append(result.row())
        for error in result.errors[:5]:
            rows.append(f"<!-- error: {error} -->")
    return [
        "## REST API under load",
        "",
        "From `bench/rest.py` in the same run: a real Jupyter server with isocell's extension; N "
        "clients send `GET /isocell/envs` back to back (closed loop) for the duration of one "
        "real build (`POST /isocell/envs`, `six==1.15.0`, its task polled until done). One "
        "client is the baseline.",
        "",
        rest.HEADER,
        *rows,
        "",
    ]


if __name__ == "__main__":
    main()
