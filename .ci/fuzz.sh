#!/usr/bin/env bash
# Short fuzzing pass over the HTTP plugin: every target in plugins/http/fuzz runs for
# FUZZ_SECONDS (default 20) seconds. Needs cargo-fuzz and an installed nightly toolchain;
# without them it says why and exits 0 (nothing is downloaded or installed here).
# A crash fails the script; the input is kept in plugins/http/fuzz/artifacts/<target>/.
# The longer run is described in plugins/http/fuzz/README.md.
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
cd plugins/http
targets=$(cargo +nightly fuzz list)
echo "fuzz: building $(echo $targets | wc -w) targets"
cargo +nightly fuzz build -O
for target in $targets; do
    mkdir -p "$work/$target"
    seeds=()
    extra=()
    case "$target" in
        # The request corpus seeds the head parser.
        parse_request) seeds=(../../tests/corpus/http); extra=(-max_len=4096) ;;
    esac
    echo "fuzz: $target for ${seconds}s"
    # New inputs go to a scratch corpus; the seed directories are only read.
    cargo +nightly fuzz run -O "$target" "$work/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" "${extra[@]}" -print_final_stats=1 2>"$work/$target.log" || {
        tail -n 40 "$work/$target.log"
        echo "fuzz: $target FAILED (see plugins/http/fuzz/artifacts/$target/)"
        exit 1
    }
    grep -E '^stat::number_of_executed_units|^Done ' "$work/$target.log" | sed "s/^/fuzz: $target: /" || true
done
echo "fuzz: done in $(( $(date +%s) - start ))s"
