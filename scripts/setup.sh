#!/usr/bin/env bash
# Prepare a machine to run rsgi's tests and examples.
#
#   scripts/setup.sh            # from anywhere; paths are taken from the repository root
#
# What it does, each step skipping what is already there:
#   1. Debian packages: nginx (nginx-light), wrk, curl, systemd (for
#      systemd-socket-activate, when absent), a C toolchain, lintian, patchelf and
#      python3-dev (for the Debian packages scripts/build-debs.sh makes), python3-venv
#      (only if `python3 -m venv` cannot make a venv). `apt-get update` runs once,
#      and only when something has to be installed. A system nginx the package may
#      have started is stopped and disabled: tests run their own nginx on loopback.
#   2. The project venv build/venv, made with the interpreter `python3` on PATH is
#      (the one the python plugin links against), with the test requirements and the
#      fixture package tests/fixtures/venvpkg (which must exist only in that venv).
#      A stamp file keyed on the requirement list, the interpreter and the fixture's
#      files makes a second run a no-op.
#
# It does not build the Rust code. Safe to run as root (CI) or as a user with sudo.
# Exits non-zero with a message naming what could not be installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/build/venv"
FIXTURE="$ROOT/tests/fixtures/venvpkg"
STAMP="$VENV/.rsgi-setup-stamp"

# Python packages the tests and examples use (one per line; part of the stamp key).
PY_REQUIREMENTS="
flask
flask-caching
django
uwsgitop
prometheus_client
requests
fastapi
starlette
uvloop
python-multipart
websockets
"
# uWSGI's pure-Python decorators (uwsgidecorators.py), which apps written for uWSGI
# import; they ship in the uwsgi sdist (installing that package would compile uWSGI), so
# the file is taken from the sdist into the venv. Part of the stamp key.
UWSGI_DECORATORS_FROM="uwsgi==2.0.31"

export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
INSTALLED_DEBS=()
SUMMARY_VENV="unchanged"

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -E "$@"
    else
        die "need root to run '$*' (not root and no sudo)"
    fi
}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

apt_update_once() {
    [ "$APT_UPDATED" -eq 1 ] && return 0
    log "apt-get update"
    as_root apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
}

# apt_install PKG... : install the first package list that works; fail loudly.
apt_install() {
    apt_update_once
    log "apt-get install $*"
    as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
        || die "could not install Debian package(s): $*"
    INSTALLED_DEBS+=("$@")
}

# --- step 1: Debian packages -------------------------------------------------

# Install nginx without letting the package start a system nginx on port 80. On a
# machine with no policy-rc.d, one that forbids starting services is put in place
# for the duration of the install; whatever started anyway is stopped afterwards.
install_nginx() {
    have nginx && return 0
    local policy=/usr/sbin/policy-rc.d placed=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        placed=1
    fi
    apt_update_once
    local ok=0
    for pkg in nginx-light nginx; do
        if as_root apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; then
            INSTALLED_DEBS+=("$pkg")
            ok=1
            break
        fi
        log "package $pkg not installable, trying the next one"
    done
    [ "$placed" -eq 1 ] && as_root rm -f "$policy"
    [ "$ok" -eq 1 ] || die "could not install nginx (tried nginx-light, nginx)"
    stop_system_nginx
}

# Stop and disable the distribution's nginx service, if it runs. Only the nginx
# whose pid is in the system pid file is touched: tests' own nginx use other prefixes.
stop_system_nginx() {
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        as_root systemctl disable --now nginx >/dev/null 2>&1 || true
    elif command -v update-rc.d >/dev/null 2>&1; then
        as_root update-rc.d nginx disable >/dev/null 2>&1 || true
    fi
    local pidfile=/run/nginx.pid
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        log "stopping the system nginx (pid $(cat "$pidfile")) started by the package"
        as_root nginx -s quit 2>/dev/null || as_root kill "$(cat "$pidfile")" || true
    fi
}

install_debian_packages() {
    install_nginx
    have wrk || apt_install wrk
    have curl || apt_install curl
    # tests/socket_activation.rs plays systemd's socket activation with it.
    have systemd-socket-activate || apt_install systemd
    if ! have gcc || ! have pkg-config; then
        apt_install build-essential pkg-config
    fi
    # scripts/build-debs.sh and scripts/test-packages.sh: dpkg-shlibdeps, the package
    # checker, patchelf (drops a RUNPATH naming the system's library directory), and
    # Debian's own libpython for the python plugin's package (it depends on the one it links).
    have dpkg-shlibdeps || apt_install dpkg-dev
    have lintian || apt_install lintian
    have patchelf || apt_install patchelf
    dpkg -s python3-dev >/dev/null 2>&1 || apt_install python3-dev
}

# --- step 2: the project venv -------------------------------------------------

# The interpreter `python3` on PATH really is (a pyenv shim resolves to its target).
resolve_python() {
    have python3 || die "python3 is not on PATH"
    PYTHON="$(python3 -c 'import sys; print(sys.executable)')" \
        || die "python3 on PATH does not run"
    [ -x "$PYTHON" ] || die "python3 reports sys.executable='$PYTHON', which is not executable"
    PY_VERSION="$("$PYTHON" -c 'import platform; print(platform.python_version())')"
    log "interpreter: $PYTHON (Python $PY_VERSION) - the python plugin links against this one"
}

# A Debian system python needs python3-dev for the shared libpython the plugin links.
ensure_libpython() {
    local lib
    lib="$("$PYTHON" -c 'import os, sysconfig as s; print(os.path.join(s.get_config_var("LIBDIR") or "", s.get_config_var("LDLIBRARY") or ""))')"
    if [ ! -e "$lib" ]; then
        case "$PYTHON" in
            /usr/bin/*) apt_install python3-dev ;;
            *) log "warning: $lib not found; the python plugin may not link against $PYTHON" ;;
        esac
    fi
}

# What the venv must match: requirements, interpreter, fixture package files.
stamp_key() {
    {
        echo "$PY_REQUIREMENTS $UWSGI_DECORATORS_FROM"
        echo "$PYTHON $PY_VERSION"
        (cd "$FIXTURE" && find . -type f \( -name '*.py' -o -name '*.toml' \) -print0 \
            | sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -d' ' -f1
}

# The venv exists and was made from $PYTHON.
venv_matches() {
    [ -x "$VENV/bin/python" ] || return 1
    local base
    base="$("$VENV/bin/python" -c 'import sys; print(sys._base_executable)' 2>/dev/null)" || return 1
    [ "$(readlink -f "$base")" = "$(readlink -f "$PYTHON")" ]
}

create_venv() {
    if [ -e "$VENV" ]; then
        log "recreating $VENV (made by another interpreter or broken)"
        rm -rf "$VENV"
    fi
    mkdir -p "$(dirname "$VENV")"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        [ "$PYTHON" = "${PYTHON#/usr/bin/}" ] \
            && die "'$PYTHON -m venv' fails and $PYTHON is not Debian's python3"
        apt_install python3-venv
        "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv $VENV' fails even with python3-venv"
    fi
}

# Install the fixture from a copy, so the build leaves no build/ or *.egg-info in the tree.
install_fixture_package() {
    local tmp
    tmp="$(mktemp -d)"
    cp -r "$FIXTURE/." "$tmp/"
    "$VENV/bin/pip" install --quiet --no-build-isolation "$tmp" \
        || { rm -rf "$tmp"; die "pip could not install the fixture package $FIXTURE"; }
    rm -rf "$tmp"
}

# uwsgidecorators.py from the uwsgi sdist, into the venv's site-packages.
install_uwsgi_decorators() {
    local tmp site
    tmp="$(mktemp -d)"
    "$VENV/bin/pip" download --quiet --no-deps --no-binary :all: "$UWSGI_DECORATORS_FROM" -d "$tmp" \
        || { rm -rf "$tmp"; die "pip could not download $UWSGI_DECORATORS_FROM (for uwsgidecorators.py)"; }
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    tar -xzf "$tmp"/uwsgi-*.tar.gz -C "$tmp" --wildcards '*/uwsgidecorators.py' \
        && cp "$tmp"/uwsgi-*/uwsgidecorators.py "$site/" \
        || { rm -rf "$tmp"; die "no uwsgidecorators.py in the $UWSGI_DECORATORS_FROM sdist"; }
    rm -rf "$tmp"
}

setup_venv() {
    resolve_python
    ensure_libpython
    local key
    key="$(stamp_key)"
    if venv_matches && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$key" ]; then
        log "venv $VENV is up to date"
        return 0
    fi
    venv_matches || create_venv
    rm -f "$STAMP"
    log "pip install into $VENV:" $PY_REQUIREMENTS
    # shellcheck disable=SC2086  # the list is split on purpose
    "$VENV/bin/pip" install --quiet --upgrade pip setuptools wheel $PY_REQUIREMENTS \
        || die "pip could not install: $(echo $PY_REQUIREMENTS)"
    install_fixture_package
    install_uwsgi_decorators
    "$VENV/bin/python" -c 'import flask, flask_caching, django, prometheus_client, requests, fastapi, starlette, uvloop, python_multipart, websockets, rsgi_venv_probe' \
        || die "the venv does not import what was installed"
    echo "$key" > "$STAMP"
    SUMMARY_VENV="installed"
}

main() {
    install_debian_packages
    setup_venv
    local debs="none"
    [ "${#INSTALLED_DEBS[@]}" -gt 0 ] && debs="${INSTALLED_DEBS[*]}"
    log "ok: python $PY_VERSION ($PYTHON), venv $VENV $SUMMARY_VENV, debian packages installed: $debs"
}

main "$@"
