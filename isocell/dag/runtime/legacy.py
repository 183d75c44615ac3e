"""A cell on a Python Airflow's virtualenv tasks cannot run (3.6, 2.7), run from a task.

Airflow's ``@task.virtualenv`` and ``@task.external_python`` run their script on Python 3.7
and newer (it starts with ``from __future__ import annotations``). An exported cell on an
older Python is a plain ``@task`` in Airflow's own interpreter instead, which calls
:func:`run_cell`: the cell's inputs go to a payload file in a private temporary folder, the
cell's interpreter (its environment, the one the notebook ran it in) runs the cell as a
child process, whose output and errors reach the task's log, and what it binds comes back
through a second payload. On Python 3.6 the child is this module (:func:`main`, with the
version-neutral codec: arrays and frames cross); on Python 2.7 it is ``python2.py`` run as a
script (plain data only, pickle protocol 2, strings mapped as in the notebook).

Runs in Airflow's interpreter and in a Python 3.6 child: no annotations, standard library.
"""

import os
import subprocess
import sys
import tempfile

from . import exchange

__all__ = ["CellFailed", "main", "run_cell"]


class CellFailed(RuntimeError):
    """The cell raised in its interpreter (its traceback is in the task's log), or a value
    it binds cannot leave that interpreter."""


def _major(python):  # type: ignore[no-untyped-def]
    try:
        done = subprocess.run(
            [python, "-E", "-s", "-c", "import sys; sys.stdout.write(str(sys.version_info[0]))"],
            stdout=subprocess.PIPE,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise CellFailed(
            f"the cell's interpreter {python} cannot run on this worker ({error}): build its "
            "environment here, or give its path in the variable the DAG reads (ASTRO_PYENV_...)"
        ) from None
    return int(done.stdout)


def run_cell(python, code, inputs, outputs, where="<cell>"):  # type: ignore[no-untyped-def]
    """Run ``code`` (the cell's text) with ``python`` and return the values it bound.

    Parameters
    ----------
    python : str
        The interpreter of the cell's environment (Python 3.6 or 2.7).
    code : str
        The cell as written (Python 2 syntax on 2.7).
    inputs : dict
        The values the cell reads, by name.
    outputs : list of str
        The names whose values to return.
    where : str
        The file name tracebacks show (``"<cell 3>"``).

    Returns
    -------
    dict
        ``{name: value}`` for each of ``outputs`` the cell bound.

    Raises
    ------
    CellFailed
        If the interpreter cannot run here, the cell raised (its traceback went to the task's
        log) or an output cannot leave its interpreter.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    python2 = _major(python) == 2
    variables = dict(os.environ)
    # the DAG folder: the cell's local modules, and this package for a 3.6 child
    variables["PYTHONPATH"] = os.path.dirname(here)
    with tempfile.TemporaryDirectory(prefix="isocell-cell-") as folder:  # mode 0700
        sent, returned = os.path.join(folder, "in"), os.path.join(folder, "out")
        script = os.path.join(folder, "cell.py")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(code)
        exchange.pack(sent, dict(inputs), None, {}, None, 2 if python2 else exchange.codec.PROTOCOL)
        runner = [os.path.join(here, "python2.py")] if python2 else ["-m", __name__]
        command = [python, *runner, sent, script, returned, where, *outputs]
        done = subprocess.run(command, env=variables)
        if done.returncode != 0:
            raise CellFailed(
                f"{where} failed in {python} (exit status {done.returncode}); its error is "
                "in the log above"
            )
        return exchange.Unpacked(returned).apply({}, bind=False)


def main(arguments=None):  # type: ignore[no-untyped-def]
    """The child's side on Python 3.6 (``python -m isocell_runtime.legacy``): load the inputs,
    run the cell, write the outputs; exit status 1 if the cell raised (the traceback on
    stderr), 2 if an output cannot be written."""
    import traceback

    sent, script, returned, where, *outputs = arguments or sys.argv[1:]
    namespace = {"__name__": "__main__"}
    exchange.Unpacked(sent).apply(namespace)
    with open(script, encoding="utf-8") as handle:
        code = compile(handle.read(), where, "exec")
    try:
        exec(code, namespace)
    except BaseException:
        traceback.print_exc()
        return 1
    values = {name: namespace[name] for name in outputs if name in namespace}
    try:
        exchange.pack(returned, values, None, namespace)
    except exchange.CrossError as error:
        sys.stderr.write(f"isocell: {error} cannot leave Python {sys.version.split()[0]}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
