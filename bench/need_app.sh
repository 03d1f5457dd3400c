#!/usr/bin/env bash
# Starts rsgi N times (default 1000) per mode with an app that fails to import and
# --need-app, and counts the exit codes. rsgi must exit 22 every single time, in
# preforking and lazy-apps mode alike (uWSGI returns 0 at random in lazy-apps mode).
#
#   cargo build --release && bench/need_app.sh [N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-1000}"
RSGI="${RSGI:-$ROOT/target/release/rsgi}"
cd "$ROOT/tests/apps"
for mode in preforking lazy-apps; do
    extra=()
    [ "$mode" = lazy-apps ] && extra=(--lazy-apps --processes 2)
    declare -A codes=()
    start=$(date +%s)
    for _ in $(seq "$N"); do
        set +e
        "$RSGI" --plugin python --http 127.0.0.1:0 --module broken_import --need-app "${extra[@]}" >/dev/null 2>&1
        code=$?
        set -e
        codes[$code]=$(( ${codes[$code]:-0} + 1 ))
    done
    summary=""
    for c in "${!codes[@]}"; do summary+=" exit $c: ${codes[$c]}x"; done
    echo "$mode: $N starts in $(( $(date +%s) - start ))s ->$summary"
    unset codes
done
