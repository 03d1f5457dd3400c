#!/usr/bin/env bash
# Short fuzzing pass: every target of the HTTP plugin (plugins/http/fuzz), of the
# WebSocket codec (plugins/websocket/fuzz) and of the host's pure parsers (host/fuzz: the
# PROXY protocol header) runs for FUZZ_SECONDS
# (default 20) seconds. Needs cargo-fuzz and an installed nightly toolchain; without them
# it says why and exits 0 (nothing is downloaded or installed here).
# A crash fails the script; the input is kept in <crate>/fuzz/artifacts/<target>/.
# The longer runs are described in plugins/http/fuzz/README.md, plugins/websocket/fuzz/README.md
# and host/fuzz/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${FUZZ_SECONDS:-20}"

skip() { echo "fuzz: skipped: $*"; exit 0; }

command -v rustup >/dev/null 2>&1 || skip "rustup is not installed (a nightly toolchain is needed)"
# Check for nightly without letting rustup install it on demand.
rustup toolchain list 2>/dev/null | grep -q '^nightly' \
    || skip "no nightly toolchain installed (rustup toolchain install nightly)"
cargo +nightly fuzz --version >/dev/null 2>&1 \
    || skip "cargo-fuzz is not installed (cargo install cargo-fuzz)"

start=$(date +%s)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$(pwd)"
# fuzz_crate DIR: builds and runs every target of DIR/fuzz (run from DIR, as cargo-fuzz wants).
fuzz_crate() {
    local dir="$1"
    cd "$root/$dir"
    local targets
    targets=$(cargo +nightly fuzz list)
    echo "fuzz: $dir: building $(echo $targets | wc -w) targets"
    cargo +nightly fuzz build -O
    for target in $targets; do
        mkdir -p "$work/$target"
        local seeds=() extra=()
        case "$target" in
            # The request corpus seeds the head parser.
            parse_request) seeds=("$root/tests/corpus/http"); extra=(-max_len=4096) ;;
            # Valid v1 and v2 headers; a v2 header is at most 16 + 65535 bytes.
            proxy_protocol) seeds=("$root/host/fuzz/seeds/proxy_protocol"); extra=(-max_len=1024) ;;
            # Client frame streams: plain, compressed, with control frames between fragments.
            session_feed) seeds=("$root/plugins/websocket/fuzz/seeds/session_feed"); extra=(-max_len=4096) ;;
        esac
        echo "fuzz: $target for ${seconds}s"
        # New inputs go to a scratch corpus; the seed directories are only read.
        cargo +nightly fuzz run -O "$target" "$work/$target" "${seeds[@]}" -- \
            -max_total_time="$seconds" "${extra[@]}" -print_final_stats=1 2>"$work/$target.log" || {
            tail -n 40 "$work/$target.log"
            echo "fuzz: $target FAILED (see $dir/fuzz/artifacts/$target/)"
            exit 1
        }
        grep -E '^stat::number_of_executed_units|^Done ' "$work/$target.log" | sed "s/^/fuzz: $target: /" || true
    done
}
fuzz_crate plugins/http
fuzz_crate plugins/websocket
fuzz_crate host
echo "fuzz: done in $(( $(date +%s) - start ))s"
