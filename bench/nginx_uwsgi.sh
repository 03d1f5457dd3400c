#!/usr/bin/env bash
# nginx -> rsgi (uwsgi protocol) next to nginx -> uWSGI (uwsgi protocol), in one run.
#
#   bench/nginx_uwsgi.sh                       # 1 worker each, 3 interleaved runs of 10 s
#   WORKERS=2 RUNS=5 DURATION=20 bench/nginx_uwsgi.sh
#   BACKEND_SOCKET=unix bench/nginx_uwsgi.sh   # Unix sockets between nginx and the backends
#
# One nginx (one worker process) has two sites: one passes to `rsgi --socket`, the other
# to `uwsgi --socket`; both backends serve bench/apps/hello.py with the same number of
# worker processes and one thread each, without request logging. wrk keeps CONNECTIONS
# connections alive to nginx; nginx opens one uwsgi connection per request to the backend
# (the protocol has no keep-alive), for both alike. Runs are interleaved (rsgi run 1,
# uWSGI run 1, rsgi run 2, ...) so a burst of noise from elsewhere hits both.
#
# A third backend, the floor (bench/uwsgi_floor.rs, compiled here with rustc -O), answers
# the same request without Python or an event loop: accept, read the packet, write a fixed
# response, close. Its CPU time per request is the kernel's share that any backend pays
# for one connection per request on this machine; the tables compare it with what a
# backend would need to reach 1.5x uWSGI. FLOOR=0 leaves it out.
#
# With 2 CPUs or more and taskset installed, both backends share CPU 0 (only one is under
# load at a time) and nginx and wrk share CPU 1.
#
# Each backend runs in a cgroup of its own (cgroup v1 cpu,cpuacct or v2, when writable), so
# the tables also give the backend's CPU time per request, master and workers together.
# Two setups are measured, a table each:
# - backend-bound: each backend's cgroup may use BACKEND_CPU_QUOTA of a CPU (0.25), so the
#   backend, not nginx, limits throughput (as when one nginx fronts many backend workers),
#   and the rps ratio compares the backends;
# - nginx-bound: no quota; on a small machine nginx and wrk then limit throughput, and the
#   rps ratio says little about the backends (their CPU per request still does).
# BACKEND_CPU_QUOTA=none measures only the second, BACKEND_CPU_QUOTA=0.5 changes the quota.
# Without writable cgroups only the nginx-bound setup runs, without CPU figures.
#
# Needs: a release build (cargo build --release), nginx and wrk (scripts/setup.sh), and
# uWSGI in build/bench-venv (python3 bench/run.py creates it on its first run).
# Environment: WORKERS (1), RUNS (3), DURATION (10), WARMUP (2), CONNECTIONS (50),
# BACKEND_CPU_QUOTA (0.25; CPUs, or none), BACKEND_SOCKET (tcp, or unix),
# RSGI (target/release/rsgi), NGINX (/usr/sbin/nginx).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORKERS="${WORKERS:-1}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-50}"
QUOTA="${BACKEND_CPU_QUOTA:-0.25}"
RSGI="${RSGI:-$ROOT/target/release/rsgi}"
NGINX="${NGINX:-/usr/sbin/nginx}"
UWSGI="$ROOT/build/bench-venv/bin/uwsgi"
FLOOR_BIN="$ROOT/build/uwsgi-floor"
APPS="$ROOT/bench/apps"
LOGS="$ROOT/build/bench-logs"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -x "$RSGI" ] || die "$RSGI is missing: cargo build --release"
[ -x "$UWSGI" ] || die "$UWSGI is missing: python3 bench/run.py creates build/bench-venv"
[ -x "$NGINX" ] || die "$NGINX is missing: scripts/setup.sh installs it"
command -v wrk >/dev/null || die "wrk is missing: scripts/setup.sh installs it"
BACKENDS=(rsgi uwsgi)
if [ "${FLOOR:-1}" != 0 ]; then
    rustc -O --edition 2021 -o "$FLOOR_BIN" "$ROOT/bench/uwsgi_floor.rs" || die "rustc could not build bench/uwsgi_floor.rs"
    BACKENDS+=(floor)
fi

BACKEND_CPU=() FRONT_CPU=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    BACKEND_CPU=(taskset -c 0) FRONT_CPU=(taskset -c 1)
else
    log "not pinning: needs taskset and at least 2 CPUs"
fi

# cgroups: one per backend, for its CPU time (and quota). Prints nothing when unavailable.
CGROUPS=()
declare -A CG
cgroup_make() { # NAME: makes the backend's cgroup, sets CG[NAME] to its directories (or "")
    CG[$1]=""
    local name="rsgi-bench-$1-$$" dirs=() d
    if [ -d /sys/fs/cgroup/cpuacct ] && [ -d /sys/fs/cgroup/cpu ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
        for d in /sys/fs/cgroup/cpu/$name /sys/fs/cgroup/cpuacct/$name; do
            mkdir "$d" 2>/dev/null || return 0
            dirs+=("$d")
        done
    elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        d=/sys/fs/cgroup/$name
        mkdir "$d" 2>/dev/null || return 0
        dirs+=("$d")
    fi
    CGROUPS+=("${dirs[@]}")
    CG[$1]="${dirs[*]}"
}
cgroup_quota() { # QUOTA DIRS...: caps the cgroup at QUOTA CPUs (none: no cap)
    local quota="$1" d
    shift
    for d in "$@"; do
        if [ -f "$d/cpu.cfs_quota_us" ]; then
            echo 100000 >"$d/cpu.cfs_period_us"
            if [ "$quota" = none ]; then echo -1; else awk -v q="$quota" 'BEGIN {printf "%d\n", q * 100000}'; fi >"$d/cpu.cfs_quota_us"
        elif [ -f "$d/cpu.max" ]; then
            if [ "$quota" = none ]; then echo "max 100000"; else awk -v q="$quota" 'BEGIN {printf "%d 100000\n", q * 100000}'; fi >"$d/cpu.max"
        fi
    done
}
cgroup_enter() { # DIRS...: moves this shell into them (the backend exec'd next inherits them)
    local d
    for d in "$@"; do echo "$BASHPID" >"$d/cgroup.procs"; done
}
cgroup_cpu_us() { # DIRS... -> CPU microseconds used so far
    local d
    for d in "$@"; do
        if [ -f "$d/cpuacct.usage" ]; then echo $(( $(cat "$d/cpuacct.usage") / 1000 )); return; fi
        if [ -f "$d/cpu.stat" ] && grep -q '^usage_usec' "$d/cpu.stat"; then
            awk '$1 == "usage_usec" {print $2}' "$d/cpu.stat"; return
        fi
    done
    echo 0
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsgi-bench-nginx.XXXXXX")"
mkdir -p "$LOGS"
PIDS=()
FLOOR_PID=
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
    done
    # The floor has no signal handlers, and a background job of a script ignores SIGINT.
    [ -z "$FLOOR_PID" ] || kill -TERM "$FLOOR_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    # A backend's workers may outlive its main process by a moment; a cgroup with a
    # process left in it cannot be removed yet.
    local d i
    for d in "${CGROUPS[@]}"; do
        for i in $(seq 1 50); do
            rmdir "$d" 2>/dev/null && break
            sleep 0.1
        done
    done
}
trap cleanup EXIT

# Backend addresses: TCP on loopback, or Unix sockets with BACKEND_SOCKET=unix.
if [ "${BACKEND_SOCKET:-tcp}" = unix ]; then
    RSGI_ADDR="$WORK/rsgi.sock" UWSGI_ADDR="$WORK/uwsgi.sock" FLOOR_ADDR="$WORK/floor.sock"
    RSGI_PASS="unix:$RSGI_ADDR" UWSGI_PASS="unix:$UWSGI_ADDR" FLOOR_PASS="unix:$FLOOR_ADDR"
else
    RSGI_ADDR="127.0.0.1:$(free_port)" UWSGI_ADDR="127.0.0.1:$(free_port)" FLOOR_ADDR="127.0.0.1:$(free_port)"
    RSGI_PASS="$RSGI_ADDR" UWSGI_PASS="$UWSGI_ADDR" FLOOR_PASS="$FLOOR_ADDR"
fi
declare -A FRONT
FRONT[rsgi]="$(free_port)" FRONT[uwsgi]="$(free_port)" FRONT[floor]="$(free_port)"

cgroup_make rsgi
read -r -a cg <<<"${CG[rsgi]}"
(cd "$APPS" && cgroup_enter "${cg[@]}" && exec "${BACKEND_CPU[@]}" "$RSGI" --plugin python \
    --socket "$RSGI_ADDR" --module hello --processes "$WORKERS" --log-level warn) \
    >"$LOGS/nginx-rsgi.log" 2>&1 &
PIDS+=($!)
# uWSGI 2.0 reloads on SIGTERM; cleanup() stops everything with SIGINT.
cgroup_make uwsgi
read -r -a cg <<<"${CG[uwsgi]}"
(cgroup_enter "${cg[@]}" && exec "${BACKEND_CPU[@]}" "$UWSGI" --socket "$UWSGI_ADDR" \
    --wsgi-file "$APPS/hello.py" --processes "$WORKERS" --master --disable-logging) \
    >"$LOGS/nginx-uwsgi.log" 2>&1 &
PIDS+=($!)
if [ "${FLOOR:-1}" != 0 ]; then
    cgroup_make floor
    read -r -a cg <<<"${CG[floor]}"
    (cgroup_enter "${cg[@]}" && exec "${BACKEND_CPU[@]}" "$FLOOR_BIN" "$FLOOR_ADDR") \
        >"$LOGS/nginx-floor.log" 2>&1 &
    FLOOR_PID=$!
    PIDS+=($!)
fi
SETUPS=("$QUOTA")
[ "$QUOTA" = none ] || SETUPS+=(none)
if [ -z "${CG[rsgi]}" ] || [ -z "${CG[uwsgi]}" ] || [ -z "${CG[floor]-x}" ]; then
    log "no writable cgroups: only the nginx-bound setup, without backend CPU per request"
    SETUPS=(none)
fi

cp /etc/nginx/uwsgi_params "$WORK/uwsgi_params"
cat >"$WORK/nginx.conf" <<EOF
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/client_body;
    proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;
    server {
        listen 127.0.0.1:${FRONT[rsgi]};
        location / { include uwsgi_params; uwsgi_pass $RSGI_PASS; }
    }
    server {
        listen 127.0.0.1:${FRONT[uwsgi]};
        location / { include uwsgi_params; uwsgi_pass $UWSGI_PASS; }
    }
    server {
        listen 127.0.0.1:${FRONT[floor]};
        location / { include uwsgi_params; uwsgi_pass $FLOOR_PASS; }
    }
}
EOF
"${FRONT_CPU[@]}" "$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" -g 'daemon off;' &
PIDS+=($!)

wait_ready() { # PORT NAME
    local i
    for i in $(seq 1 200); do
        if [ "$(curl -s --max-time 2 "http://127.0.0.1:$1/" || true)" = "Hello, World!" ]; then
            return 0
        fi
        sleep 0.1
    done
    die "$2 behind nginx never answered 'Hello, World!' (logs: $LOGS/nginx-*.log, $WORK/error.log)"
}
for name in "${BACKENDS[@]}"; do wait_ready "${FRONT[$name]}" "$name"; done

# wrk PORT SECONDS NAME -> "rps p99_ms errors backend_cpu_us_per_request"
measure() {
    local out rps p99 unit errors cpu0 cpu1 requests per_request=0 cg
    read -r -a cg <<<"${CG[$3]}"
    cpu0="$(cgroup_cpu_us "${cg[@]}")"
    out="$("${FRONT_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"$2s" --latency "http://127.0.0.1:$1/")"
    cpu1="$(cgroup_cpu_us "${cg[@]}")"
    requests="$(awk '/requests in/ {print $1}' <<<"$out")"
    [ "${requests:-0}" -gt 0 ] && per_request="$(awk -v c=$(( cpu1 - cpu0 )) -v n="$requests" 'BEGIN {printf "%.1f", c / n}')"
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    read -r p99 unit < <(awk '$1 == "99%" {v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u); print v, u}' <<<"$out")
    case "$unit" in
        us) p99="$(awk -v v="$p99" 'BEGIN {printf "%.3f", v / 1000}')" ;;
        s) p99="$(awk -v v="$p99" 'BEGIN {printf "%.3f", v * 1000}')" ;;
    esac
    errors="$(awk '/Socket errors:/ {gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) n += $i} /Non-2xx/ {n += $NF} END {print n + 0}' <<<"$out")"
    echo "$rps $p99 $errors $per_request"
}

declare -A RPS P99 ERR CPU
LOAD="$(cut -d' ' -f1 /proc/loadavg)"
log "$WORKERS worker(s) each, $RUNS runs per setup, wrk -t1 -c$CONNECTIONS -d${DURATION}s (+${WARMUP}s warm-up), load $LOAD"
for setup in "${SETUPS[@]}"; do
    for name in "${BACKENDS[@]}"; do
        read -r -a cg <<<"${CG[$name]}"
        [ "${#cg[@]}" -eq 0 ] || cgroup_quota "$setup" "${cg[@]}"
    done
    for run in $(seq 1 "$RUNS"); do
        for name in "${BACKENDS[@]}"; do
            port="${FRONT[$name]}"
            [ "$WARMUP" = 0 ] || measure "$port" "$WARMUP" "$name" >/dev/null
            read -r rps p99 errors cpu < <(measure "$port" "$DURATION" "$name")
            key="$setup/$name"
            RPS[$key]+="$rps " P99[$key]+="$p99 " CPU[$key]+="$cpu " ERR[$key]=$(( ${ERR[$key]:-0} + errors ))
            log "quota $setup, $name run $run: $rps rps, p99 $p99 ms, $errors errors, backend $cpu us CPU/request"
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "nginx -> uwsgi protocol, hello world, $WORKERS worker process(es) x 1 thread per backend, ${BACKEND_SOCKET:-tcp} sockets to the backends;"
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s, $RUNS interleaved runs per setup; $(nproc) CPUs, load $LOAD at start; $("$NGINX" -v 2>&1 | sed 's/.*: //'), uWSGI $("$UWSGI" --version)"
for setup in "${SETUPS[@]}"; do
    echo
    if [ "$setup" = none ]; then
        echo "Nginx-bound: no CPU quota on the backends (nginx and wrk share one CPU and limit throughput)"
    else
        echo "Backend-bound: each backend limited to $setup CPU (cgroup quota)"
    fi
    echo
    echo "| backend (behind nginx) | median rps | median p99 | backend CPU per request | runs (rps) | errors |"
    echo "|---|---:|---:|---:|---|---:|"
    for name in "${BACKENDS[@]}"; do
        key="$setup/$name"
        case "$name" in
            rsgi) label="rsgi --socket" ;;
            uwsgi) label="uWSGI --socket" ;;
            floor) label="floor: no Python, accept/read/write/close" ;;
        esac
        printf '| %s | %.0f | %.2f ms | %.1f µs | %s | %d |\n' "$label" "$(median <<<"${RPS[$key]}")" \
            "$(median <<<"${P99[$key]}")" "$(median <<<"${CPU[$key]}")" "$(tr ' ' '\n' | grep -v '^$' | xargs printf '%.0f / ' <<<"${RPS[$key]}" | sed 's| / $||')" "${ERR[$key]}"
    done
    echo
    awk -v a="$(median <<<"${RPS[$setup/rsgi]}")" -v b="$(median <<<"${RPS[$setup/uwsgi]}")" \
        'BEGIN {printf "rsgi / uWSGI: %.2fx (median rps)\n", a / b}'
    awk -v a="$(median <<<"${CPU[$setup/rsgi]}")" -v b="$(median <<<"${CPU[$setup/uwsgi]}")" \
        'BEGIN {if (a > 0) printf "uWSGI / rsgi backend CPU per request: %.2fx\n", b / a}'
    if [ "${FLOOR:-1}" != 0 ]; then
        awk -v a="$(median <<<"${RPS[$setup/floor]}")" -v b="$(median <<<"${RPS[$setup/uwsgi]}")" \
            'BEGIN {printf "floor / uWSGI: %.2fx (median rps: the most any backend could reach here)\n", a / b}'
        awk -v f="$(median <<<"${CPU[$setup/floor]}")" -v r="$(median <<<"${CPU[$setup/rsgi]}")" \
            -v u="$(median <<<"${CPU[$setup/uwsgi]}")" 'BEGIN {if (f > 0) printf "1.5x uWSGI needs <= %.1f µs per request; the floor takes %.1f µs of it, leaving %.1f µs for server and app (rsgi uses %.1f µs above the floor, uWSGI %.1f µs)\n", u / 1.5, f, u / 1.5 - f, r - f, u - f}'
    fi
done
