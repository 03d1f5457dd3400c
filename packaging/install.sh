#!/usr/bin/env bash
# What `make build`, `make install` and `make uninstall` run (see the Makefile).
#
#   packaging/install.sh build        # cargo build --release: host, protocol plugins, python plugin(s)
#   packaging/install.sh install      # build, then copy into $DESTDIR$PREFIX
#   packaging/install.sh uninstall    # remove what install wrote (its list of files)
#
# Settings, from the environment (the Makefile passes its variables):
#   PREFIX   (/usr/local)  DESTDIR  (empty)
#   PYTHON   (python3)     the interpreters to build the python plugin for, separated by
#                          spaces; each needs a shared libpython. The plugin of each is
#                          lib/rsgi/plugins/librsgi_pythonX.Y.so; the first is the default:
#                          librsgi_python.so is a symlink to it, so `--plugin python` loads it.
#   BINDIR MANDIR DOCDIR PLUGINDIR SYSTEMDUNITDIR BASHCOMPDIR ZSHCOMPDIR FISHCOMPDIR:
#                          where each kind of file goes (defaults below, under PREFIX)
#   INSTALL_MANIFEST (1)   write $PLUGINDIR/../installed-files, which `uninstall` reads
#                          (scripts/build-debs.sh turns it off: dpkg keeps the list there)
#
# Layout under PREFIX: bin/rsgi, lib/rsgi/plugins/librsgi_{http,websocket,uwsgi,pythonX.Y,python}.so,
# share/man/man1/rsgi.1 (from the CLI definition: `rsgi --generate-man`, with the host's
# options and those of the plugins installed beside it), completions for bash, zsh and fish
# (`rsgi --generate-completions`), share/doc/rsgi/examples/, and the systemd template units
# rsgi@.service and rsgi@.socket (examples/systemd/, with this install's bin/rsgi in ExecStart).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

PREFIX="${PREFIX:-/usr/local}"
PREFIX="${PREFIX%/}"
DESTDIR="${DESTDIR:-}"
PYTHON="${PYTHON:-python3}"
BINDIR="${BINDIR:-$PREFIX/bin}"
PLUGINDIR="${PLUGINDIR:-$PREFIX/lib/rsgi/plugins}"
MANDIR="${MANDIR:-$PREFIX/share/man}"
DOCDIR="${DOCDIR:-$PREFIX/share/doc/rsgi}"
SYSTEMDUNITDIR="${SYSTEMDUNITDIR:-$PREFIX/lib/systemd/system}"
BASHCOMPDIR="${BASHCOMPDIR:-$PREFIX/share/bash-completion/completions}"
ZSHCOMPDIR="${ZSHCOMPDIR:-$PREFIX/share/zsh/site-functions}"
FISHCOMPDIR="${FISHCOMPDIR:-$PREFIX/share/fish/vendor_completions.d}"
INSTALL_MANIFEST="${INSTALL_MANIFEST:-1}"
MANIFEST="$(dirname "$PLUGINDIR")/installed-files"

log() { printf 'install: %s\n' "$*" >&2; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

# "TAG EXE" for an interpreter name or path: TAG is 3.11 (3.13t when free-threaded), EXE
# its real executable (a pyenv shim resolves to its target). Refuses one without a shared
# libpython, which the plugin links.
python_info() {
    local py="$1" out
    out="$("$py" -c 'import sys, sysconfig
tag = "%d.%d%s" % (sys.version_info[:2] + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "",))
print(tag, sys.executable, sysconfig.get_config_var("Py_ENABLE_SHARED") or 0)')" \
        || die "cannot run the interpreter '$py' (PYTHON)"
    read -r tag exe shared <<<"$out"
    [ "$shared" = 1 ] || die "$exe has no shared libpython (build it with --enable-shared, or use Debian's python3 with python3-dev)"
    echo "$tag $exe"
}

# The target dir of the python plugin built for EXE: one per interpreter, so builds for
# two interpreters neither share nor invalidate each other's pyo3.
python_target() {
    echo "$TARGET/python-plugin/$1-$(printf '%s' "$2" | cksum | cut -d' ' -f1)"
}

# cargo's arguments for TAG: the workspace's crate, or for a free-threaded Python before
# 3.14 the pyo3 0.28 build of the same source (as scripts/build-python-plugins.sh does).
python_crate() {
    case "$1" in
        3.[0-9]t|3.1[0-3]t) echo "--manifest-path $ROOT/plugins/python-pyo3-0.28/Cargo.toml" ;;
        *) echo "-p rsgi-plugin-python" ;;
    esac
}

build() {
    cd "$ROOT"
    log "cargo build --release: rsgi, http, websocket and uwsgi plugins (default plugin dir $PLUGINDIR)"
    RSGI_DEFAULT_PLUGIN_DIR="$PLUGINDIR" cargo build --release --locked -q \
        -p rsgi -p rsgi-plugin-http -p rsgi-plugin-websocket -p rsgi-plugin-uwsgi-proto
    local py tag exe crate target
    for py in $PYTHON; do
        read -r tag exe <<<"$(python_info "$py")"
        read -r -a crate <<<"$(python_crate "$tag")"
        target="$(python_target "$tag" "$exe")"
        log "cargo build --release: the python$tag plugin (PYO3_PYTHON=$exe, target $target)"
        PYO3_PYTHON="$exe" RSGI_PYTHON_PLUGIN_NAME="python$tag" CARGO_TARGET_DIR="$target" \
            cargo build --release --locked -q "${crate[@]}" --lib
    done
}

# Files written by this run (paths without DESTDIR), for the manifest.
WRITTEN=()

put() { # put MODE SOURCE DEST
    install -D -m "$1" "$2" "$DESTDIR$3"
    WRITTEN+=("$3")
}

link() { # link TARGET DEST
    mkdir -p "$DESTDIR$(dirname "$2")"
    ln -sfn "$1" "$DESTDIR$2"
    WRITTEN+=("$2")
}

install_all() {
    local rel="$TARGET/release" py tag exe first=1
    [ -x "$rel/rsgi" ] || die "$rel/rsgi is not built (make build)"
    put 755 "$rel/rsgi" "$BINDIR/rsgi"
    put 644 "$rel/librsgi_http.so" "$PLUGINDIR/librsgi_http.so"
    put 644 "$rel/librsgi_uwsgi.so" "$PLUGINDIR/librsgi_uwsgi.so"
    put 644 "$rel/librsgi_websocket.so" "$PLUGINDIR/librsgi_websocket.so"
    for py in $PYTHON; do
        read -r tag exe <<<"$(python_info "$py")"
        put 644 "$(python_target "$tag" "$exe")/release/librsgi_python.so" "$PLUGINDIR/librsgi_python$tag.so"
        if [ "$first" = 1 ]; then
            link "librsgi_python$tag.so" "$PLUGINDIR/librsgi_python.so"
            first=0
        fi
    done

    # The man page and the completions, from the installed binary and plugins.
    local gen
    gen="$(mktemp -d)"
    trap 'rm -rf "$gen"' RETURN
    "$DESTDIR$BINDIR/rsgi" --plugin-dir "$DESTDIR$PLUGINDIR" --generate-man "$gen" >/dev/null
    "$DESTDIR$BINDIR/rsgi" --plugin-dir "$DESTDIR$PLUGINDIR" --generate-completions all "$gen" >/dev/null
    put 644 "$gen/rsgi.1" "$MANDIR/man1/rsgi.1"
    put 644 "$gen/rsgi.bash" "$BASHCOMPDIR/rsgi"
    put 644 "$gen/_rsgi" "$ZSHCOMPDIR/_rsgi"
    put 644 "$gen/rsgi.fish" "$FISHCOMPDIR/rsgi.fish"

    # Examples, as in the source tree (no build output).
    local f
    while IFS= read -r -d '' f; do
        put 644 "$ROOT/examples/$f" "$DOCDIR/examples/$f"
    done < <(cd "$ROOT/examples" && find . -type f ! -path '*/target/*' ! -path '*/__pycache__/*' \
        ! -name '*.pyc' ! -name Cargo.lock -printf '%P\0' | sort -z)

    # The template units, starting this install's binary.
    local unit
    for unit in rsgi@.service rsgi@.socket; do
        sed "s|/usr/bin/rsgi|$BINDIR/rsgi|g" "$ROOT/examples/systemd/$unit" >"$gen/$unit"
        put 644 "$gen/$unit" "$SYSTEMDUNITDIR/$unit"
    done

    if [ "$INSTALL_MANIFEST" = 1 ]; then
        mkdir -p "$DESTDIR$(dirname "$MANIFEST")"
        printf '%s\n' "${WRITTEN[@]}" "$MANIFEST" >"$DESTDIR$MANIFEST"
    fi
    log "installed rsgi under $DESTDIR$PREFIX (${#WRITTEN[@]} files)"
}

uninstall_all() {
    [ -f "$DESTDIR$MANIFEST" ] || die "no $DESTDIR$MANIFEST: nothing installed there by make install (PREFIX=$PREFIX)"
    local f dir count=0
    local -a dirs=()
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        case "$f" in "$PREFIX"/*) ;; *) die "$DESTDIR$MANIFEST names $f, outside $PREFIX" ;; esac
        rm -f "$DESTDIR$f"
        count=$((count + 1))
        dirs+=("$(dirname "$f")")
    done <"$DESTDIR$MANIFEST"
    # rsgi's own directories (lib/rsgi/..., share/doc/rsgi/...) once empty, deepest first;
    # shared ones (bin, man1, the completion and unit directories) stay.
    while IFS= read -r dir; do
        while case "$dir" in */rsgi | */rsgi/*) true ;; *) false ;; esac \
            && rmdir "$DESTDIR$dir" 2>/dev/null; do
            dir="$(dirname "$dir")"
        done
    done < <(printf '%s\n' "${dirs[@]}" | sort -u -r)
    log "removed $count files from $DESTDIR$PREFIX"
}

case "${1:-}" in
    build) build ;;
    install) install_all ;;
    uninstall) uninstall_all ;;
    *) die "usage: $0 build|install|uninstall (settings in the environment; see the top of $0)" ;;
esac
