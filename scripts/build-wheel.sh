#!/usr/bin/env bash
# A pip wheel of rsgi for one interpreter:
#
#   scripts/build-wheel.sh OUTDIR [PYTHON]     # PYTHON: python3 on PATH by default
#
# The wheel (rsgi-VERSION-cpXY-cpXY-linux_x86_64.whl) holds the release rsgi binary, the
# http and uwsgi plugins and the python plugin built for PYTHON (packaging/install.sh's
# builds), and a console script `rsgi` (packaging/wheel/launcher.py) that runs the binary
# with the wheel's plugin directory, `--plugin python` unless a plugin is named, and
# `--virtualenv` set to the venv it is installed in: `pip install rsgi-*.whl flask`, then
# `rsgi --module app` serves.
#
# Neither maturin nor setuptools-rust: nothing in the wheel is a Python extension module
# (the python plugin is a library rsgi loads, built with its own name and interpreter by
# packaging/install.sh), so the wheel is written directly (packaging/wheel/make_wheel.py,
# zipfile, PEP 427) and no build tool is needed.
#
# The platform tag is this platform's (linux_x86_64), not manylinux: the python plugin links
# the interpreter's libpython with a RUNPATH to its directory, so the wheel is for installs
# of that interpreter (its venvs); `auditwheel repair` would copy libpython into the wheel,
# which must not happen (two interpreters in one process).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
die() { printf 'build-wheel: error: %s\n' "$*" >&2; exit 1; }

if [ $# -lt 1 ] || [ $# -gt 2 ]; then die "usage: $0 OUTDIR [PYTHON]"; fi
OUTDIR="$1"
PY="${2:-python3}"
EXE="$("$PY" -c 'import sys; print(sys.executable)')" || die "cannot run $PY"
TAG="$("$EXE" -c 'import sys, sysconfig; print("%d.%d%s" % (sys.version_info[:2] + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "",)))')"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"

# The same builds as make install; the python plugin's target dir is keyed on EXE.
PYTHON="$EXE" "$ROOT/packaging/install.sh" build
PLUGIN_TARGET="$TARGET/python-plugin/$TAG-$(printf '%s' "$EXE" | cksum | cut -d' ' -f1)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp "$PLUGIN_TARGET/release/librsgi_python.so" "$WORK/librsgi_python$TAG.so"
# The wheel's default python plugin is this one: --plugin python finds it by that name too.
cp "$WORK/librsgi_python$TAG.so" "$WORK/librsgi_python.so"
for f in rsgi librsgi_http.so librsgi_websocket.so librsgi_uwsgi.so; do cp "$TARGET/release/$f" "$WORK/$f"; done
strip --strip-unneeded "$WORK"/rsgi "$WORK"/*.so
mkdir -p "$OUTDIR"
rm -f "$OUTDIR"/rsgi-"$VERSION"-*.whl
"$EXE" "$ROOT/packaging/wheel/make_wheel.py" "$OUTDIR" "$VERSION" "$WORK/rsgi" \
    "$WORK/librsgi_http.so" "$WORK/librsgi_websocket.so" "$WORK/librsgi_uwsgi.so" "$WORK/librsgi_python$TAG.so" "$WORK/librsgi_python.so"
