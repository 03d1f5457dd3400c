#!/usr/bin/env bash
# The whole test suite, as the README's quick start and CI (.ci/run) run it:
#   1. scripts/setup.sh  — Debian packages (nginx, wrk, ...) and the project venv build/venv
#   2. cargo build --workspace  — the rsgi binary and every plugin, against python3 on PATH
#   3. cargo test --workspace   — unit tests of every crate and the end-to-end tests
#      (tests/: the real binary with the real plugins over real sockets)
#   4. scripts/test-pythons.sh  — the python plugin on Python 3.13, 3.14, 3.15 and the
#      free-threaded 3.13t and 3.14t (built from Debian's source packages the first time,
#      about 12 minutes each on 2 cores; cached outside the clone in ~/.cache/rsgi/pythons
#      afterwards, see scripts/pythons-dir.sh; a version whose source the Debian archive
#      does not serve is reported as not built). RSGI_TEST_PYTHONS=0 skips this step.
#   5. scripts/test-packages.sh — the Debian packages built, installed with apt (as root),
#      served from /usr/bin/rsgi and purged; the pip wheel in a fresh venv.
#      RSGI_TEST_PACKAGES=0 skips this step.
set -euo pipefail
# Runs the same with no terminal and no standard input (CI: `bash .ci/run` with none;
# `nohup ... &`): nothing here reads it, and a closed fd 0 would otherwise be handed to
# the first file a child opens. The tests do not rely on inherited signal dispositions
# (SIGINT and SIGQUIT are ignored in the background, SIGHUP under nohup).
exec </dev/null
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
# The python plugin links against this interpreter (the one build/venv was made from).
export PYO3_PYTHON="${PYO3_PYTHON:-$(command -v python3)}"
echo "test: building the workspace (PYO3_PYTHON=$PYO3_PYTHON)"
cargo build --workspace --all-targets
echo "test: running the tests"
cargo test --workspace
if [ "${RSGI_TEST_PYTHONS:-1}" != 0 ]; then
    echo "test: the python plugin on Python 3.13, 3.13t, 3.14, 3.14t and 3.15"
    bash scripts/test-pythons.sh
else
    echo "test: RSGI_TEST_PYTHONS=0: skipping the other Pythons (scripts/test-pythons.sh)"
fi
if [ "${RSGI_TEST_PACKAGES:-1}" != 0 ]; then
    echo "test: the Debian packages and the pip wheel, installed (scripts/test-packages.sh)"
    bash scripts/test-packages.sh
else
    echo "test: RSGI_TEST_PACKAGES=0: skipping the installed packages (scripts/test-packages.sh)"
fi
