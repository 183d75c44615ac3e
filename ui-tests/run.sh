#!/usr/bin/env bash
# The JupyterLab front end's whole check, for CI and by hand:
#   1. installs what it needs: isocell with JupyterLab in .venv, Debian's chromium,
#      the npm packages of the extension and of these tests (through jlpm);
#   2. builds the extension and installs it into .venv if the built one is stale;
#   3. runs jest, eslint + prettier, then the Galata browser tests (Playwright + chromium
#      against a real JupyterLab started by start-lab.sh with isocell's server extension).
# Exits non-zero if anything fails; the browser tests' wall time is printed at the end.
#
#   PYTHON          the interpreter of the environment to test (default: .venv/bin/python)
#   CHROMIUM_PATH   the browser (default: /usr/bin/chromium)
#   ISOCELL_UI_PORT the port JupyterLab listens on during the tests (default: 8888)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cd "$repo"

export PYTHON=${PYTHON:-$repo/.venv/bin/python}
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
bin=$(dirname "$PYTHON")
# jlpm's package scripts call jlpm and jupyter themselves.
export PATH="$bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "Python environment ($PYTHON)"
if [ ! -x "$PYTHON" ]; then
    python3 -m venv "$repo/.venv"
fi
if ! "$PYTHON" -c 'import isocell.server, jupyterlab' 2>/dev/null || [ ! -x "$bin/jlpm" ]; then
    # Builds the extension too, through the hatch-jupyter-builder hook.
    "$PYTHON" -m pip install --quiet -e "$repo[lab]"
fi

step "Browser ($CHROMIUM_PATH)"
if [ ! -x "$CHROMIUM_PATH" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "run.sh: $CHROMIUM_PATH is missing; install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM_PATH" --version

step "npm packages (jlpm)"
jlpm install >/dev/null
(cd "$here" && jlpm install >/dev/null)

step "Build the extension"
prefix=$("$PYTHON" -c 'import sys; print(sys.prefix)')
built=$repo/isocell/labextension/package.json
installed=$prefix/share/jupyter/labextensions/isocell/package.json
newest_source=$(find labextension package.json -path labextension/lib -prune -o -type f -newer "$built" -print 2>/dev/null | head -1 || true)
if [ ! -f "$built" ] || [ -n "$newest_source" ]; then
    jlpm build:prod
fi
if ! cmp -s "$built" "$installed"; then
    # An editable install copies the built extension into share/jupyter/labextensions.
    "$PYTHON" -m pip install --quiet --no-deps -e "$repo"
fi
listing=$("$bin/jupyter" labextension list 2>&1)
if ! grep -Eq 'isocell v[0-9.]+ .*enabled.*OK' <<<"$listing"; then
    echo "$listing" >&2
    echo "run.sh: isocell is not listed as enabled and OK by jupyter labextension list" >&2
    exit 1
fi
grep -E 'isocell v' <<<"$listing"

failed=()
step "jest"
jlpm test || failed+=(jest)

step "eslint + prettier"
jlpm lint:check || failed+=(lint)

step "Browser tests (Galata + Playwright, $("$here/node_modules/.bin/playwright" --version))"
started=$(date +%s.%N)
(cd "$here" && CI=1 jlpm playwright test) || failed+=(browser)
ended=$(date +%s.%N)
wall=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }')

echo
echo "browser tests wall time: ${wall} s (JupyterLab start-up included)"
echo "screenshots: $(cd "$repo" && ls docs/screenshots/*.png | tr '\n' ' ')"
if [ ${#failed[@]} -gt 0 ]; then
    echo "run.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "run.sh: jest, lint and browser tests passed"
