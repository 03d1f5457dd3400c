#!/usr/bin/env python3
"""WebSocket echo throughput and memory per idle connection of rsgi and its peers.

    python3 bench/ws_run.py                        # all servers, 64 B and 16 KiB, 3 runs
    python3 bench/ws_run.py --servers rsgi,granian --sizes 64 --runs 5
    python3 bench/ws_run.py --idle 1000,5000 --no-echo      # only the memory table
    python3 bench/ws_run.py --rsgi OTHER/target/release/rsgi --output build/ws.md

Every server serves the same raw ASGI echo app (bench/apps/ws_echo.py) with one worker
process and one event loop, pinned to one CPU; the load generator (bench/wsload, built
here with cargo on first use) is pinned to another. Two measurements:

- echo: wsload keeps N connections (50) in a closed loop, each sending one masked text
  message of S bytes and waiting for its echo before the next, as wrk does with requests;
  messages per second and latency percentiles over D seconds after a warm-up. Runs are
  interleaved (each server's run 1 for each size, then run 2, ...), each on a fresh
  server, and the table gives medians.
- idle memory: on a fresh server, after a short echo warm-up, the PSS of all the server's
  processes (from /proc/PID/smaps_rollup) is read, K WebSockets are opened and left idle
  (the app waits in receive()), and it is read again: (after - before) / K. Then more are
  opened up to the next K. One pass per server: memory does not have the noise of timing.

See bench/README.md for how to read it. Only the standard library is used; the peers
live in build/bench-venv, which bench/run.py's code creates from bench/requirements.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as http_bench  # noqa: E402  (bench/run.py: the venv, ports, pinning, stopping)

ROOT = http_bench.ROOT
APPS = http_bench.APPS
VENV = http_bench.VENV
LOGS = http_bench.LOGS
WSLOAD_DIR = ROOT / "bench" / "wsload"
WSLOAD = WSLOAD_DIR / "target" / "release" / "wsload"
MODULE, CALLABLE, WS_PATH = "ws_echo", "app", "/ws"
# The http scope of the same app is what tells that a server is up.
READY_APP = http_bench.App(
    "ws_echo", MODULE, CALLABLE, "/", "WebSocket echo (raw ASGI 3)",
    lambda body: body == b"Hello, World!", "Hello, World!", needs_venv=True, kind="asgi")

DEFAULT_SERVERS = "rsgi,granian,uvicorn,uvicorn-sansio,uvicorn-wsproto,null"
# The servers the ratio columns divide by (name, column title).
COMPARED = [("granian", "granian"), ("uvicorn", "uvicorn (websockets)"),
            ("uvicorn-wsproto", "uvicorn (wsproto)")]
VERSIONS = [("granian", "granian"), ("uvicorn", "uvicorn"), ("uvloop", "uvloop"),
            ("httptools", "httptools"), ("websockets", "websockets"), ("wsproto", "wsproto")]


def log(message: str) -> None:
    print(f"ws-bench: {message}", file=sys.stderr, flush=True)


# --- servers -------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    label: str
    command: Callable[[int], list[str]]
    note: str = ""


def server_table(rsgi_bin: Path, wsload: Path) -> list[Server]:
    venv_bin = VENV / "bin"
    target = f"{MODULE}:{CALLABLE}"

    def rsgi(*extra: str) -> Callable[[int], list[str]]:
        return lambda port: [
            str(rsgi_bin), "--plugin", "python", "--http", f"127.0.0.1:{port}",
            "--asgi", target, "--pythonpath", str(APPS), "--processes", "1",
            "--virtualenv", str(VENV), *extra,
        ]

    def uvicorn(ws: str) -> Callable[[int], list[str]]:
        return lambda port: [
            str(venv_bin / "uvicorn"), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--ws", ws,
            "--no-access-log", "--log-level", "warning", "--app-dir", str(APPS), target,
        ]

    return [
        Server("rsgi", "rsgi", rsgi(),
               note="--asgi-loop auto, which is uvloop (installed in the bench venv)"),
        Server("rsgi-asyncio", "rsgi --asgi-loop asyncio", rsgi("--asgi-loop", "asyncio"),
               note="the standard library's asyncio loop instead of uvloop"),
        Server(
            "granian", "granian (asgi)",
            lambda port: [
                str(venv_bin / "granian"), "--interface", "asgi", "--http", "1", "--ws",
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                "--runtime-threads", "1", "--no-access-log", "--log-level", "warning",
                # Its default --backpressure (the backlog, 1024) caps the connections a
                # worker holds at once: raised so that the idle test's 5,000 get in.
                "--backlog", "8192", "--backpressure", "8192",
                "--working-dir", str(APPS), target,
            ],
            note="default --loop auto: uvloop in the bench venv (no rloop); --backpressure "
                 "8192 (default 1024) so that it takes the idle test's connections",
        ),
        Server("uvicorn", "uvicorn --ws websockets", uvicorn("websockets"),
               note="uvloop, httptools; websockets' legacy server (deprecated in uvicorn 0.55, "
                    "which warns that --ws websockets will mean websockets-sansio)"),
        Server("uvicorn-wsproto", "uvicorn --ws wsproto", uvicorn("wsproto"),
               note="uvloop, httptools"),
        Server("uvicorn-sansio", "uvicorn --ws websockets-sansio",
               uvicorn("websockets-sansio"),
               note="uvloop, httptools; websockets' Sans-I/O core, what uvicorn 0.55's "
                    "--ws auto picks"),
        # Not a peer: the ceiling of this setup (the generator and the kernel's loopback).
        Server("null", "wsload serve (no Python)",
               lambda port: [str(wsload), "serve", f"127.0.0.1:{port}"],
               note="a WebSocket echo in Rust on one thread (bench/wsload), no app: the "
                    "ceiling of the load generator and the loopback on this machine"),
    ]


# --- measuring -----------------------------------------------------------------------


@dataclass
class EchoRun:
    rate: float
    p50_us: float
    p99_us: float
    errors: int
    client_cpu: float


@dataclass
class Outcome:
    runs: dict[int, list[EchoRun]] = field(default_factory=dict)  # by message size
    skipped: str = ""
    memory: dict[int, tuple[float, float]] = field(default_factory=dict)  # K -> (PSS, RSS)/conn
    memory_before: tuple[int, int] | None = None  # (PSS, RSS) bytes
    memory_note: str = ""


def start_server(server: Server, args: argparse.Namespace, tag: str):
    port = http_bench.free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"ws-{server.name}-{tag}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            http_bench.pinned(args.server_cpu, server.command(port)), cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        http_bench.wait_ready(proc, port, READY_APP, log_path)
    except BaseException:
        http_bench.stop(proc, signal.SIGINT)
        raise
    return proc, port, log_path


def wsload_echo(port: int, size: int, seconds: float, warmup: float, connections: int,
                args: argparse.Namespace) -> EchoRun:
    command = http_bench.pinned(args.load_cpu, [
        str(args.wsload), "echo", f"ws://127.0.0.1:{port}{WS_PATH}", "-c", str(connections),
        "-s", str(size), "-d", f"{seconds:g}", "-w", f"{warmup:g}", "--json",
        *(["--binary"] if args.binary else []),
    ])
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=seconds + warmup + 120)
    if result.returncode != 0:
        raise http_bench.StartFailed(f"wsload failed: {result.stderr.strip()[-400:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if result.stderr.strip():
        log(f"wsload: {result.stderr.strip()[-300:]}")
    return EchoRun(out["messages_per_sec"], out["p50_us"], out["p99_us"],
                   out["mismatches"] + out["dead_connections"], out["client_cpu_pct"])


def measure_echo(server: Server, size: int, run_no: int, args: argparse.Namespace) -> EchoRun:
    proc, port, log_path = start_server(server, args, f"echo-{size}-{run_no}")
    try:
        run = wsload_echo(port, size, args.duration, args.warmup, args.connections, args)
        if proc.poll() is not None:
            raise http_bench.StartFailed(
                f"died during the run with {proc.returncode} (log: {log_path})")
        return run
    finally:
        http_bench.stop(proc, signal.SIGINT)


def session_memory(sid: int) -> tuple[int, int]:
    """PSS and RSS in bytes, summed over every process of the session `sid` (the server
    was started in a session of its own: its master, workers and any helpers)."""
    pss = rss = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the command name (which may hold spaces): state ppid pgrp session
            if int(stat.rsplit(")", 1)[1].split()[3]) != sid:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return pss, rss


def measure_idle(server: Server, outcome: Outcome, args: argparse.Namespace) -> None:
    """Memory per idle WebSocket at each of args.idle (ascending totals), one server."""
    proc, port, log_path = start_server(server, args, "idle")
    holders: list[subprocess.Popen] = []
    try:
        # Warm the paths a first WebSocket takes (imports, buffers, the loop's caches) so
        # that they are in the "before" figure rather than spread over the idle ones.
        wsload_echo(port, 64, 1.0, 0.0, 10, args)
        time.sleep(args.settle)
        before = session_memory(proc.pid)
        outcome.memory_before = before
        opened = 0
        for total in args.idle:
            count = total - opened
            holder_log = LOGS / f"ws-{server.name}-idle-wsload-{total}.log"
            with open(holder_log, "w") as err_file:
                holder = subprocess.Popen(
                    http_bench.pinned(args.load_cpu, [
                        str(args.wsload), "idle", f"ws://127.0.0.1:{port}{WS_PATH}",
                        "-c", str(count),
                    ]),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err_file, text=True,
                )
            holders.append(holder)
            line = holder.stdout.readline()
            if not line.startswith("open"):
                holder.wait(timeout=60)
                err = holder_log.read_text().strip()
                raise http_bench.StartFailed(
                    f"opening {count} more idle connections (after {opened}) failed: "
                    f"{err[-300:] or line.strip()} (log: {log_path})")
            opened = total
            time.sleep(args.settle)
            if proc.poll() is not None:
                raise http_bench.StartFailed(f"died holding {opened} idle connections")
            pss, rss = session_memory(proc.pid)
            outcome.memory[total] = ((pss - before[0]) / total, (rss - before[1]) / total)
            log(f"{server.name}: {total} idle: PSS +{(pss - before[0]) / 2**20:.1f} MiB, "
                f"{outcome.memory[total][0] / 1024:.1f} KiB/connection")
        for holder in holders:
            holder.stdin.close()
        lost = 0
        for holder in holders:
            out = holder.stdout.read()
            holder.wait(timeout=60)
            found = re.search(r"\((\d+) lost while idle\)", out)
            lost += int(found.group(1)) if found else 0
        if lost:
            outcome.memory_note = f"{lost} idle connections were dropped by the server"
    except http_bench.StartFailed as err:
        outcome.memory_note = str(err)
        log(f"{server.name} idle: {err}")
    finally:
        for holder in holders:
            if holder.poll() is None:
                holder.kill()
                holder.wait()
        http_bench.stop(proc, signal.SIGINT)


# --- tables --------------------------------------------------------------------------


def fmt_size(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


def median_rate(outcome: Outcome | None, size: int) -> float | None:
    runs = outcome.runs.get(size) if outcome else None
    return statistics.median(r.rate for r in runs) if runs else None


def ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value and base else "n/a"


def echo_table(servers: list[Server], outcomes: dict[str, Outcome], size: int) -> str:
    lines = [
        "| server | median msgs/s | median p50 | median p99 | "
        + " | ".join(f"vs {title}" for _, title in COMPARED)
        + " | runs (msgs/s) | client CPU | errors |",
        "|---|---:|---:|---:|" + "---:|" * len(COMPARED) + "---|---:|---:|",
    ]
    bases = {name: median_rate(outcomes.get(name), size) for name, _ in COMPARED}
    for server in servers:
        outcome = outcomes[server.name]
        runs = outcome.runs.get(size, [])
        if not runs:
            lines.append(f"| {server.label} | skipped |" + " |" * (6 + len(COMPARED)))
            continue
        rate = median_rate(outcome, size)
        p50 = statistics.median(r.p50_us for r in runs) / 1000
        p99 = statistics.median(r.p99_us for r in runs) / 1000
        cpu = statistics.median(r.client_cpu for r in runs)
        lines.append(
            f"| {server.label} | {rate:,.0f} | {p50:.2f} ms | {p99:.2f} ms | "
            + " | ".join(ratio(rate, bases[name]) for name, _ in COMPARED)
            + f" | {' / '.join(f'{r.rate:.0f}' for r in runs)} | {cpu:.0f}% "
            f"| {sum(r.errors for r in runs)} |"
        )
    return "\n".join(lines)


def memory_table(servers: list[Server], outcomes: dict[str, Outcome], idle: list[int]) -> str:
    lines = [
        "| server | PSS before | "
        + " | ".join(f"PSS per idle WebSocket, {k:,} open" for k in idle)
        + f" | RSS per idle WebSocket, {idle[-1]:,} open |",
        "|---|---:|" + "---:|" * (len(idle) + 1),
    ]
    for server in servers:
        outcome = outcomes[server.name]
        if outcome.memory_before is None:
            lines.append(f"| {server.label} | skipped |" + " |" * (len(idle) + 1))
            continue
        cells = [f"{outcome.memory[k][0] / 1024:.1f} KiB" if k in outcome.memory else "n/a"
                 for k in idle]
        last = outcome.memory.get(idle[-1])
        lines.append(
            f"| {server.label} | {outcome.memory_before[0] / 2**20:.1f} MiB | "
            + " | ".join(cells)
            + f" | {f'{last[1] / 1024:.1f} KiB' if last else 'n/a'} |"
        )
    return "\n".join(lines)


def header(args: argparse.Namespace, load: float) -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pinning = (f"server on CPU {args.server_cpu}, wsload on CPU {args.load_cpu}"
               if args.server_cpu is not None else "no CPU pinning")
    kind = "binary" if args.binary else "text"
    echo = ("" if args.no_echo else
            f"wsload echo -c{args.connections} ({kind} messages of "
            f"{', '.join(fmt_size(s) for s in args.sizes)}, closed loop), {args.duration:g} s "
            f"measured after {args.warmup:g} s warm-up, {args.runs} interleaved runs; ")
    idle = ("" if args.no_idle or not args.idle else
            f"memory with {', '.join(f'{k:,}' for k in args.idle)} idle WebSockets; ")
    text = (
        f"WebSocket echo (raw ASGI 3, bench/apps/ws_echo.py), 1 process x 1 event loop per "
        f"server; {echo}{idle}{pinning}\n"
        f"{model}, {os.cpu_count()} CPUs, load average {load:.2f} at start, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}\n"
        + http_bench.versions(names=VERSIONS)
    )
    if load > 1.0:
        text += (f"\nwarning: load average {load:.2f} at start: something else is using the "
                 "CPUs; trust the ratios more than the absolute figures")
    return text


# --- main ----------------------------------------------------------------------------


def parse_size(text: str) -> int:
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    return int(text[:-1]) * 1024 if text.endswith("k") else int(text)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default=DEFAULT_SERVERS,
                        help="comma-separated, from rsgi, rsgi-asyncio, granian, uvicorn, "
                             "uvicorn-sansio, uvicorn-wsproto, null (default: %(default)s)")
    parser.add_argument("--sizes", default="64,16k", help="message sizes (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--binary", action="store_true", help="binary messages, not text")
    parser.add_argument("--idle", default="1000,5000",
                        help="idle connection counts for the memory table (default: %(default)s)")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds to wait before reading memory (default: %(default)s)")
    parser.add_argument("--no-echo", action="store_true", help="only the memory table")
    parser.add_argument("--no-idle", action="store_true", help="only the echo tables")
    parser.add_argument("--rsgi", type=Path, default=ROOT / "target" / "release" / "rsgi",
                        help="the rsgi binary (its plugins are found next to it)")
    parser.add_argument("--wsload", type=Path, default=WSLOAD,
                        help="the load generator (default: built from bench/wsload)")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--load-cpu", default="1")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--output", type=Path, help="also write the tables to this file")
    args = parser.parse_args()
    args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    args.idle = sorted(int(k) for k in args.idle.split(",") if k.strip())
    if args.no_pin or shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        if not args.no_pin:
            log("not pinning: needs taskset and at least 2 CPUs")
        args.server_cpu = args.load_cpu = None
    return args


def build_wsload(args: argparse.Namespace) -> bool:
    if args.wsload != WSLOAD:
        return args.wsload.exists()
    if shutil.which("cargo") is None:
        return WSLOAD.exists()
    log("cargo build --release (bench/wsload)")
    result = subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--manifest-path",
         str(WSLOAD_DIR / "Cargo.toml"), "--target-dir", str(WSLOAD_DIR / "target")],
        cwd=WSLOAD_DIR)
    return result.returncode == 0 and WSLOAD.exists()


def main() -> int:
    args = parse_args()
    if not build_wsload(args):
        log(f"no load generator at {args.wsload} (cargo build in bench/wsload)")
        return 1
    table_of_all = {s.name: s for s in server_table(args.rsgi, args.wsload)}
    wanted = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in table_of_all]
    if unknown:
        log(f"unknown server(s): {', '.join(unknown)}; known: {', '.join(table_of_all)}")
        return 2
    http_bench.ensure_bench_venv()
    servers = [table_of_all[n] for n in wanted]
    outcomes = {s.name: Outcome() for s in servers}
    for server in servers:
        binary = Path(server.command(0)[0])
        if not binary.exists():
            outcomes[server.name].skipped = f"{binary} does not exist"

    # Thousands of sockets for the idle test: the servers inherit this limit.
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = max(args.idle, default=0) + 1024
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    except (ImportError, ValueError, OSError):
        pass

    load = http_bench.load_average()
    head = header(args, load)
    log(head.replace("\n", "\nws-bench: "))
    if not args.no_echo:
        for run_no in range(1, args.runs + 1):
            for size in args.sizes:
                for server in servers:
                    outcome = outcomes[server.name]
                    if outcome.skipped and not outcome.runs:
                        continue
                    try:
                        run = measure_echo(server, size, run_no, args)
                    except http_bench.StartFailed as err:
                        outcome.skipped = f"{fmt_size(size)} run {run_no}: {err}"
                        log(f"{server.name} {fmt_size(size)} run {run_no}: failed: {err}")
                        continue
                    outcome.runs.setdefault(size, []).append(run)
                    log(f"{server.name} {fmt_size(size)} run {run_no}: {run.rate:,.0f} msgs/s, "
                        f"p99 {run.p99_us / 1000:.2f} ms, client CPU {run.client_cpu:.0f}%, "
                        f"{run.errors} errors (load {http_bench.load_average():.2f})")
    if not args.no_idle and args.idle:
        for server in servers:
            if outcomes[server.name].skipped and not any(outcomes[server.name].runs.values()):
                continue
            measure_idle(server, outcomes[server.name], args)

    parts = [head, ""]
    if not args.no_echo:
        for size in args.sizes:
            parts += [f"Echo, {fmt_size(size)} messages:", "",
                      echo_table(servers, outcomes, size), ""]
    if not args.no_idle and args.idle:
        parts += ["Memory per idle WebSocket (all the server's processes; after an echo "
                  f"warm-up, {args.settle:g} s after the last handshake):", "",
                  memory_table(servers, outcomes, args.idle), ""]
    notes = []
    for server in servers:
        outcome = outcomes[server.name]
        if outcome.skipped:
            ran = any(outcome.runs.values())
            notes.append(f"- {server.label}: {'some runs failed' if ran else 'skipped'}: "
                         f"{outcome.skipped}")
        if outcome.memory_note:
            notes.append(f"- {server.label}: idle test: {outcome.memory_note}")
        if server.note:
            notes.append(f"- {server.label}: {server.note}")
    notes.append("- client CPU: what wsload used of its own core in the measured window; near "
                 "100% would mean the load generator, not the server, was the limit")
    report = "\n".join(parts + notes) + "\n"
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
