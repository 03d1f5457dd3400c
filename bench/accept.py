#!/usr/bin/env python3
"""Accept strategies side by side: 4 rsgi workers on 2 CPUs, one new connection per request.

    cargo build --release && python3 bench/accept.py
    python3 bench/accept.py --runs 5 --duration 10 --connections 64 --keepalive

For each strategy (default EPOLLEXCLUSIVE wake-ups, --thunder-lock, --reuse-port) and
each run, rsgi is started afresh with 4 worker processes pinned to CPUs 0-1 (taskset), the
hello app from bench/apps and a stats socket. wrk sends `Connection: close` requests (every
request is a new connection, so every request goes through accept) for a warm-up, then
for the measured run. Printed per strategy: median requests/s, median p99 latency, and
the workers' voluntary context switches per request (from /proc/<pid>/task/*/status,
summed over the workers, divided by the requests the workers counted in the stats
document over the same window) — the figure that shows how many workers a connection
wakes. Runs are interleaved across strategies so noise spreads over all of them.

Only the standard library is used. Needs wrk (scripts/setup.sh) and taskset.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "build" / "bench-logs"
STRATEGIES = {
    "exclusive (default)": [],
    "--thunder-lock": ["--thunder-lock"],
    "--reuse-port": ["--reuse-port"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats(port: int) -> dict:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return json.loads(data)


def switches(pid: int) -> tuple[int, int]:
    """(voluntary, involuntary) context switches of every thread of `pid`."""
    vol = invol = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "status").read_text()
        vol += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1))
        invol += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1))
    return vol, invol


def wrk(args, port: int, duration: int, keepalive: bool) -> dict:
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{duration}s", "--latency"]
    if not keepalive:
        cmd += ["-H", "Connection: close"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}/"], capture_output=True,
                         text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale,
        "errors": (errors.group(1) if errors else "") + (f" non-2xx {non2xx.group(1)}" if non2xx else ""),
    }


def one_run(args, name: str, flags: list[str], run: int) -> dict:
    port, stats_port = free_port(), free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"accept-{name.split()[0].strip('-')}-{run}.log", "w")
    cmd = ["taskset", "-c", "0,1", str(args.rsgi), "--plugin", "python",
           "--http", f"127.0.0.1:{port}", "--module", "hello",
           "--pythonpath", str(ROOT / "bench" / "apps"), "--processes", "4",
           "--stats", f"127.0.0.1:{stats_port}", "--log-level", "warn"] + flags
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                              env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    try:
        deadline = time.time() + 30
        while True:
            try:
                doc = stats(stats_port)
                pids = [w["pid"] for w in doc["workers"]]
                if all(w["status"] == "idle" for w in doc["workers"]) and all(pids):
                    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                    if body == b"Hello, World!":
                        break
            except (OSError, ValueError):
                pass
            if time.time() > deadline:
                raise SystemExit(f"rsgi did not start; see {log.name}")
            time.sleep(0.1)
        wrk(args, port, args.warmup, args.keepalive)
        before = stats(stats_port)
        pids = [w["pid"] for w in before["workers"]]
        sw_before = [switches(p) for p in pids]
        result = wrk(args, port, args.duration, args.keepalive)
        sw_after = [switches(p) for p in pids]
        after = stats(stats_port)
        if [w["pid"] for w in after["workers"]] != pids:
            raise SystemExit(f"a worker was replaced during the run; see {log.name}")
        served = sum(w["requests"] for w in after["workers"]) - sum(w["requests"] for w in before["workers"])
        result["served"] = served
        result["vol_per_req"] = sum(a[0] - b[0] for a, b in zip(sw_after, sw_before)) / max(served, 1)
        result["invol_per_req"] = sum(a[1] - b[1] for a, b in zip(sw_after, sw_before)) / max(served, 1)
        result["spread"] = sorted(w["requests"] for w in after["workers"])
        return result
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rsgi", type=Path, default=ROOT / "target" / "release" / "rsgi")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds measured per run")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--keepalive", action="store_true",
                        help="keep connections alive (accept happens once per connection)")
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (scripts/setup.sh installs it)")
    if not args.rsgi.exists():
        raise SystemExit(f"{args.rsgi} is missing: cargo build --release")
    results: dict[str, list[dict]] = {name: [] for name in STRATEGIES}
    for run in range(1, args.runs + 1):
        for name, flags in STRATEGIES.items():
            r = one_run(args, name, flags, run)
            results[name].append(r)
            print(f"run {run} {name}: {r['rps']:.0f} rps, p99 {r['p99_ms']:.2f} ms, "
                  f"{r['vol_per_req']:.2f} voluntary switches/request, per worker {r['spread']}",
                  file=sys.stderr)
    mode = "keep-alive" if args.keepalive else "a new connection per request"
    print(f"\n4 workers on CPUs 0-1, wrk -c{args.connections} ({mode}), "
          f"{args.runs} runs of {args.duration} s, {os.cpu_count()} CPUs on the machine\n")
    print("| strategy | median rps | median p99 | voluntary ctx switches / request "
          "| involuntary / request | runs (rps) | errors |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name, runs in results.items():
        print(f"| {name} | {statistics.median(r['rps'] for r in runs):.0f} "
              f"| {statistics.median(r['p99_ms'] for r in runs):.2f} ms "
              f"| {statistics.median(r['vol_per_req'] for r in runs):.2f} "
              f"| {statistics.median(r['invol_per_req'] for r in runs):.2f} "
              f"| {', '.join('%.0f' % r['rps'] for r in runs)} "
              f"| {'; '.join(r['errors'] for r in runs if r['errors']) or 'none'} |")


if __name__ == "__main__":
    main()
