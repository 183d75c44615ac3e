"""The commands of ``isocell`` and ``%isocell``: their grammar and what each does.

The front doors are thin over this module: :mod:`isocell.cli` prints what :func:`run` raises,
:mod:`isocell.magics` shows it in the notebook. The words::

    isocell env create NAME [--python 3.9] [--req SPEC ...] [-r FILE] [options]
    isocell env add NAME --python /path/to/python     register an interpreter, used as it is
    isocell env list | show NAME | remove NAME
    isocell pythons                                  the interpreters discovery finds
    isocell export NOTEBOOK [-o DIR_OR_FILE] [options]
    isocell run NOTEBOOK [-o OUT]                    execute a notebook, print isolated outputs
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from isocell import envs
from isocell._about import __version__
from isocell.envs import BuildProgress, EnvStore, Registry, find_interpreters
from isocell.errors import IsocellError, OptionError
from isocell.kernel import running_kernels
from isocell.options import (
    BUILD_OPTIONS,
    add_arguments,
    argparse_type,
    environment_name,
    environment_request,
    read_namespace,
    seconds,
)

__all__ = ["CommandLineError", "run"]


class CommandLineError(Exception):
    """The command line does not parse (argparse's own message, and the usage to show).

    Raised instead of argparse's ``SystemExit(2)`` so that ``%isocell`` can show the message
    as a ``UsageError``; :func:`main` prints it as argparse would.
    """

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message, usage)
        self.message = message
        self.usage = usage

    def __str__(self) -> str:
        return self.message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandLineError(f"{self.prog}: error: {message}", self.format_usage())


def _parser() -> argparse.ArgumentParser:
    # Long on purpose: the command line's whole grammar, one declaration after another, read
    # top to bottom as ``isocell --help`` shows it; split, it would only be harder to follow.
    parser = _Parser(
        prog="isocell",
        description="Environments for isolated notebook cells, the interpreters found, a "
        "notebook exported to an Airflow DAG, and notebooks run headless.",
    )
    parser.add_argument("--version", action="version", version=f"isocell {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    env = commands.add_parser("env", help="named environments").add_subparsers(
        dest="env_command", required=True, parser_class=_Parser
    )
    create = env.add_parser("create", help="build an environment and name it")
    create.add_argument("name")
    add_arguments(create, BUILD_OPTIONS)
    add = env.add_parser("add", help="register an existing interpreter, used as it is")
    add.add_argument("name")
    add.add_argument("--python", required=True, metavar="PATH|VERSION")
    listing = env.add_parser("list", help="named environments (--all: every cached one)")
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--json", action="store_true")
    show = env.add_parser("show", help="one environment, with its lock")
    show.add_argument("name")
    remove = env.add_parser("remove", help="unregister a name and delete its environment")
    remove.add_argument("name")
    prune = env.add_parser(
        "prune", help="delete the cells' cached environments no kernel runs in (not named ones)"
    )
    prune.add_argument(
        "--unused-days",
        type=argparse_type(_days),
        metavar="DAYS",
        help="only those not used for DAYS days",
    )
    prune.add_argument("--dry-run", action="store_true", help="say what would go; delete nothing")
    pythons = commands.add_parser("pythons", help="interpreters found on this machine")
    pythons.add_argument("--json", action="store_true")
    export = commands.add_parser("export", help="export a notebook to an Airflow DAG file")
    export.add_argument("notebook")
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE_OR_DIR",
        help="a folder or a .py path (default: dags/ beside the notebook)",
    )
    export.add_argument("--dag-id", metavar="ID")
    export.add_argument("--schedule", metavar="CRON|@daily|none", default="none")
    export.add_argument("--start-date", metavar="YYYY-MM-DD")
    export.add_argument("--airflow", type=int, choices=[2, 3], default=3)
    export.add_argument(
        "--target",
        choices=["virtualenv", "prebuilt", "kubernetes"],
        default="virtualenv",
        help="virtualenv: each isolated cell a @task.virtualenv built on the workers (default); "
        "prebuilt: its environment built into the Airflow image (a Dockerfile), the task a "
        "@task.external_python on it; kubernetes: a @task.kubernetes pod on an image per "
        "environment (needs --data-dir URL)",
    )
    export.add_argument(
        "--base-image", metavar="IMAGE", help="the Airflow image the prebuilt target builds on"
    )
    export.add_argument(
        "--namespace", metavar="NAME", help="kubernetes: the pods' namespace (default: default)"
    )
    export.add_argument(
        "--registry", metavar="PREFIX", help="kubernetes: the images' registry prefix"
    )
    export.add_argument(
        "--resources",
        metavar="cpu=500m,memory=1Gi",
        help="kubernetes: each pod's resource requests and limits",
    )
    export.add_argument(
        "--data-dir",
        metavar="URI",
        help="where tasks keep the values they pass on: a folder or fsspec URL",
    )
    run = commands.add_parser("run", help="execute a notebook headless and print isolated cells")
    run.add_argument("notebook")
    run.add_argument("-o", "--output", metavar="FILE", help="write the executed notebook here")
    run.add_argument(
        "--timeout",
        type=argparse_type(seconds),
        default=1800,
        metavar="SECONDS",
        help="per-cell time limit (default 1800)",
    )
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter of the notebook's cell tagged parameters (repeatable; the value "
        "read as papermill reads it: True, False, None, a number, else text)",
    )
    run.add_argument(
        "--logical-date",
        metavar="DATE",
        help="bind the context of a manual Airflow run at this date (YYYY-MM-DD or ISO 8601) "
        "in the notebook, as %%isocell context does",
    )
    run.add_argument(
        "--conf",
        metavar="JSON",
        help="the run's conf (a JSON object): it becomes params, and sets the parameters it "
        "names; implies the context (now, without --logical-date)",
    )
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run the ``isocell`` command with errors raised rather than printed.

    Returns
    -------
    int
        The exit code of a command that ran (``isocell run``: 1 when a cell failed).

    Raises
    ------
    CommandLineError
        If the command line does not parse.
    IsocellError
        If the command failed.
    """
    args = _parser().parse_args(argv)
    if args.command == "env":
        return _env(args)
    if args.command == "pythons":
        return _pythons(args)
    if args.command == "export":
        from isocell.dag import export_notebook

        result = export_notebook(
            args.notebook,
            args.output,
            dag_id=args.dag_id,
            schedule=args.schedule,
            start_date=args.start_date,
            airflow=args.airflow,
            data_dir=args.data_dir,
            target=args.target,
            base_image=args.base_image,
            namespace=args.namespace,
            registry=args.registry,
            resources=args.resources,
        )
        print(f"wrote {result.dag_file} (DAG {result.dag_id}: {', '.join(result.tasks)})")
        for path in result.files[1:]:
            print(f"  and {path}")
        for notice in result.notices:
            print(f"isocell: warning: {notice}", file=sys.stderr)
        return 0
    if args.command == "run":
        from isocell._run import run_notebook
        from isocell.params import parameter_value

        values = {name: parameter_value(text) for name, text in args.parameter}
        context = None
        if args.logical_date is not None or args.conf is not None:
            from isocell.context import parse_conf, parse_logical_date

            moment = parse_logical_date(args.logical_date)  # checked before anything runs
            context = (moment.isoformat(), parse_conf(args.conf))
        return run_notebook(Path(args.notebook), args.output, args.timeout, values, context)
    return 2


def _progress(event: BuildProgress) -> None:
    print(f"[{event.elapsed:6.1f} s] {event.phase}: {event.message}", file=sys.stderr, flush=True)


def _env(args: argparse.Namespace) -> int:
    store = EnvStore()
    registry = Registry(store.home)
    if args.env_command in ("create", "add", "show", "remove"):
        try:
            environment_name(args.name)
        except OptionError as error:
            raise IsocellError(error.reason) from None
    if args.env_command in ("create", "add"):
        registry.refuse_taken(args.name)
    if args.env_command == "create":
        request = environment_request(read_namespace(args, BUILD_OPTIONS))
        created = envs.create(args.name, request, _progress, store=store)
        print(
            f"created {args.name}: Python {created['python_version']}, "
            f"{len(created['lock'])} packages, at {created['path']}"
        )
        return 0
    if args.env_command == "add":
        added = envs.register_external(args.name, args.python, store=store)
        print(f"registered {args.name}: Python {added['python_version']} at {added['python']}")
        return 0
    if args.env_command == "list":
        rows = _rows(store, registry, args.all)
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no environments" + ("" if args.all else " registered (try --all)"))
        else:
            _table(
                rows, ["name", "kind", "python", "requirements", "packages", "size", "last_used"]
            )
        return 0
    if args.env_command == "show":
        shown = envs.describe(store, registry.get(args.name), running_kernels())
        print(json.dumps(_shape(shown), indent=2))
        return 0
    if args.env_command == "remove":
        envs.remove(args.name, store=store)
        print(f"removed {args.name}")
        return 0
    if args.env_command == "prune":
        removed = envs.prune(
            store,
            registry,
            running_kernels(),
            unused_days=args.unused_days,
            dry_run=args.dry_run,
        )
        verb = "would remove" if args.dry_run else "removed"
        for row in removed:
            packages = " ".join(row["requirements"]) or "no extra packages"
            print(f"{verb} {row['key']}: Python {row['python_version']} with {packages}")
        freed = sum(row["size_bytes"] or 0 for row in removed)
        print(f"{verb} {len(removed)} cached environments, {_human(freed)}")
        return 0
    return 2


def _days(text: str) -> float:
    """A number of days, 0 or more (``--unused-days``)."""
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not math.isfinite(days) or days < 0:
        raise OptionError("", f"{text!r} is not a number of days (0 or more, for example 30)")
    return days


def _pythons(args: argparse.Namespace) -> int:
    found = find_interpreters()
    if args.json:
        print(
            json.dumps(
                [{"version": i.version_str, "path": i.path, "source": i.source} for i in found],
                indent=2,
            )
        )
        return 0
    for interpreter in found:
        print(f"{interpreter.version_str:10} {interpreter.path}  ({interpreter.source})")
    return 0


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    """The command's own JSON shape of a catalog row, kept as scripts have read it so far:
    ``python`` is the version of a built environment and the path of an external one."""
    if row["kind"] == "external":
        return {"name": row["name"], "kind": row["kind"], "python": row["python"]}
    shaped = {
        "name": row["name"],
        "kind": row["kind"],
        "python": row["python_version"],
        "interpreter": row["base_python"],
        "requirements": row["requirements"],
        "path": row["path"],
        "built": row["built"],
    }
    if row["built"]:
        for key in ("lock", "exclude_newer", "built_at", "builder", "size_bytes", "last_used"):
            shaped[key] = row[key]
    return shaped


def _rows(store: EnvStore, registry: Registry, everything: bool) -> list[dict[str, Any]]:
    rows = [
        _shape(row)
        for row in envs.catalog(
            store, registry, running=running_kernels(), everything=everything, detail=True
        )
    ]
    for row in rows:
        row["packages"] = len(row.get("lock", []))
        row["size"] = _human(row.get("size_bytes"))
        row["requirements"] = " ".join(row.get("requirements", []))
    return rows


def _table(rows: list[dict[str, object]], columns: list[str]) -> None:
    cells = [[str(row.get(c, "") or "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _human(size: object) -> str:
    if not isinstance(size, int):
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""
