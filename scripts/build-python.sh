#!/usr/bin/env bash
# Build a CPython from Debian's own source package, for running rsgi's python plugin
# against a Python other than the one on PATH.
#
#   scripts/build-python.sh 3.13                # -> PYTHONS/3.13/bin/python3.13
#   scripts/build-python.sh 3.14 --disable-gil   # -> PYTHONS/3.14t/bin/python3.14t
#   scripts/build-python.sh 3.15                # -> PYTHONS/3.15/bin/python3.15
# PYTHONS is a cache outside the clone, shared by every clone on the machine: see
# scripts/pythons-dir.sh (~/.cache/rsgi/pythons unless RSGI_PYTHONS_DIR says otherwise).
#
# Prints the path of the built interpreter as its last line of output. Exits with 3 (and
# no path) when the Debian archive does not serve the source package: the suite's index
# lists it, but its files are not there (a partial mirror); 1 on any other failure.
#
# Where the source comes from: `apt-get source --download-only python3.14` from the Debian
# suite chosen for that version (suite_for below: trixie for 3.13, forky for 3.14 and
# 3.15, sid for anything newer; RSGI_PYTHON_SUITE overrides), through an apt
# configuration of its own (a sources list, lists and cache directories under
# PYTHONS/apt-<suite>), so the machine's apt setup is neither read nor changed. Only the
# upstream tarball in the source package (python3.14_*.orig.tar.xz) is used; Debian's
# patches are not applied. The download is checked by apt against the signed Release file
# (debian-archive-keyring).
#
# How it is built: ./configure --enable-shared (a libpython for the plugin to link),
# with an rpath to its own lib directory so the interpreter finds its own libpython,
# and --disable-gil for the free-threaded build; `make -j2`, `make install` into
# PYTHONS/<VERSION>[t]. ssl, sqlite3, ctypes, decimal, bz2, lzma, zlib and readline must
# import, or the build counts as failed.
#
# The cache: a stamp file in the prefix records the tag, the suite, the tarball's name and
# SHA-256 and the configure flags. A later run reuses the build only when the stamp equals
# what it would build now: the same flags and the same tarball, by checksum, so a build
# from another suite's or another upload's source is rebuilt, not reused. The tarball is
# downloaded once per suite and kept (PYTHONS/apt-<suite>/src); RSGI_PYTHON_UPDATE=1 asks
# the suite again for a newer upload (and rebuilds if there is one).
#
# Build dependencies come from Debian (installed when missing; needs root or sudo).
# Environment: RSGI_PYTHONS_DIR (default ~/.cache/rsgi/pythons), RSGI_PYTHON_SUITE (default:
# per version, see suite_for), RSGI_PYTHON_UPDATE (1: look for a newer source upload),
# RSGI_DEBIAN_MIRROR (the Debian archive to take the source from; by default the one this
# machine's own apt configuration uses for Debian, read from /etc/apt/sources.list and
# /etc/apt/sources.list.d/), JOBS (default 2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/pythons-dir.sh
source "$ROOT/scripts/pythons-dir.sh"
PYTHONS="$(rsgi_pythons_dir)"
MIRROR="${RSGI_DEBIAN_MIRROR:-}"
JOBS="${JOBS:-2}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Debian packages the build needs: a toolchain and the headers of the stdlib's C modules.
BUILD_DEPS=(build-essential pkg-config xz-utils libssl-dev libsqlite3-dev libffi-dev
    zlib1g-dev libbz2-dev liblzma-dev libreadline-dev uuid-dev libncurses-dev)

# Exit status when the Debian archive has no source package to build from (see
# download_source); any other failure is 1.
EXIT_NO_SOURCE=3

log() { printf 'build-python: %s\n' "$*" >&2; }
die() { printf 'build-python: error: %s\n' "$*" >&2; exit 1; }

usage() {
    echo "usage: $0 VERSION [--disable-gil]    (VERSION like 3.13)" >&2
    exit 2
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -E "$@"
    else
        die "need root to run '$*' (not root and no sudo)"
    fi
}

VERSION=""
FREE_THREADED=0
for arg in "$@"; do
    case "$arg" in
        --disable-gil) FREE_THREADED=1 ;;
        -h|--help) usage ;;
        [0-9]*.[0-9]*) [ -z "$VERSION" ] || usage; VERSION="$arg" ;;
        *) usage ;;
    esac
done
[ -n "$VERSION" ] || usage
case "$VERSION" in
    [0-9].[0-9]|[0-9].[0-9][0-9]) ;;
    *) die "VERSION is major.minor, like 3.13 (got '$VERSION')" ;;
esac
if [ "$FREE_THREADED" -eq 1 ]; then
    TAG="${VERSION}t"
else
    TAG="$VERSION"
fi
# The Debian suite whose source package is used for VERSION: the oldest suite that
# carries it, so the source changes as seldom as Debian's releases do. Trixie (Debian 13)
# has python3.13 3.13.5 and no other; forky (testing) has python3.14 and python3.15; a
# CPython newer than that reaches unstable first.
suite_for() {
    case "$1" in
        3.13) echo trixie ;;
        3.14|3.15) echo forky ;;
        *) echo sid ;;
    esac
}
SUITE="${RSGI_PYTHON_SUITE:-$(suite_for "$VERSION")}"
PREFIX="$PYTHONS/$TAG"
EXE="$PREFIX/bin/python$TAG"
STAMP="$PREFIX/.rsgi-build-stamp"
SOURCE_PKG="python$VERSION"

# --- the cache ---------------------------------------------------------------

# What a finished build must match: the tag, the tarball it came from (name and SHA-256)
# and the configure flags. The suite is recorded on a line of its own, for people: two
# suites with the same tarball give the same build.
CONFIGURE_FLAGS="--enable-shared"
[ "$FREE_THREADED" -eq 1 ] && CONFIGURE_FLAGS="$CONFIGURE_FLAGS --disable-gil"
stamp_key() { # stamp_key TARBALL
    echo "python=$TAG tarball=$(basename "$1") sha256=$(sha256sum "$1" | cut -d' ' -f1) configure=$CONFIGURE_FLAGS"
}

# One build of a TAG at a time on this machine (two clones may ask at once); the second
# finds the first one's result.
mkdir -p "$PYTHONS"
exec 9>"$PYTHONS/.lock-$TAG"
flock 9

# --- build dependencies ------------------------------------------------------

install_build_deps() {
    local missing=()
    for pkg in "${BUILD_DEPS[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing Debian build dependencies: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq || die "apt-get update failed"
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "could not install: ${missing[*]}"
}

# --- the source, through an apt configuration of our own ----------------------

# The Debian archive this machine's apt is set up to use: the first URI of an enabled
# entry (one-line `deb`/`deb-src` lines or deb822 stanzas) for a Debian release suite.
# Suites of other archives (security, a vendor's repository) do not count.
machine_debian_mirror() {
    local files=()
    [ -r /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] && files+=("$f")
    done
    [ "${#files[@]}" -gt 0 ] || return 1
    awk '
        function release(suite) {
            return suite ~ /^(oldoldstable|oldstable|stable|testing|unstable|sid|experimental|buster|bullseye|bookworm|trixie|forky|duke)(-updates)?$/
        }
        function stanza_end() {
            if (types ~ /deb/ && enabled && uris != "") {
                n = split(suites, s, /[ \t]+/)
                for (i = 1; i <= n; i++) if (release(s[i])) { split(uris, u, /[ \t]+/); print u[1]; exit }
            }
            types = ""; uris = ""; suites = ""; enabled = 1
        }
        FNR == 1 { stanza_end() }
        /^[ \t]*#/ { next }
        /^(deb|deb-src)[ \t]/ {
            line = $0; sub(/\[[^]]*\]/, "", line)
            n = split(line, w, /[ \t]+/)
            if (n >= 3 && release(w[3])) { print w[2]; exit }
            next
        }
        /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0; next }
        /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0; next }
        /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0; next }
        /^Enabled:[ \t]*no/ { enabled = 0; next }
        /^[ \t]*$/ { stanza_end() }
        END { stanza_end() }
    ' "${files[@]}" | head -1
}

APT_DIR="$PYTHONS/apt-$SUITE"
APT_OPTS=(
    -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache=$APT_DIR/cache"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=true"
)

# The newest downloaded orig tarball of the source package, if any.
local_tarball() {
    find "$APT_DIR/src" -maxdepth 1 -name "${SOURCE_PKG}_*.orig.tar.xz" 2>/dev/null | sort -V | tail -1
}

# Downloads the source package into $APT_DIR/src (once; again with RSGI_PYTHON_UPDATE=1);
# prints the orig tarball's path. One apt run per suite at a time (3.14 and 3.14t share one).
download_source() {
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/src"
    exec 8>"$APT_DIR/.lock"
    flock 8
    local tarball
    tarball="$(local_tarball)"
    if [ -n "$tarball" ] && [ "${RSGI_PYTHON_UPDATE:-0}" != 1 ]; then
        log "using the downloaded $(basename "$tarball") ($SUITE)"
        echo "$tarball"
        return 0
    fi
    if [ -z "$MIRROR" ]; then
        MIRROR="$(machine_debian_mirror)" || true
        [ -n "$MIRROR" ] || die "no Debian archive in this machine's apt configuration (/etc/apt/sources.list, /etc/apt/sources.list.d/): set RSGI_DEBIAN_MIRROR to one"
        log "Debian archive from this machine's apt configuration: $MIRROR"
    fi
    [ -r "$KEYRING" ] || die "$KEYRING is missing (Debian package debian-archive-keyring)"
    printf 'deb-src [signed-by=%s] %s %s main\n' "$KEYRING" "$MIRROR" "$SUITE" \
        > "$APT_DIR/sources.list"
    log "apt-get update for deb-src $SUITE (own lists in $APT_DIR)"
    apt-get "${APT_OPTS[@]}" update -qq >&2 \
        || die "apt-get update of the $SUITE sources failed"
    log "apt-get source --download-only $SOURCE_PKG ($SUITE)"
    local out="$APT_DIR/apt-get-source.log"
    if ! (cd "$APT_DIR/src" && apt-get "${APT_OPTS[@]}" source --download-only "$SOURCE_PKG") >"$out" 2>&1; then
        cat "$out" >&2
        # The suite's index names the package, but the archive answers 404 for its files:
        # a partial mirror. Nothing to build from; scripts/test-pythons.sh reports the
        # version as not built instead of failing.
        if grep -q '404 *Not Found' "$out"; then
            printf 'build-python: error: the Debian archive lists %s in %s but does not serve its files (404): no source to build %s from\n' \
                "$SOURCE_PKG" "$SUITE" "$TAG" >&2
            exit "$EXIT_NO_SOURCE"
        fi
        die "apt-get source $SOURCE_PKG failed (does $SUITE have it? RSGI_PYTHON_SUITE picks another suite)"
    fi
    cat "$out" >&2
    tarball="$(local_tarball)"
    [ -n "$tarball" ] || die "the $SOURCE_PKG source package has no ${SOURCE_PKG}_*.orig.tar.xz"
    echo "$tarball"
}

# --- build ---------------------------------------------------------------------

build() {
    local tarball="$1"
    local work="$PYTHONS/src-$TAG"
    rm -rf "$work" "$PREFIX"
    mkdir -p "$work"
    log "unpacking $(basename "$tarball")"
    tar -xJf "$tarball" -C "$work" --strip-components=1
    [ -x "$work/configure" ] || die "$tarball does not hold a CPython source tree"
    cd "$work"
    log "configure --prefix=$PREFIX $CONFIGURE_FLAGS"
    # shellcheck disable=SC2086  # one or two flags, no spaces inside them
    ./configure --prefix="$PREFIX" $CONFIGURE_FLAGS \
        LDFLAGS="-Wl,-rpath,$PREFIX/lib" > "$work/configure.log" 2>&1 \
        || { tail -30 "$work/configure.log" >&2; die "configure failed (log: $work/configure.log)"; }
    log "make -j$JOBS (log: $work/make.log)"
    make -j"$JOBS" > "$work/make.log" 2>&1 \
        || { tail -40 "$work/make.log" >&2; die "make failed (log: $work/make.log)"; }
    log "make install"
    make install > "$work/install.log" 2>&1 \
        || { tail -30 "$work/install.log" >&2; die "make install failed (log: $work/install.log)"; }
    cd "$ROOT"
    [ -x "$EXE" ] || die "make install did not produce $EXE"
    check "$EXE"
    rm -rf "$work"
    write_stamp "$tarball"
}

# The stdlib modules rsgi's tests and typical apps need must import; the GIL state must be
# what was asked for.
check() {
    local exe="$1" want_gil=1
    [ "$FREE_THREADED" -eq 1 ] && want_gil=0
    "$exe" - "$want_gil" <<'EOF' >&2 || die "$exe is incomplete (see above)"
import sys, sysconfig
import ssl, sqlite3, ctypes, decimal, bz2, lzma, zlib, readline, hashlib, uuid  # noqa: F401
want_gil = sys.argv[1] == "1"
disabled = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
if disabled == want_gil:
    sys.exit("Py_GIL_DISABLED=%s, expected %s" % (disabled, not want_gil))
print("build-python: ok: %s (%s), Py_GIL_DISABLED=%d, %s, sqlite %s"
      % (sys.executable, sys.version.split()[0], disabled, ssl.OPENSSL_VERSION, sqlite3.sqlite_version))
EOF
}

write_stamp() { # write_stamp TARBALL
    { stamp_key "$1"; echo "suite=$SUITE"; } > "$STAMP.tmp"
    mv -f "$STAMP.tmp" "$STAMP"
}

# 0 when PREFIX holds a finished build of TARBALL with today's flags. A stamp from before
# checksums were recorded (tag, tarball name, flags) counts when it names this very
# tarball (Debian never reuses an orig tarball's name for other contents), and is
# rewritten with the checksum.
built_from() { # built_from TARBALL
    [ -f "$STAMP" ] && [ -x "$EXE" ] || return 1
    local have
    have="$(head -1 "$STAMP")"
    [ "$have" = "$(stamp_key "$1")" ] && return 0
    if [ "$have" = "python=$TAG tarball=$(basename "$1") configure=$CONFIGURE_FLAGS" ]; then
        write_stamp "$1"
        return 0
    fi
    log "$PREFIX was built from other source or flags ($have); rebuilding"
    return 1
}

main() {
    local start tarball
    start=$(date +%s)
    tarball="$(download_source)"
    if built_from "$tarball"; then
        log "$TAG already built ($(head -1 "$STAMP")); remove $PREFIX to rebuild"
        echo "$EXE"
        exit 0
    fi
    install_build_deps
    log "building $TAG from $(basename "$tarball") ($SUITE) into $PREFIX"
    build "$tarball"
    log "built $TAG in $(( $(date +%s) - start ))s"
    echo "$EXE"
}

main
