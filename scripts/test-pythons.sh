#!/usr/bin/env bash
# The python plugin on every Python the project supports beside the default python3
# (3.11): 3.13, free-threaded 3.13t, 3.14, free-threaded 3.14t and 3.15. The last step of
# scripts/test.sh, which installed the Debian packages and built the workspace before it.
#   1. scripts/build-python.sh for each version: CPython from Debian's source package (the
#      suite chosen per version), into the machine's CPython cache outside the clone
#      (scripts/pythons-dir.sh; a second run, from any clone, reuses them). A version whose
#      source package the Debian archive does not serve (build-python.sh exits 3) is
#      reported as not built and left out of the next steps; any other failure fails;
#   2. cargo build --workspace: the rsgi binary and the http plugin the tests use;
#   3. scripts/build-python-plugins.sh with python3's version and each version built:
#      librsgi_python3.11.so, librsgi_python3.13.so, ... next to target/debug/rsgi (3.13t
#      through plugins/python-pyo3-0.28);
#   4. the python plugin's own unit tests against each CPython built; for a version not
#      built, the plugin and its tests type-checked against pyo3 configured for it;
#   5. cargo test -p rsgi-e2e --features pythons pythons:: (tests/pythons.rs), told which
#      versions were built (RSGI_PYTHONS_BUILT); each test writes its result under
#      target/pythons-results, and scripts/python-table.sh turns them into the table
#      (target/pythons-table.md; `--readme` puts it in README.md).
# Prints how long each part took and which versions were not built.
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
RSGI_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
start=$(date +%s)
TIMES=()

# The CPythons built from source, in the order the table lists them.
PYTHON_TAGS=(3.13 3.13t 3.14 3.14t 3.15)

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
OWN="$(python3 -c 'import sys, sysconfig; print("%d.%d%s" % (sys.version_info[:2] + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "",)))')"

BUILT=()
NOT_BUILT=()
build_cpython() {
    local tag="$1" version="${1%t}" flags=() status=0
    [ "$version" != "$tag" ] && flags=(--disable-gil)
    nice -n 10 scripts/build-python.sh "$version" "${flags[@]}" || status=$?
    case "$status" in
        0) BUILT+=("$tag") ;;
        3) NOT_BUILT+=("$tag") ;;
        *) echo "pythons: building CPython $tag failed"; return 1 ;;
    esac
}
for tag in "${PYTHON_TAGS[@]}"; do
    step "build CPython $tag" build_cpython "$tag"
done
step "cargo build --workspace" nice -n 10 cargo build --workspace -q
TESTED=("$OWN")
for tag in "${BUILT[@]}"; do
    [ "$tag" = "$OWN" ] || TESTED+=("$tag")
done
step "build the python plugin per interpreter" scripts/build-python-plugins.sh "${TESTED[@]}"

unit_tests() {
    local tag="$1" crate=(-p rsgi-plugin-python)
    [ "$tag" = 3.13t ] && crate=(--manifest-path plugins/python-pyo3-0.28/Cargo.toml --locked)
    PYO3_PYTHON="$PYTHONS/$tag/bin/python$tag" RSGI_PYTHON_PLUGIN_NAME="python$tag" \
        CARGO_TARGET_DIR="$ROOT/build/plugin-$tag" \
        nice -n 10 cargo test -q "${crate[@]}"
}
for tag in "${BUILT[@]}"; do
    step "plugin unit tests on $tag" unit_tests "$tag"
done

# A version not built here is at least compiled for: the plugin and its unit tests are
# type-checked against the workspace's pyo3 configured for that CPython (a PYO3_CONFIG_FILE
# in place of an interpreter; nothing is linked or run).
check_unbuilt() {
    local tag="$1" version="${1%t}" build_flags="" dir="$ROOT/build/plugin-check"
    [ "$version" != "$tag" ] && build_flags=Py_GIL_DISABLED
    mkdir -p "$dir"
    printf '%s\n' implementation=CPython "version=$version" shared=true "lib_name=python$tag" \
        "lib_dir=/nonexistent/lib" "executable=/nonexistent/bin/python$tag" pointer_width=64 \
        "build_flags=$build_flags" > "$dir/pyo3-$tag.cfg"
    PYO3_CONFIG_FILE="$dir/pyo3-$tag.cfg" RSGI_PYTHON_PLUGIN_NAME="python$tag" \
        CARGO_TARGET_DIR="$dir" nice -n 10 cargo check -q -p rsgi-plugin-python --all-targets
}
for tag in "${NOT_BUILT[@]}"; do
    step "type-check the plugin for $tag (not built)" check_unbuilt "$tag"
done

RESULTS="$RSGI_TARGET/pythons-results"
rm -rf "$RESULTS"
for tag in "${NOT_BUILT[@]}"; do
    mkdir -p "$RESULTS/$tag"
    echo "not built here: the Debian archive does not serve the python${tag%t} source package (docs/python-versions.md); the plugin type-checks for it" \
        > "$RESULTS/$tag/not-built"
done
# Each version's tests run only where its plugin was built; the others say so and pass.
step "e2e tests/pythons.rs" env RSGI_PYTHONS_BUILT="${TESTED[*]}" \
    RSGI_PYTHONS_RESULTS="$RESULTS" \
    nice -n 10 cargo test -p rsgi-e2e --features pythons pythons:: -- --test-threads 2
scripts/python-table.sh "$RESULTS" "$OWN" "${PYTHON_TAGS[@]}" > "$RSGI_TARGET/pythons-table.md"
echo "pythons: results table ($RSGI_TARGET/pythons-table.md; scripts/python-table.sh --readme puts it in README.md):"
cat "$RSGI_TARGET/pythons-table.md"

echo "pythons: timings"
for line in "${TIMES[@]}"; do
    echo "  $line"
done
if [ "${#NOT_BUILT[@]}" -gt 0 ]; then
    echo "pythons: NOT BUILT, so not tested: ${NOT_BUILT[*]} (the Debian archive does not serve the source package; see scripts/build-python.sh)"
fi
echo "pythons: done in $(( $(date +%s) - start ))s"
