#!/usr/bin/env python3
"""CPU a server spends on clients that trickle their request in, one byte per TCP segment.

    python3 bench/slow_clients.py                     # rsgi, granian, uWSGI; 3 runs each
    python3 bench/slow_clients.py --servers rsgi --runs 1

Two clients, each alone against a freshly started server (one process, one thread, the
server pinned to one CPU and the client to another):

- head: a 28 KB request head (90 header lines) sent a byte at a time, a short pause
  every byte, then the response read;
- body: the same head sent at once, then a 20 KB body a byte at a time.

For each, the CPU time (user + system) the server's processes used, read from /proc
before and after: a server that parses the whole head again on every read pays for the
head's length on each of 28,000 reads. Every server serves bench/apps/read_body.py, which
reads the body before answering. uWSGI gets `--buffer-size 65535` (its 4 KB default
refuses the head). The same 28,000 reads and wake-ups cost every server kernel time, so
the figures do not go to zero; their ratios say how much more one server does per read.

Uses bench/run.py's helpers and its peers' venv (build/bench-venv).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as common  # noqa: E402  (bench/run.py)

HEADER_LINES = 90
BODY_BYTES = 20_000
PAUSE_S = 0.0001

READ_BODY = common.App(
    "read_body", "read_body", "application", "/",
    "reads the body, answers its length",
    lambda body: body == b"read 0", "read 0",
)


def head(body_len: int) -> bytes:
    lines = b"".join(b"X-Pad-%02d: %s\r\n" % (i, b"p" * 300) for i in range(HEADER_LINES))
    return (b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n" % body_len
            + lines + b"\r\n")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of `pid` and its descendants."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = int(fields[11]) + int(fields[12])
    wanted, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in wanted:
                wanted.add(child)
                frontier.append(child)
    return sum(times.get(p, 0) for p in wanted) / os.sysconf("SC_CLK_TCK")


def trickle(port: int, at_once: bytes, slowly: bytes) -> tuple[int, float]:
    """Sends `at_once`, then `slowly` a byte per segment; returns (status, seconds)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(at_once)
        for i in range(len(slowly)):
            s.send(slowly[i:i + 1])
            time.sleep(PAUSE_S)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0
    return status, time.monotonic() - started


def measure(server: common.Server, case: str, args: argparse.Namespace) -> float:
    port = common.free_port()
    command = server.command(port)
    if server.name == "uwsgi":
        command += ["--buffer-size", "65535"]
    common.LOGS.mkdir(parents=True, exist_ok=True)
    log_path = common.LOGS / f"slow-{case}-{server.name}.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(common.pinned(args.server_cpu, command), stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        common.wait_ready(proc, port, READ_BODY, log_path)
        time.sleep(0.5)
        before = tree_cpu(proc.pid)
        if case == "head":
            status, seconds = trickle(port, b"", head(0))
        else:
            status, seconds = trickle(port, head(BODY_BYTES), b"b" * BODY_BYTES)
        used = tree_cpu(proc.pid) - before
    finally:
        common.stop(proc, server.stop_signal)
    if status != 200:
        raise common.StartFailed(f"answered {status} to the {case} client (log: {log_path})")
    common.log(f"{server.name} {case}: {used:.2f} s CPU over {seconds:.1f} s")
    return used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="rsgi,granian,uwsgi")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rsgi", type=Path, default=common.ROOT / "target" / "release" / "rsgi")
    parser.add_argument("--server-cpu", default="0")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        args.server_cpu = None
    else:
        os.sched_setaffinity(0, {1})
    common.ensure_bench_venv()
    known = {s.name: s for s in common.server_table(args.rsgi, READ_BODY)}
    servers = [known[name.strip()] for name in args.servers.split(",") if name.strip()]
    cases = ["head", "body"]
    results: dict[tuple[str, str], list[float]] = {}
    skipped: dict[str, str] = {}
    for _ in range(args.runs):
        for server in servers:
            for case in cases:
                if server.name in skipped:
                    continue
                try:
                    results.setdefault((server.name, case), []).append(
                        measure(server, case, args))
                except common.StartFailed as err:
                    skipped[server.name] = str(err)
                    common.log(f"{server.name}: skipped: {err}")
    print(f"Slow clients, one byte per segment: a {len(head(0)):,}-byte head; the same head "
          f"then a {BODY_BYTES:,}-byte body. Server CPU time (user + system), median of "
          f"{args.runs} run(s); load {common.load_average():.2f}; {common.versions()}")
    print()
    print("| server | head trickled | body trickled | runs (head / body) |")
    print("|---|---:|---:|---|")
    for server in servers:
        if server.name in skipped:
            print(f"| {server.label} | skipped | skipped | {skipped[server.name]} |")
            continue
        head_runs, body_runs = results[(server.name, "head")], results[(server.name, "body")]
        runs = " / ".join(f"{h:.2f}, {b:.2f}" for h, b in zip(head_runs, body_runs))
        print(f"| {server.label} | {statistics.median(head_runs):.2f} s "
              f"| {statistics.median(body_runs):.2f} s | {runs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
