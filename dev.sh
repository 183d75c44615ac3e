#!/usr/bin/env bash
# The two set-up commands of the README:
#   bash dev.sh demo   install isocell, execute notebooks/quickstart.ipynb headless, print its isolated cells
#   bash dev.sh test   install isocell with its test tools, run the whole test suite
#                      (Python tests, then the JupyterLab front end's tests in a real browser)
# and, while developing:
#   bash dev.sh quick  lint, types, layer contracts and the tests that build no environment and start no child
#                      kernel (about 2 minutes); the whole suite stays the gate (.ci/run)
#   bash dev.sh structure  the structure check alone (run by quick and test, so by .ci/run)
set -euo pipefail
cd "$(dirname "$0")"

# The notebook side needs Python >= 3.10; take the first one found.
pick_python() {
    for candidate in "${PYTHON:-}" python3.12 python3.11 python3.10 python3 \
        "$HOME"/.pyenv/versions/3.1[0-3]*/bin/python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "dev.sh: no Python >= 3.10 found; set PYTHON=/path/to/python3" >&2
    return 1
}

venv() {
    if [ ! -x .venv/bin/python ]; then
        "$(pick_python)" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$1]"
}

checks() {
    .venv/bin/ruff check isocell tests bench
    .venv/bin/ruff format --check isocell tests bench
    .venv/bin/mypy isocell
    # The layers of STYLE.md: the contracts in pyproject.toml [tool.importlinter].
    .venv/bin/lint-imports --no-cache
    structure
}

# The structure check: no import cycle, no private module imported from another package, an
# accurate __all__ in every package, no module over 400 lines, no function over 60 lines
# without a comment saying why (tests/test_architecture.py; a few seconds).
structure() {
    .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_architecture.py
}

# The deployment test's servers (tests/deploy_harness.py): PostgreSQL, Redis and OpenSSH's
# SFTP server from Debian's packages, installed when missing and this is root (else the test
# skips, saying which are missing).
debian_servers() {
    local missing=()
    ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
    [ -x /usr/bin/redis-server ] || missing+=(redis-server)
    [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

# CPython 3.14 for the tests of a 3.14 child (issue #17), built by pyenv where it is missing:
# python.org is out of reach where only the package registries are, but Debian's source
# package of python3.14 holds the very release tarball (pyenv checks it against its own
# checksum). A failure only warns: those tests then skip, saying 3.14 is not installed. The
# build's log goes to pyenv's own cache folder, not to a fixed name in /tmp.
PYTHON314=3.14.4
python314() {
    command -v pyenv >/dev/null || return 0
    ls -d "$(pyenv root)"/versions/3.14.* >/dev/null 2>&1 && return 0
    local cache
    cache="$(pyenv root)/cache"
    mkdir -p "$cache"
    local tarball="$cache/Python-$PYTHON314.tar.xz"
    if curl -fsS -o "$tarball.part" \
        "http://deb.debian.org/debian/pool/main/p/python3.14/python3.14_$PYTHON314.orig.tar.xz" &&
        mv "$tarball.part" "$tarball" &&
        MAKE_OPTS=-j2 pyenv install -s "$PYTHON314" >"$cache/isocell-python314.log" 2>&1; then
        echo "dev.sh: built CPython $PYTHON314 with pyenv"
    else
        rm -f "$tarball.part"
        echo "dev.sh: could not build CPython $PYTHON314 (see $cache/isocell-python314.log)" >&2
    fi
}

# The quick tier: no real build, child kernel, Airflow run, fault injection or load.
QUICK="not slow and not airflow and not load and not faults and not network and not realnb and not deploy"

case "${1:-}" in
demo)
    venv demo
    exec .venv/bin/isocell run notebooks/quickstart.ipynb
    ;;
structure)
    [ -x .venv/bin/python ] || venv test
    structure
    ;;
quick)
    # Reinstalls only when pyproject.toml changed since the last install (pip takes ~20 s even
    # when nothing changed).
    if [ ! -f .venv/.installed-test ] || [ pyproject.toml -nt .venv/.installed-test ]; then
        venv test
        touch .venv/.installed-test
    fi
    checks
    # The markers of pyproject.toml say which tests build, start kernels or run Airflow.
    .venv/bin/python -m pytest -m "$QUICK" "${@:2}"
    ;;
test)
    venv test
    touch .venv/.installed-test
    debian_servers
    python314
    checks
    .venv/bin/python -m pytest "${@:2}"
    # The JupyterLab front end: jest, eslint + prettier, and the browser tests (Debian's
    # chromium, installed by the script when missing).
    bash ui-tests/run.sh
    ;;
*)
    echo "usage: bash dev.sh demo | bash dev.sh test [pytest options] | bash dev.sh quick [pytest options] | bash dev.sh structure" >&2
    exit 2
    ;;
esac
