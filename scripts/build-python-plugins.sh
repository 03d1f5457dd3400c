#!/usr/bin/env bash
# Build the python plugin once per interpreter, each under a name that carries the version,
# and put them next to the rsgi binary so `--plugin python3.14` finds them.
#
#   scripts/build-python-plugins.sh                    # python3's version and every TAG below (debug)
#   scripts/build-python-plugins.sh --release 3.14t    # only 3.14t, next to target/release/rsgi
#
# The versions built by default (PYTHON_TAGS): 3.13, 3.13t, 3.14, 3.14t, 3.15. A default
# one whose source the Debian archive does not serve (scripts/build-python.sh exits 3) is
# skipped with a warning; a version named on the command line must build.
#
# For each TAG (`3.14`, or `3.14t` for the free-threaded build):
#   - the interpreter: PYTHONS/TAG/bin/pythonTAG (scripts/pythons-dir.sh) when scripts/build-python.sh built
#     it; else `python3` on PATH when that is Python TAG (with a shared libpython); else
#     scripts/build-python.sh builds it from Debian's source package;
#   - `cargo build -p rsgi-plugin-python` (for 3.13t: plugins/python-pyo3-0.28) with
#     PYO3_PYTHON=<that interpreter>, RSGI_PYTHON_PLUGIN_NAME=pythonTAG and a target directory of its own
#     (build/plugin-TAG), so the builds neither share nor invalidate each other's pyo3;
#   - the library is copied to <target>/<profile>/librsgi_pythonTAG.so, where <target> is
#     $CARGO_TARGET_DIR or target/.
# The plain `librsgi_python.so` (plugin name `python`) stays what `cargo build` makes,
# linked against `python3` on PATH (or $PYO3_PYTHON).
#
# The workspace's pyo3 (0.30) builds 3.14, 3.14t and 3.15 (it supports CPython 3.9 to 3.15,
# free-threaded from 3.14). It refuses free-threaded 3.13t (pyo3 0.29: "CPython declared
# free-threading supported starting with 3.14"), so for 3.13t the same plugin source is
# built by plugins/python-pyo3-0.28 instead, a standalone crate pinned to pyo3 0.28.3, the
# last release that supports 3.13t (docs/python-versions.md says why it is still here).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/pythons-dir.sh
source "$ROOT/scripts/pythons-dir.sh"
PYTHONS="$(rsgi_pythons_dir)"
RSGI_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE=debug
CARGO_PROFILE=()

log() { printf 'build-python-plugins: %s\n' "$*" >&2; }
die() { printf 'build-python-plugins: error: %s\n' "$*" >&2; exit 1; }

# The version of `python3` on PATH, as a tag (`3.11`, or `3.13t` if free-threaded).
path_python_tag() {
    python3 -c 'import sys, sysconfig; print("%d.%d%s" % (sys.version_info[:2] + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "",)))' 2>/dev/null
}

# Every version the project builds and tests, beside python3's own.
PYTHON_TAGS=(3.13 3.13t 3.14 3.14t 3.15)

TAGS=()
DEFAULT_TAGS=0
for arg in "$@"; do
    case "$arg" in
        --release) PROFILE=release; CARGO_PROFILE=(--release) ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        [0-9]*.[0-9]*) TAGS+=("$arg") ;;
        *) die "unknown argument '$arg' (want --release or versions like 3.13 3.13t)" ;;
    esac
done
if [ "${#TAGS[@]}" -eq 0 ]; then
    DEFAULT_TAGS=1
    TAGS=("${PYTHON_TAGS[@]}")
    own="$(path_python_tag || true)"
    if [ -n "$own" ] && [[ " ${PYTHON_TAGS[*]} " != *" $own "* ]]; then
        TAGS=("$own" "${TAGS[@]}")
    fi
fi

# The interpreter for TAG (built on demand); prints its path.
interpreter_for() {
    local tag="$1" exe="$PYTHONS/$1/bin/python$1"
    if [ -x "$exe" ] && [ -f "$PYTHONS/$tag/.rsgi-build-stamp" ]; then
        echo "$exe"
        return 0
    fi
    if [ "$(path_python_tag || true)" = "$tag" ]; then
        local own shared
        own="$(python3 -c 'import sys; print(sys.executable)')"
        shared="$("$own" -c 'import sysconfig; print(sysconfig.get_config_var("Py_ENABLE_SHARED") or 0)')"
        if [ "$shared" = 1 ]; then
            echo "$own"
            return 0
        fi
        log "python3 on PATH ($own) is $tag but has no shared libpython; building one"
    fi
    local version="${tag%t}" flags=()
    [ "$version" != "$tag" ] && flags=(--disable-gil)
    "$ROOT/scripts/build-python.sh" "$version" "${flags[@]}" | tail -1
}

# The cargo arguments that build the plugin for TAG: the workspace's crate, or for a
# free-threaded Python before 3.14 the pyo3 0.28 build of the same source.
crate_for() {
    case "$1" in
        3.[0-9]t|3.1[0-3]t) echo "--manifest-path $ROOT/plugins/python-pyo3-0.28/Cargo.toml --locked" ;;
        *) echo "-p rsgi-plugin-python" ;;
    esac
}

build_plugin() {
    local tag="$1" exe="$2" target="$ROOT/build/plugin-$1" start crate
    start=$(date +%s)
    read -r -a crate <<<"$(crate_for "$tag")"
    log "python$tag: cargo build ${crate[*]} ${CARGO_PROFILE[*]} (PYO3_PYTHON=$exe, target $target)"
    (
        cd "$ROOT"
        PYO3_PYTHON="$exe" RSGI_PYTHON_PLUGIN_NAME="python$tag" CARGO_TARGET_DIR="$target" \
            nice -n 10 cargo build -q "${crate[@]}" --lib "${CARGO_PROFILE[@]}"
    ) || die "the python$tag plugin did not build"
    local built="$target/$PROFILE/librsgi_python.so" dest="$RSGI_TARGET/$PROFILE/librsgi_python$tag.so"
    [ -f "$built" ] || die "cargo did not produce $built"
    mkdir -p "$RSGI_TARGET/$PROFILE"
    cp -f "$built" "$dest.tmp"
    mv -f "$dest.tmp" "$dest"
    log "python$tag: $dest ($(( $(date +%s) - start ))s)"
}

main() {
    local tag exe status skipped=()
    for tag in "${TAGS[@]}"; do
        case "$tag" in
            [0-9].[0-9]|[0-9].[0-9][0-9]|[0-9].[0-9]t|[0-9].[0-9][0-9]t) ;;
            *) die "'$tag' is not a version tag like 3.13 or 3.14t" ;;
        esac
        status=0
        exe="$(interpreter_for "$tag")" || status=$?
        if [ "$status" -eq 3 ] && [ "$DEFAULT_TAGS" -eq 1 ]; then
            log "python$tag: skipped: the Debian archive does not serve its source (see above)"
            skipped+=("$tag")
            continue
        fi
        [ "$status" -eq 0 ] || die "no interpreter for $tag"
        [ -x "$exe" ] || die "no interpreter for $tag (got '$exe')"
        build_plugin "$tag" "$exe"
    done
    [ "${#skipped[@]}" -eq 0 ] || log "not built (no source): ${skipped[*]}"
    if [ -x "$RSGI_TARGET/$PROFILE/rsgi" ]; then
        log "plugins next to $RSGI_TARGET/$PROFILE/rsgi:"
        "$RSGI_TARGET/$PROFILE/rsgi" --list-plugins >&2 || true
    else
        log "note: $RSGI_TARGET/$PROFILE/rsgi is not built yet (cargo build ${CARGO_PROFILE[*]})"
    fi
}

main
