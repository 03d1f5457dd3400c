#!/usr/bin/env bash
# The python plugin on Python 3.13 and free-threaded 3.13t beside the default python3
# (3.11): the last step of scripts/test.sh, which installed the Debian packages and built
# the workspace before it.
#   1. scripts/build-python.sh 3.13 and 3.13 --disable-gil: CPython from Debian's source
#      package, into the machine's CPython cache outside the clone (scripts/pythons-dir.sh;
#      a second run, from any clone, reuses them);
#   2. cargo build --workspace: the rsgi binary and the http plugin the tests use;
#   3. scripts/build-python-plugins.sh: librsgi_python3.11.so, librsgi_python3.13.so and
#      librsgi_python3.13t.so (pyo3 0.28 build, plugins/python-pyo3-0.28) next to
#      target/debug/rsgi;
#   4. the python plugin's own unit tests against 3.13 and 3.13t;
#   5. cargo test -p rsgi-e2e --features pythons pythons:: (tests/pythons.rs).
# Prints how long each part took.
set -euo pipefail
# Runs the same with no terminal and no standard input (CI: `bash .ci/run` with none;
# `nohup ... &`): nothing here reads it, and a closed fd 0 would otherwise be handed to
# the first file a child opens. The tests do not rely on inherited signal dispositions
# (SIGINT and SIGQUIT are ignored in the background, SIGHUP under nohup).
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
# shellcheck source=scripts/pythons-dir.sh
source "$ROOT/scripts/pythons-dir.sh"
PYTHONS="$(rsgi_pythons_dir)"
start=$(date +%s)
TIMES=()

step() {
    local name="$1" t0
    shift
    echo "pythons: $name"
    t0=$(date +%s)
    "$@"
    TIMES+=("$(printf '%-44s %5ss' "$name" "$(( $(date +%s) - t0 ))")")
}

# The project's own build uses python3 on PATH, as scripts/test.sh does.
export PYO3_PYTHON="${PYO3_PYTHON:-$(command -v python3)}"

step "build CPython 3.13" nice -n 10 scripts/build-python.sh 3.13
step "build CPython 3.13t" nice -n 10 scripts/build-python.sh 3.13 --disable-gil
step "cargo build --workspace" nice -n 10 cargo build --workspace -q
step "build the python plugin per interpreter" scripts/build-python-plugins.sh

unit_tests() {
    local tag="$1" crate=(-p rsgi-plugin-python)
    [ "$tag" = 3.13t ] && crate=(--manifest-path plugins/python-pyo3-0.28/Cargo.toml --locked)
    PYO3_PYTHON="$PYTHONS/$tag/bin/python$tag" RSGI_PYTHON_PLUGIN_NAME="python$tag" \
        CARGO_TARGET_DIR="$ROOT/build/plugin-$tag" \
        nice -n 10 cargo test -q "${crate[@]}"
}
step "plugin unit tests on 3.13" unit_tests 3.13
step "plugin unit tests on 3.13t" unit_tests 3.13t
step "e2e tests/pythons.rs" nice -n 10 cargo test -p rsgi-e2e --features pythons pythons:: \
    -- --test-threads 2

echo "pythons: timings"
for line in "${TIMES[@]}"; do
    echo "  $line"
done
echo "pythons: done in $(( $(date +%s) - start ))s"
