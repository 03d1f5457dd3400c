#!/usr/bin/env bash
# The Debian packages, end to end (tests/packages.rs): scripts/build-debs.sh builds them,
# apt installs them on this machine, the installed /usr/bin/rsgi serves an app, the python
# plugin's package is removed (one "plugin not found" line), everything is purged and no
# file may be left. Then the pip wheel (scripts/build-wheel.sh) in a fresh venv.
#
#   scripts/test-packages.sh          # as root (or with sudo); run by .ci/run
#
# Not part of `cargo test` (the tests are #[ignore]d): the first installs and removes system
# packages, which needs root, changes /usr and takes dpkg's lock, so it runs alone, after
# the suite, and never beside a test that may read /usr. Any rsgi package left installed
# by an interrupted run is purged first. Needs what scripts/setup.sh installs (lintian,
# python3-dev, dpkg-dev).
set -euo pipefail
exec </dev/null
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$0" "$@"
fi
export PYO3_PYTHON="${PYO3_PYTHON:-$(command -v python3)}"
echo "test-packages: building the tests"
cargo build -q -p rsgi-e2e --tests
echo "test-packages: debs (build, install, serve, remove, purge) and the wheel (tests/packages.rs)"
cargo test -q -p rsgi-e2e --test e2e -- --ignored --test-threads 1 packages::
