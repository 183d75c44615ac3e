#!/usr/bin/env bash
# Starts the JupyterLab the browser tests drive: isocell's server extension enabled, a fresh
# ISOCELL_HOME and a fresh root folder holding demo.ipynb, both temporary and removed when
# the server stops. Playwright's webServer runs it (playwright.config.js); it can also be
# run by hand to look at the same set-up on http://localhost:8888/lab.
#
#   PYTHON   the interpreter whose JupyterLab and isocell are used (default: ../.venv)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-$here/../.venv/bin/python}

ISOCELL_HOME=$(mktemp -d -t isocell-home-XXXXXX)
root=$(mktemp -d -t isocell-root-XXXXXX)
export ISOCELL_HOME
export JUPYTERLAB_GALATA_ROOT_DIR=$root
cp "$here/fixtures/demo.ipynb" "$root/demo.ipynb"

lab_pid=
cleanup() {
    if [ -n "$lab_pid" ]; then
        kill "$lab_pid" 2>/dev/null || true
        wait "$lab_pid" 2>/dev/null || true
    fi
    rm -rf "$ISOCELL_HOME" "$root"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

echo "start-lab.sh: ISOCELL_HOME=$ISOCELL_HOME root=$root" >&2
"$python" -m jupyter lab \
    --config "$here/jupyter_server_test_config.py" \
    --ServerApp.jpserver_extensions="{'isocell.server': True}" &
lab_pid=$!
wait "$lab_pid"
