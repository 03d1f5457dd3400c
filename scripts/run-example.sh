#!/usr/bin/env bash
# Builds rsgi (release) with its plugins and serves examples/hello on http://127.0.0.1:8000
# (the README's first quick-start command). Stop it with Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
export PYO3_PYTHON="${PYO3_PYTHON:-$(command -v python3)}"
cargo build --release --workspace
cd examples/hello
echo "example: serving examples/hello/app.py on http://127.0.0.1:8000 (try: curl http://127.0.0.1:8000/)"
exec "$ROOT/target/release/rsgi" --config rsgi.toml "$@"
