#!/usr/bin/env bash
# Debian packages of rsgi, built from this workspace with dpkg-deb:
#
#   scripts/build-debs.sh OUTDIR
#
#   rsgi                     the host (/usr/bin/rsgi), the http, websocket and uwsgi plugins,
#                            the man page, bash/zsh/fish completions, the systemd template
#                            units rsgi@.service + rsgi@.socket, the examples.
#                            Provides: rsgi-abi-X.Y (the plugin ABI series, from plugin-abi/)
#   rsgi-plugin-pythonX.Y    the python plugin for Debian's python3.X: librsgi_pythonX.Y.so,
#                            and for Debian's default python3 also librsgi_python.so (a
#                            symlink: `--plugin python`). Depends: rsgi-abi-X.Y, libpython3.X
#   rsgi-plugin-echo         examples/plugin-template, packaged as a third party's plugin
#                            would be. Depends: rsgi-abi-X.Y
#
# The python plugin is built against Debian's interpreters only (/usr/bin/python3.X with
# libpython3.X-dev; DEB_PYTHONS="3.11 3.13" to choose, default: Debian's python3), so its
# package's dependency on libpython3.X is right. An interpreter from elsewhere (pyenv,
# build/pythons) is refused: no Debian package provides its libpython; install such a
# plugin with `make install PYTHON=...` instead.
#
# Each package's shared-library dependencies come from dpkg-shlibdeps; binaries are
# stripped; lintian runs on the result and any error fails the build (warnings are shown).
# dpkg-deb rather than cargo-deb: three packages from one staged install (packaging/install.sh,
# the same layout as `make install`), a python plugin per interpreter with its own build, and
# a symlink, none of which cargo-deb's one-crate-one-package model gives without a second
# description of the layout; and nothing to install beyond dpkg-dev.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

log() { printf 'build-debs: %s\n' "$*" >&2; }
die() { printf 'build-debs: error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1"
OUTDIR="$(cd "$1" && pwd)"
for tool in dpkg-deb dpkg-shlibdeps strip patchelf; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev binutils patchelf)"
done

VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
ABI_VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/plugin-abi/Cargo.toml" | head -1)"
ABI_SERIES="${ABI_VERSION%.*}"
ECHO_VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/examples/plugin-template/Cargo.toml" | head -1)"
if [ -z "$VERSION" ] || [ -z "$ABI_SERIES" ] || [ -z "$ECHO_VERSION" ]; then
    die "cannot read the versions from Cargo.toml"
fi
DEB_REVISION=1
ARCH="$(dpkg --print-architecture)"
ABI_PACKAGE="rsgi-abi-$ABI_SERIES"
MAINTAINER="${DEBFULLNAME:+$DEBFULLNAME <${DEBEMAIL:-}>}"
[ -n "$MAINTAINER" ] || MAINTAINER="$(git -C "$ROOT" log -1 --format='%an <%ae>' 2>/dev/null || true)"
[ -n "$MAINTAINER" ] || die "no maintainer: set DEBFULLNAME and DEBEMAIL"
# Reproducible dates (changelog, file times): the last commit's, as dpkg's SOURCE_DATE_EPOCH.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}"

# Debian's interpreters to build the python plugin for: "3.11 3.13", default python3's.
DEFAULT_PY="$(readlink -f /usr/bin/python3 2>/dev/null || true)"
DEFAULT_PY="${DEFAULT_PY##*/python}"
DEB_PYTHONS="${DEB_PYTHONS:-$DEFAULT_PY}"
[ -n "$DEB_PYTHONS" ] || die "no Debian python3 (/usr/bin/python3): apt-get install python3-dev, or set DEB_PYTHONS"
PY_EXES=()
for v in $DEB_PYTHONS; do
    exe="/usr/bin/python$v"
    [ -x "$exe" ] || die "python$v is not Debian's (no $exe): the packages are built for Debian's interpreters only"
    dpkg -s "libpython$v-dev" >/dev/null 2>&1 || die "libpython$v-dev is not installed (apt-get install libpython$v-dev)"
    PY_EXES+=("$exe")
done
# The default python3's plugin first: it gets the librsgi_python.so symlink.
ordered=()
for exe in "${PY_EXES[@]}"; do
    if [ "$exe" = "/usr/bin/python$DEFAULT_PY" ]; then ordered=("$exe" "${ordered[@]}"); else ordered+=("$exe"); fi
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/stage"

log "building and staging (PREFIX=/usr; python plugin for ${ordered[*]})"
export PREFIX=/usr DESTDIR="$STAGE" PYTHON="${ordered[*]}" INSTALL_MANIFEST=0 \
    SYSTEMDUNITDIR=/lib/systemd/system ZSHCOMPDIR=/usr/share/zsh/vendor-completions
"$ROOT/packaging/install.sh" build
"$ROOT/packaging/install.sh" install
(cd "$ROOT" && cargo build --release --locked -q -p rsgi-plugin-template)
install -D -m 644 "$TARGET/release/librsgi_echo.so" "$STAGE/usr/lib/rsgi/plugins/librsgi_echo.so"
# librsgi_python.so (install.sh links it to the first plugin) only for Debian's default python3.
if [ "${ordered[0]}" != "/usr/bin/python$DEFAULT_PY" ]; then
    rm -f "$STAGE/usr/lib/rsgi/plugins/librsgi_python.so"
fi

# A package tree: PKG and the staged paths (relative to the stage) it gets.
new_package() { # new_package PKG PATH...
    local pkg="$1" path
    shift
    mkdir -p "$WORK/$pkg/DEBIAN"
    for path in "$@"; do
        mkdir -p "$WORK/$pkg/$(dirname "$path")"
        mv "$STAGE/$path" "$WORK/$pkg/$path"
    done
    # What Debian policy asks of every package: copyright and changelog in its doc directory.
    local doc="$WORK/$pkg/usr/share/doc/$pkg"
    mkdir -p "$doc"
    sed "s/@YEAR@/$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)/" "$ROOT/packaging/debian/copyright" >"$doc/copyright"
    chmod 644 "$doc/copyright"
}

changelog() { # changelog PKG VERSION
    local doc="$WORK/$1/usr/share/doc/$1"
    {
        printf '%s (%s) unstable; urgency=medium\n\n' "$1" "$2"
        printf '  * Package built from the rsgi workspace by scripts/build-debs.sh.\n\n'
        printf ' -- %s  %s\n' "$MAINTAINER" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
    } | gzip -9n >"$doc/changelog.Debian.gz"
    chmod 644 "$doc/changelog.Debian.gz"
}

# Strips ELF files as dh_strip does (the release profile keeps line tables for backtraces).
strip_elf() {
    local f
    while IFS= read -r -d '' f; do
        if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
            strip --strip-unneeded --remove-section=.comment --remove-section=.note "$f"
        fi
    done < <(find "$1" -type f -print0)
}

# Drops a RUNPATH that names only the system's own library directories: pyo3 links the
# plugin with the interpreter's LIBDIR as RUNPATH, which for Debian's python3 is
# /usr/lib/<multiarch>, searched anyway (lintian: custom-library-search-path). Any other
# RUNPATH is kept.
drop_system_runpath() {
    local f runpath multiarch entry custom
    multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)"
    while IFS= read -r -d '' f; do
        [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
        runpath="$(patchelf --print-rpath "$f")"
        [ -n "$runpath" ] || continue
        custom=0
        for entry in ${runpath//:/ }; do
            case "$entry" in
                "/usr/lib/$multiarch"|"/lib/$multiarch"|/usr/lib|/lib) ;;
                *) custom=1 ;;
            esac
        done
        if [ "$custom" = 0 ]; then
            patchelf --remove-rpath "$f"
        fi
    done < <(find "$1" -type f -print0)
}

# dpkg-shlibdeps' dependencies of the ELF files in package PKG ("libc6 (>= 2.34), ...").
shlib_depends() {
    local pkg="$1" src="$WORK/shlibs-$1" files
    mkdir -p "$src/debian"
    printf 'Source: rsgi\n\nPackage: %s\nArchitecture: any\n' "$pkg" >"$src/debian/control"
    mapfile -t files < <(find "$WORK/$pkg" -path "$WORK/$pkg/DEBIAN" -prune -o -type f -print \
        | while read -r f; do [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && echo "$f"; done)
    [ "${#files[@]}" -gt 0 ] || return 0
    (cd "$src" && dpkg-shlibdeps -O -e"${files[0]}" "${files[@]/#/-e}" 2>"$src/warnings") \
        | sed -n 's/^shlibs:Depends=//p'
    if [ -s "$src/warnings" ]; then sed 's/^/build-debs: dpkg-shlibdeps: /' "$src/warnings" >&2; fi
}

# Writes DEBIAN/control and md5sums, then the .deb.
finish() { # finish PKG VERSION DEPENDS EXTRA-FIELDS DESCRIPTION
    local pkg="$1" version="$2" depends="$3" extra="$4" description="$5" dir="$WORK/$1" size shlibs
    changelog "$pkg" "$version"
    strip_elf "$dir"
    drop_system_runpath "$dir"
    shlibs="$(shlib_depends "$pkg")"
    depends="$(printf '%s' "$depends${shlibs:+, $shlibs}" | sed 's/^, //')"
    size="$(du -k -s --apparent-size --exclude=DEBIAN "$dir" | cut -f1)"
    {
        printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: %s\n' "$pkg" "$version" "$ARCH" "$MAINTAINER"
        printf 'Installed-Size: %s\n' "$size"
        [ -n "$depends" ] && printf 'Depends: %s\n' "$depends"
        [ -n "$extra" ] && printf '%s\n' "$extra"
        printf 'Section: httpd\nPriority: optional\n'
        printf 'Description: %s\n' "$description"
    } >"$dir/DEBIAN/control"
    (cd "$dir" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 -r md5sum) >"$dir/DEBIAN/md5sums"
    find "$dir" -type d -exec chmod 755 {} +
    find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    local deb="$OUTDIR/${pkg}_${version}_$ARCH.deb"
    dpkg-deb --root-owner-group -Zxz --build "$dir" "$deb" >/dev/null
    log "$deb (Depends: $depends)"
    DEBS+=("$deb")
}

DEBS=()
rm -f "$OUTDIR"/rsgi_*.deb "$OUTDIR"/rsgi-plugin-*.deb

# Each python plugin: its own package.
for exe in "${ordered[@]}"; do
    v="${exe##*/python}"
    paths=("usr/lib/rsgi/plugins/librsgi_python$v.so")
    default_note=""
    if [ "$v" = "$DEFAULT_PY" ]; then
        paths+=("usr/lib/rsgi/plugins/librsgi_python.so")
        default_note="
 This is Debian's default python3: --plugin python loads it."
    fi
    new_package "rsgi-plugin-python$v" "${paths[@]}"
    finish "rsgi-plugin-python$v" "$VERSION-$DEB_REVISION" "$ABI_PACKAGE" "" \
        "Python $v plugin for the rsgi application server
 Embeds CPython $v (Debian's libpython$v) in rsgi to serve WSGI and
 ASGI apps: rsgi --plugin python$v --module app.$default_note"
done

new_package rsgi-plugin-echo usr/lib/rsgi/plugins/librsgi_echo.so
finish rsgi-plugin-echo "$ECHO_VERSION-$DEB_REVISION" "$ABI_PACKAGE" "" \
    "example third-party plugin for the rsgi application server
 The plugin template of the rsgi sources (examples/plugin-template), built
 against the plugin SDK as a third party's plugin would be: an app plugin
 that answers every request from Rust (\`rsgi --plugin echo\`)."

# Everything left in the stage is the rsgi package's.
mkdir -p "$WORK/rsgi/DEBIAN"
(cd "$STAGE" && find . -mindepth 1 -maxdepth 1 -exec mv {} "$WORK/rsgi/" \;)
new_package rsgi
gzip -9n "$WORK/rsgi/usr/share/man/man1/rsgi.1"
finish rsgi "$VERSION-$DEB_REVISION" "" "Provides: $ABI_PACKAGE
Suggests: rsgi-plugin-python$DEFAULT_PY" \
    "application server in the uWSGI tradition
 rsgi is an application server written in Rust: a small master process
 (sockets, prefork, signals, respawn, graceful reload) and plugins loaded at
 run time through a stable ABI for the languages and protocols it speaks.
 .
 This package holds the rsgi binary, the HTTP/1.1, WebSocket and uwsgi protocol
 plugins, the man page, shell completions, the systemd template units
 rsgi@.service and rsgi@.socket (one instance per /etc/rsgi/NAME.toml) and
 examples. Language plugins come in their own packages (rsgi-plugin-*)."

if command -v lintian >/dev/null; then
    log "lintian ${DEBS[*]##*/}"
    lintian --fail-on error "${DEBS[@]}" >&2 || die "lintian reports errors (above)"
else
    log "lintian is not installed: packages not checked (scripts/setup.sh installs it)"
fi
printf '%s\n' "${DEBS[@]}"
