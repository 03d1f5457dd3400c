#!/usr/bin/env python3
"""Operator-facing costs, rsgi next to uWSGI, measured in one run:

  memory  PSS per worker of the Django example project, 4 workers, preforking vs
          --lazy-apps (what copy-on-write sharing saves, and what lazy-apps costs), and
          rsgi with --gc-freeze (the app frozen before the fork), after --requests requests
  reload  the pause a graceful reload (SIGHUP) causes under load: the longest request
          and the number of failed requests while 3 reloads happen

    cargo build --release && python3 bench/run.py --servers uwsgi --runs 1 --duration 1  # makes build/bench-venv
    python3 bench/lifecycle.py [--only memory|reload]

PSS (proportional set size, /proc/PID/smaps_rollup) splits shared pages between the
processes sharing them, so the sum over processes is the real memory use.
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DJANGO = os.path.join(ROOT, "examples", "django_project")
VENV = os.path.join(ROOT, "build", "venv")
UWSGI = os.path.join(ROOT, "build", "bench-venv", "bin", "uwsgi")
RSGI = os.path.join(ROOT, "target", "release", "rsgi")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path="/", timeout=10.0):
    """One request on a fresh connection; returns the status (0 on failure)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path.encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except (OSError, ValueError, IndexError):
        return 0


def start(server, port, workers, lazy, app="django", extra=()):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if app == "django":
        module, path = "mysite.wsgi", DJANGO
    else:
        module, path = "hello", os.path.join(ROOT, "bench", "apps")
    if server == "rsgi":
        cmd = [RSGI, "--plugin", "python", "--http", "127.0.0.1:%d" % port, "--module", module,
               "--pythonpath", path, "--virtualenv", VENV, "--processes", str(workers),
               "--log-level", "warn"]
        if lazy:
            cmd.append("--lazy-apps")
        cmd.extend(extra)
    else:
        cmd = [UWSGI, "--http-socket", "127.0.0.1:%d" % port, "--module", module, "--pythonpath", path,
               "--virtualenv", VENV, "--processes", str(workers), "--master", "--disable-logging",
               "--die-on-term"]
        if lazy:
            cmd.append("--lazy-apps")
    proc = subprocess.Popen(cmd, cwd=path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        if get(port) == 200:
            return proc
        time.sleep(0.1)
    stop(proc)
    raise SystemExit("%s did not start" % server)


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def memory(args):
    print("## Memory: Django example, %d workers, PSS after %d requests\n" % (args.workers, args.requests))
    print("| server | mode | PSS per worker (median) | master | total |")
    print("|---|---|---:|---:|---:|")
    runs = [("rsgi", (), ""), ("rsgi", ("--gc-freeze",), " --gc-freeze"), ("uwsgi", (), "")]
    for server, extra, label in runs:
        for lazy in (False, True):
            port = free_port()
            proc = start(server, port, args.workers, lazy, extra=extra)
            for _ in range(args.requests):
                get(port)
            time.sleep(0.5)
            workers = children(proc.pid)
            per = [pss_kib(p) for p in workers]
            master = pss_kib(proc.pid)
            stop(proc)
            print("| %s | %s | %.1f MiB | %.1f MiB | %.1f MiB |" % (
                server, ("lazy-apps" if lazy else "preforking") + label, statistics.median(per) / 1024,
                master / 1024, (master + sum(per)) / 1024))
    print()


def reload_pause(args):
    print("## Graceful reload under load: %d client threads, %d reloads (SIGHUP) 1.5 s apart\n"
          % (args.clients, args.reloads))
    print("| server | requests | failed | longest request | median request |")
    print("|---|---:|---:|---:|---:|")
    for server in ("rsgi", "uwsgi"):
        port = free_port()
        proc = start(server, port, 2, False, app="hello")
        stop_flag = threading.Event()
        lat, failed = [], [0]
        lock = threading.Lock()

        def client():
            while not stop_flag.is_set():
                t = time.perf_counter()
                status = get(port, timeout=30)
                d = time.perf_counter() - t
                with lock:
                    lat.append(d)
                    if status != 200:
                        failed[0] += 1

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(1)
        for _ in range(args.reloads):
            os.kill(proc.pid, signal.SIGHUP)
            time.sleep(1.5)
        stop_flag.set()
        for t in threads:
            t.join()
        stop(proc)
        print("| %s | %d | %d | %.0f ms | %.2f ms |" % (
            server, len(lat), failed[0], max(lat) * 1000, statistics.median(lat) * 1000))
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["memory", "reload"])
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--reloads", type=int, default=3)
    args = p.parse_args()
    for path in (RSGI, UWSGI, os.path.join(VENV, "bin", "python")):
        if not os.path.exists(path):
            raise SystemExit("%s is missing (see the usage at the top of this file)" % path)
    print("load average at start: %.2f\n" % os.getloadavg()[0])
    if args.only in (None, "memory"):
        memory(args)
    if args.only in (None, "reload"):
        reload_pause(args)


if __name__ == "__main__":
    sys.exit(main())
