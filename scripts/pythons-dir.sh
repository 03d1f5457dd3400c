#!/usr/bin/env bash
# Where scripts/build-python.sh keeps the CPythons it builds, shared by every clone of the
# repository on this machine (a fresh clone, CI's included, reuses what an earlier one
# built): $RSGI_PYTHONS_DIR, else $XDG_CACHE_HOME/rsgi/pythons, else ~/.cache/rsgi/pythons.
# Each interpreter sits in <dir>/<VERSION>[t] with a stamp naming the source tarball (name
# and SHA-256) and the configure flags it was built with; a build is reused only while
# they match (scripts/build-python.sh). Sourced by the scripts that use it; prints the
# directory when run.
rsgi_pythons_dir() {
    if [ -n "${RSGI_PYTHONS_DIR:-}" ]; then
        echo "$RSGI_PYTHONS_DIR"
    elif [ -n "${XDG_CACHE_HOME:-}" ]; then
        echo "$XDG_CACHE_HOME/rsgi/pythons"
    elif [ -n "${HOME:-}" ]; then
        echo "$HOME/.cache/rsgi/pythons"
    else
        echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/pythons"
    fi
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    rsgi_pythons_dir
fi
