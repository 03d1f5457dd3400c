#!/usr/bin/env bash
# The plugin SDK as a third party gets it: `cargo package` of rsgi-plugin-abi and
# rsgi-plugin-api (which checks that each builds from its package alone: files, license,
# description, no path-only dependencies), unpacked into DIR/crates, and a cargo
# configuration DIR/config.toml that points `rsgi-plugin-api` and `rsgi-plugin-abi` of
# crates.io at those packages ([patch.crates-io]), for a plugin whose Cargo.toml asks for
# them by version, as it would once they are published:
#
#   scripts/sdk-packages.sh /tmp/sdk
#   cp -r examples/plugin-template /tmp/echo && mkdir -p /tmp/echo/.cargo
#   cp /tmp/sdk/config.toml /tmp/echo/.cargo/config.toml
#   cd /tmp/echo && cargo build --release          # the template README's one command
#
# Everything else the plugin needs comes from the machine's own crates.io configuration.
# CARGO_TARGET_DIR is respected (default: target/ of the repository).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: $0 DIR}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CRATES=(rsgi-plugin-abi rsgi-plugin-api)

mkdir -p "$OUT/crates"
OUT="$(cd "$OUT" && pwd)"
args=()
for c in "${CRATES[@]}"; do args+=(-p "$c"); done
echo "sdk-packages: cargo package ${CRATES[*]}" >&2
(cd "$ROOT" && cargo package --allow-dirty --quiet "${args[@]}" --target-dir "$TARGET")

{
    echo "# Made by scripts/sdk-packages.sh: the rsgi plugin SDK from its packages."
    echo "[patch.crates-io]"
} > "$OUT/config.toml"
for c in "${CRATES[@]}"; do
    version="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | python3 -c "import json,sys; print(next(p['version'] for p in json.load(sys.stdin)['packages'] if p['name'] == '$c'))")"
    crate="$TARGET/package/$c-$version.crate"
    [ -f "$crate" ] || { echo "sdk-packages: $crate was not made" >&2; exit 1; }
    rm -rf "$OUT/crates/$c-$version"
    tar -xzf "$crate" -C "$OUT/crates"
    echo "$c = { path = \"$OUT/crates/$c-$version\" }" >> "$OUT/config.toml"
    echo "sdk-packages: $c $version -> $OUT/crates/$c-$version" >&2
done
echo "$OUT/config.toml"
