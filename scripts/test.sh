#!/usr/bin/env bash
# The whole test suite, as the README's quick start and CI (.ci/run) run it:
#   1. scripts/setup.sh  — Debian packages (nginx, wrk, ...) and the project venv build/venv
#   2. cargo build --workspace  — the rsgi binary and every plugin, against python3 on PATH
#   3. cargo test --workspace   — unit tests of every crate and the end-to-end tests
#      (tests/: the real binary with the real plugins over real sockets)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
# The python plugin links against this interpreter (the one build/venv was made from).
export PYO3_PYTHON="${PYO3_PYTHON:-$(command -v python3)}"
echo "test: building the workspace (PYO3_PYTHON=$PYO3_PYTHON)"
cargo build --workspace --all-targets
echo "test: running the tests"
cargo test --workspace
