#!/usr/bin/env bash
# The README's Python table, made from what tests/pythons.rs recorded
# (RSGI_PYTHONS_RESULTS, one file per version and check; scripts/test-pythons.sh sets it).
#
#   scripts/python-table.sh RESULTS OWN TAG...   # the table on stdout
#   scripts/python-table.sh --readme [RESULTS]   # the table put into README.md
#
# RESULTS defaults to target/pythons-results ($CARGO_TARGET_DIR/pythons-results); OWN is
# python3's version (3.11), TAGs the versions built from source (3.13 3.13t ...). With
# --readme they are the ones scripts/test-pythons.sh uses. The README's table sits between
# the lines `<!-- pythons-table -->` and `<!-- /pythons-table -->`; a check that did not pass
# (or did not run) shows as "not run"; a version that was not built says why (the file
# RESULTS/TAG/not-built that scripts/test-pythons.sh writes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/pythons-dir.sh
source "$ROOT/scripts/pythons-dir.sh"
PYTHONS="$(rsgi_pythons_dir)"

die() { printf 'python-table: error: %s\n' "$*" >&2; exit 1; }

# A file's first line, or "not run".
cell() {
    local f="$1/$2"
    if [ -s "$f" ]; then head -1 "$f"; else echo "not run"; fi
}

# Where TAG's interpreter came from: the stamp scripts/build-python.sh wrote, or python3.
source_of() {
    local tag="$1" own="$2" stamp="$PYTHONS/$1/.rsgi-build-stamp" suite tarball
    if [ "$tag" = "$own" ]; then
        echo "\`python3\` on PATH"
    elif [ -f "$stamp" ]; then
        suite="$(sed -n 's/^suite=//p' "$stamp")"
        tarball="$(head -1 "$stamp" | sed -n 's/.* tarball=\([^ ]*\).*/\1/p')"
        # shellcheck disable=SC2016  # the backquotes are Markdown's
        printf 'Debian %s, `%s`%s' "${suite:-?}" "${tarball:-?}" \
            "$(case "$tag" in *t) echo ", \`--disable-gil\`" ;; esac)"
    else
        echo "source unknown"
    fi
}

table() {
    local results="$1" own="$2" tag dir serves c seen=" "
    shift 2
    echo "| Python | serves | recycling (preforking) | recycling (lazy-apps) | ASGI | free-threaded parallelism |"
    echo "|---|---|---|---|---|---|"
    for tag in "$own" "$@"; do
        [[ "$seen" == *" $tag "* ]] && continue # python3 may be one of the TAGs
        seen="$seen$tag "
        dir="$results/$tag"
        if [ -s "$dir/not-built" ]; then
            echo "| **$tag** | $(head -1 "$dir/not-built") | | | | |"
            continue
        elif [ ! -d "$dir" ]; then
            echo "| **$tag** | not run | | | | |"
            continue
        fi
        serves=""
        for c in serves cext validator virtualenv; do
            serves="${serves:+$serves; }$(cell "$dir" "$c")"
        done
        printf '| **%s**: %s, %s | yes: %s | %s | %s | %s | %s |\n' \
            "$tag" "$(cell "$dir" version)" "$(source_of "$tag" "$own")" "$serves" \
            "$(cell "$dir" recycling)" "$(cell "$dir" lazy)" "$(cell "$dir" asgi)" \
            "$(cell "$dir" parallel)"
    done
}

if [ "${1:-}" = --readme ]; then
    results="${2:-${CARGO_TARGET_DIR:-$ROOT/target}/pythons-results}"
    [ -d "$results" ] || die "no results in $results: run scripts/test-pythons.sh first"
    own="$(python3 -c 'import sys, sysconfig; print("%d.%d%s" % (sys.version_info[:2] + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "",)))')"
    tags="$(sed -n 's/^PYTHON_TAGS=(\(.*\))$/\1/p' "$ROOT/scripts/test-pythons.sh")"
    [ -n "$tags" ] || die "no PYTHON_TAGS=(...) line in scripts/test-pythons.sh"
    # shellcheck disable=SC2086  # the tags are words
    new="$(table "$results" "$own" $tags)"
    readme="$ROOT/README.md"
    if ! grep -q '^<!-- pythons-table -->$' "$readme" || ! grep -q '^<!-- /pythons-table -->$' "$readme"; then
        die "README.md has no <!-- pythons-table --> ... <!-- /pythons-table --> lines"
    fi
    NEW="$new" awk '
        /^<!-- pythons-table -->$/ { print; print ENVIRON["NEW"]; skip = 1; next }
        /^<!-- \/pythons-table -->$/ { skip = 0 }
        !skip { print }
    ' "$readme" > "$readme.tmp"
    mv -f "$readme.tmp" "$readme"
    echo "python-table: README.md's table updated from $results" >&2
    exit 0
fi

[ "$#" -ge 2 ] || die "usage: $0 RESULTS OWN TAG...   or   $0 --readme [RESULTS]"
table "$@"
