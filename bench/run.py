#!/usr/bin/env python3
"""Throughput of rsgi and its peers, one worker each, as a markdown table.

    python3 bench/run.py                      # all servers, 3 interleaved runs of 10 s
    python3 bench/run.py --servers rsgi,granian --runs 5 --output build/bench.md
    python3 bench/run.py --app flask_json     # another app: hello, flask_json, streaming
    python3 bench/run.py --app asgi_hello     # an ASGI app (asgi_hello, fastapi_json), against
                                              # the ASGI servers: granian, uvicorn, hypercorn
    python3 bench/run.py --servers rsgi,rsgi-baseline --baseline OTHER/target/release/rsgi
                                              # this build against another (say, the
                                              # previous plugin ABI), runs interleaved

Every server serves the same app from bench/apps with one process and one thread (for an
ASGI app: one event loop), pinned to one CPU; wrk is pinned to another and keeps 50
connections alive for the whole run. Runs are interleaved (each server's run 1, then
each server's run 2, ...) and each run starts the server afresh, so a burst of noise
from the rest of the machine hits one run of several servers rather than every run of
one. See bench/README.md for how to read it.

Only the standard library is used; the peers live in build/bench-venv, which this
script creates from bench/requirements.txt (uWSGI compiles: gcc and Python headers).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "bench" / "apps"
REQUIREMENTS = ROOT / "bench" / "requirements.txt"
VENV = ROOT / "build" / "bench-venv"
LOGS = ROOT / "build" / "bench-logs"


# --- apps ----------------------------------------------------------------------


@dataclass
class App:
    """One app every server serves: where it is, what to request, what a right answer is."""

    name: str
    module: str
    callable: str
    path: str
    description: str
    check: Callable[[bytes], bool]
    expected: str
    needs_venv: bool = False  # imports packages from build/bench-venv (Flask, FastAPI, uvloop)
    kind: str = "wsgi"  # "wsgi" or "asgi": which servers can serve it


APPS_TABLE = {
    app.name: app
    for app in [
        App("hello", "hello", "application", "/",
            "hello world (13-byte body with Content-Length)",
            lambda body: body == b"Hello, World!", "Hello, World!"),
        App("flask_json", "flask_json", "app", "/json",
            "Flask JSON endpoint (GET /json -> {\"message\": \"Hello, World!\"})",
            lambda body: body.strip().replace(b" ", b"") == b'{"message":"Hello,World!"}',
            '{"message": "Hello, World!"}', needs_venv=True),
        App("streaming", "streaming", "application", "/",
            "streamed response (a generator of 32 x 256 bytes, no Content-Length)",
            lambda body: body == (b"x" * 255 + b"\n") * 32, "32 x 256 bytes"),
        # ASGI apps. rsgi is given the bench venv for these too: its --asgi-loop auto picks
        # uvloop when the app's environment has it, as granian-uvloop and uvicorn use.
        App("asgi_hello", "asgi_hello", "application", "/",
            "raw ASGI 3 hello world (13-byte body with Content-Length)",
            lambda body: body == b"Hello, World!", "Hello, World!", needs_venv=True,
            kind="asgi"),
        App("fastapi_json", "fastapi_json", "app", "/json",
            "FastAPI JSON endpoint (GET /json -> {\"message\": \"Hello, World!\"})",
            lambda body: body.strip().replace(b" ", b"") == b'{"message":"Hello,World!"}',
            '{"message": "Hello, World!"}', needs_venv=True, kind="asgi"),
    ]
}

# The servers run when --servers is not given, by the app's kind.
DEFAULT_SERVERS = {
    "wsgi": "rsgi,granian,uwsgi,gunicorn",
    "asgi": "rsgi,rsgi-asyncio,granian,granian-uvloop,uvicorn,hypercorn",
}
# The servers each kind's ratio columns divide by (name, column title).
COMPARED = {
    "wsgi": [("granian", "granian"), ("uwsgi", "uWSGI")],
    "asgi": [("granian", "granian"), ("uvicorn", "uvicorn")],
}


# --- servers -----------------------------------------------------------------


@dataclass
class Server:
    """One server under test: how to start it on a port, and how to stop it."""

    name: str
    label: str
    command: Callable[[int], list[str]]
    stop_signal: int = signal.SIGINT
    note: str = ""
    kinds: tuple[str, ...] = ("wsgi",)  # the kinds of app it serves


def server_table(rsgi_bin: Path, app: App, baseline: Path | None = None) -> list[Server]:
    """The servers, in table order. Each gets 1 process, 1 app thread, no access log.

    Servers of both kinds are listed whatever the app; main() keeps those whose `kinds`
    has the app's kind."""
    venv_bin = VENV / "bin"
    app_file = str(APPS / f"{app.module}.py")
    target = f"{app.module}:{app.callable}"
    # rsgi and uWSGI embed Python and need the venv named; granian and gunicorn run in it.
    rsgi_venv = ["--virtualenv", str(VENV)] if app.needs_venv else []
    uwsgi_venv = ["--virtualenv", str(VENV)] if app.needs_venv else []

    def addr(port: int) -> str:
        return f"127.0.0.1:{port}"

    # rsgi serves a WSGI app with --module, an ASGI app with --asgi.
    app_option = "--asgi" if app.kind == "asgi" else "--module"

    def rsgi(binary: Path, *extra: str) -> Callable[[int], list[str]]:
        return lambda port: [
            str(binary), "--plugin", "python", "--http", addr(port),
            app_option, target, "--pythonpath", str(APPS), "--processes", "1",
            *rsgi_venv, *extra,
        ]

    def granian(interface: str, *extra: str) -> Callable[[int], list[str]]:
        # --blocking-threads 1: the one app thread of a WSGI app (granian's default for ASGI).
        return lambda port: [
            str(venv_bin / "granian"), "--interface", interface, "--http", "1",
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--blocking-threads", "1", "--runtime-threads", "1",
            "--no-access-log", "--log-level", "warning", *extra,
            "--working-dir", str(APPS), target,
        ]

    both = ("wsgi", "asgi")
    return [
        Server("rsgi", "rsgi", rsgi(rsgi_bin), kinds=both,
               note="ASGI: --asgi-loop auto, which is uvloop (installed in the bench venv)"
               if app.kind == "asgi" else ""),
        Server("rsgi-asyncio", "rsgi --asgi-loop asyncio", rsgi(rsgi_bin, "--asgi-loop", "asyncio"),
               kinds=("asgi",), note="the standard library's asyncio loop instead of uvloop"),
        # Another build of rsgi (its plugins are those beside its binary), for before/after.
        Server("rsgi-baseline", f"rsgi baseline ({baseline})", rsgi(baseline or Path("none")),
               kinds=both),
        Server("granian", f"granian ({app.kind})", granian(app.kind), kinds=both,
               note="ASGI: granian's default --loop auto, which takes rloop, then uvloop, when "
                    "installed: the bench venv has uvloop and no rloop, so this is the same "
                    "loop as granian-uvloop" if app.kind == "asgi" else ""),
        Server("granian-uvloop", "granian (asgi) --loop uvloop",
               granian("asgi", "--loop", "uvloop"), kinds=("asgi",)),
        Server(
            "uvicorn",
            "uvicorn (uvloop, httptools)",
            lambda port: [
                str(venv_bin / "uvicorn"), "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--loop", "uvloop", "--http", "httptools",
                "--no-access-log", "--log-level", "warning", "--app-dir", str(APPS), target,
            ],
            kinds=("asgi",),
        ),
        Server(
            "hypercorn",
            "hypercorn",
            lambda port: [
                str(venv_bin / "hypercorn"), "--bind", addr(port), "--workers", "1",
                "--log-level", "warning",
                # MODULE_PATH:APP: hypercorn imports the module from that path's directory.
                f"{APPS / app.module}:{app.callable}",
            ],
            kinds=("asgi",),
            note="default worker class (asyncio); no access log by default",
        ),
        Server(
            "uwsgi",
            "uWSGI --http-socket",
            lambda port: [
                str(venv_bin / "uwsgi"), "--http-socket", addr(port),
                "--wsgi-file", app_file, "--callable", app.callable, "--processes", "1",
                "--disable-logging", "--master", *uwsgi_venv,
            ],
            # uWSGI 2.0 reloads on SIGTERM; SIGINT (the default here) shuts it down.
            note="the uWSGI baseline; native HTTP socket, no router process; it closes the "
                 "connection after every response without saying so, which wrk counts as a "
                 "read error",
        ),
        Server(
            "uwsgi-keepalive",
            "uWSGI --http11-socket",
            lambda port: [
                str(venv_bin / "uwsgi"), "--http11-socket", addr(port),
                "--wsgi-file", app_file, "--callable", app.callable, "--processes", "1",
                "--disable-logging", "--master", *uwsgi_venv,
            ],
            note="keeps one connection until its 4 s socket timeout while the other "
                 "connections wait unaccepted: this measures one connection's ping-pong, "
                 "and p99 counts only requests that were answered (not run by default)",
        ),
        Server(
            "gunicorn",
            "gunicorn (sync)",
            lambda port: [
                str(venv_bin / "gunicorn"), "--workers", "1", "--worker-class", "sync",
                "--bind", addr(port), "--chdir", str(APPS), "--log-level", "warning",
                target,
            ],
            note="the sync worker answers `Connection: close`: no keep-alive",
        ),
    ]


# --- the peers' venv ---------------------------------------------------------


def ensure_bench_venv() -> None:
    """Create build/bench-venv and install bench/requirements.txt unless already done.

    Each requirement is installed on its own, so one that fails (uWSGI needs a
    compiler) leaves the others usable; its server is then skipped with a note.
    """
    stamp = VENV / ".bench-stamp"
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.executable.encode()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == key:
        return
    if not (VENV / "bin" / "python").exists():
        log(f"creating {VENV.relative_to(ROOT)} with {sys.executable}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    failed = []
    for line in REQUIREMENTS.read_text().splitlines():
        req = line.split("#", 1)[0].strip()
        if not req:
            continue
        log(f"pip install {req}")
        result = subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", req],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        if result.returncode != 0:
            failed.append(req)
            log(f"could not install {req}: {result.stderr.strip().splitlines()[-1:]}")
    if not failed:
        stamp.write_text(key + "\n")


# --- running one server ------------------------------------------------------


@dataclass
class Run:
    rps: float
    p99_ms: float
    errors: int


@dataclass
class Outcome:
    runs: list[Run] = field(default_factory=list)
    skipped: str = ""


class StartFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cpu: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if cpu is not None else command


def wait_ready(proc: subprocess.Popen, port: int, app: App, log_path: Path,
               timeout: float = 20.0) -> None:
    """Wait until the port accepts and GET <app.path> answers the expected body."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartFailed(f"exited with {proc.returncode} (log: {log_path})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", app.path)
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            if resp.status == 200 and app.check(body):
                return
            raise StartFailed(f"answered {resp.status} {body[:60]!r}, not 200 {app.expected}")
        except (OSError, http.client.HTTPException) as err:
            last_error = str(err) or type(err).__name__
            time.sleep(0.1)
    raise StartFailed(f"not serving on port {port} after {timeout:.0f} s ({last_error}; log: {log_path})")


def stop(proc: subprocess.Popen, sig: int) -> None:
    """Signal the server's main process, as an operator would; after it exits or 10 s,
    SIGKILL whatever is left of its process group. (Signalling the whole group instead
    makes granian hang: its worker takes the SIGINT as a KeyboardInterrupt.)"""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log(f"pid {proc.pid} ignored {signal.Signals(sig).name}; killing it")
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers: workers of a dead master
    except ProcessLookupError:
        pass
    proc.wait()


def wrk(port: int, path: str, seconds: float, connections: int, cpu: str | None) -> str:
    command = pinned(cpu, [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency",
        f"http://127.0.0.1:{port}{path}",
    ])
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str) -> Run:
    """Requests/sec, the 99th percentile latency and error counts from `wrk --latency`."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    if not rps or not p99:
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    errors = 0
    socket_errors = re.search(r"Socket errors:(.*)$", output, re.M)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return Run(float(rps.group(1)), float(p99.group(1)) * _UNITS_MS[p99.group(2)], errors)


def measure(server: Server, run_no: int, args: argparse.Namespace) -> Run:
    """Start the server, check it, warm it up, measure once, stop it."""
    port = free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{args.app}-{server.name}-{run_no}.log"
    app = APPS_TABLE[args.app]
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            pinned(args.server_cpu, server.command(port)), cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(proc, port, app, log_path)
        if args.warmup > 0:
            wrk(port, app.path, args.warmup, args.connections, args.wrk_cpu)
        run = parse_wrk(wrk(port, app.path, args.duration, args.connections, args.wrk_cpu))
        if proc.poll() is not None:
            raise StartFailed(f"died during the run with {proc.returncode} (log: {log_path})")
        return run
    finally:
        stop(proc, server.stop_signal)


# --- the table ---------------------------------------------------------------


def ratio(value: float | None, base: float | None, digits: int = 2) -> str:
    return f"{value / base:.{digits}f}x" if value and base else "n/a"


def median_rps(outcome: Outcome | None) -> float | None:
    return statistics.median(r.rps for r in outcome.runs) if outcome and outcome.runs else None


def table(servers: list[Server], outcomes: dict[str, Outcome], kind: str = "wsgi") -> str:
    (first, first_title), (second, second_title) = COMPARED[kind]
    first_rps = median_rps(outcomes.get(first))
    second_rps = median_rps(outcomes.get(second))
    baseline = median_rps(outcomes.get("rsgi-baseline"))
    lines = [
        f"| server | median rps | median p99 | rps vs {first_title} | rps vs {second_title} "
        "| rps vs baseline | runs (rps) | errors |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    notes = []
    for server in servers:
        outcome = outcomes[server.name]
        if not outcome.runs:
            lines.append(f"| {server.label} | skipped | | | | | | |")
            notes.append(f"- {server.label}: skipped: {outcome.skipped}")
            continue
        rps = median_rps(outcome)
        p99 = statistics.median(r.p99_ms for r in outcome.runs)
        runs = " / ".join(f"{r.rps:.0f}" for r in outcome.runs)
        errors = sum(r.errors for r in outcome.runs)
        lines.append(
            f"| {server.label} | {rps:,.0f} | {p99:.2f} ms | {ratio(rps, first_rps)} "
            f"| {ratio(rps, second_rps)} | {ratio(rps, baseline, 3)} | {runs} | {errors} |"
        )
        if outcome.skipped:
            notes.append(f"- {server.label}: some runs failed: {outcome.skipped}")
        if server.note:
            notes.append(f"- {server.label}: {server.note}")
    return "\n".join(lines + ([""] + notes if notes else []))


def describe_machine(args: argparse.Namespace, load: float) -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pinning = (f"server on CPU {args.server_cpu}, wrk on CPU {args.wrk_cpu}"
               if args.server_cpu is not None else "no CPU pinning")
    per_server = ("1 process x 1 event loop per server" if APPS_TABLE[args.app].kind == "asgi"
                  else "1 process x 1 thread per server")
    return (
        f"{APPS_TABLE[args.app].description}, {per_server}; "
        f"wrk -t1 -c{args.connections} "
        f"-d{args.duration:g}s --latency (keep-alive), {args.warmup:g} s warm-up, "
        f"{args.runs} interleaved runs; {pinning}\n"
        f"{model}, {os.cpu_count()} CPUs, load average {load:.2f} at start, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}"
    )


def load_average() -> float:
    """The 1-minute load average (0 where /proc is not there)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return 0.0


# The bench venv's packages whose versions the header names, by the app's kind.
VERSIONED = {
    "wsgi": [("granian", "granian"), ("uWSGI", "uwsgi"), ("gunicorn", "gunicorn")],
    "asgi": [("granian", "granian"), ("uvicorn", "uvicorn"), ("uvloop", "uvloop"),
             ("httptools", "httptools"), ("hypercorn", "hypercorn"), ("FastAPI", "fastapi"),
             ("Starlette", "starlette"), ("pydantic", "pydantic")],
}


def versions(kind: str = "wsgi", names: list[tuple[str, str]] | None = None) -> str:
    """The installed versions of the peers (and frameworks), read by the venv's Python:
    those of the app kind's, or `names` ((label, distribution) pairs) when given."""
    names = names if names is not None else VERSIONED[kind]
    script = (
        "import importlib.metadata as m, sys\n"
        "for name in sys.argv[1:]:\n"
        "    try: print(m.version(name))\n"
        "    except m.PackageNotFoundError: print('not installed')\n"
    )
    try:
        out = subprocess.run([str(VENV / "bin" / "python"), "-c", script,
                              *(dist for _, dist in names)],
                             capture_output=True, text=True, timeout=30).stdout.split("\n")
    except OSError:
        out = []
    found = [line.strip() for line in out if line.strip()]
    if len(found) != len(names):
        found = ["?"] * len(names)
    return ", ".join(f"{label} {version}" for (label, _), version in zip(names, found))


# --- main --------------------------------------------------------------------


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers",
                        help="comma-separated; for a WSGI app from: rsgi, rsgi-baseline, granian, "
                             "uwsgi, uwsgi-keepalive, gunicorn (default: "
                             f"{DEFAULT_SERVERS['wsgi']}); for an ASGI app from: rsgi, "
                             "rsgi-asyncio, rsgi-baseline, granian, granian-uvloop, uvicorn, "
                             f"hypercorn (default: {DEFAULT_SERVERS['asgi']})")
    parser.add_argument("--app", default="hello", choices=sorted(APPS_TABLE),
                        help="the app every server serves (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rsgi", type=Path, default=ROOT / "target" / "release" / "rsgi",
                        help="the rsgi binary (its plugins are found next to it)")
    parser.add_argument("--baseline", type=Path,
                        help="another rsgi binary, the server rsgi-baseline (its plugins beside it)")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--wrk-cpu", default="1")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    if args.no_pin or shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        if not args.no_pin:
            log("not pinning: needs taskset and at least 2 CPUs")
        args.server_cpu = args.wrk_cpu = None
    return args


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        log("wrk is not installed (scripts/setup.sh installs it)")
        return 1
    app = APPS_TABLE[args.app]
    wanted = [name.strip() for name in (args.servers or DEFAULT_SERVERS[app.kind]).split(",")
              if name.strip()]
    table_of_all = server_table(args.rsgi, app, args.baseline)
    known = {s.name: s for s in table_of_all}
    unknown = [name for name in wanted if name not in known]
    unfit = [name for name in wanted if name in known and app.kind not in known[name].kinds]
    if unknown or unfit:
        if unknown:
            log(f"unknown server(s): {', '.join(unknown)}")
        if unfit:
            log(f"{', '.join(unfit)} cannot serve {args.app} (an app of kind {app.kind.upper()})")
        for kind in ("wsgi", "asgi"):
            apps = ", ".join(a.name for a in APPS_TABLE.values() if a.kind == kind)
            fit = ", ".join(s.name for s in table_of_all if kind in s.kinds)
            log(f"{kind.upper()} apps ({apps}): {fit}")
        return 2
    # The peers (and apps that import packages) live in the bench venv; rsgi against
    # another rsgi build needs none.
    if app.needs_venv or any(not n.startswith("rsgi") for n in wanted):
        ensure_bench_venv()
    servers = [known[name] for name in wanted]
    outcomes = {s.name: Outcome() for s in servers}
    for server in servers:
        binary = Path(server.command(0)[0])
        if not binary.exists():
            outcomes[server.name].skipped = f"{binary} does not exist"

    load = load_average()
    header = describe_machine(args, load) + "\n" + versions(app.kind)
    if load > 1.0:
        header += (f"\nwarning: load average {load:.2f} at start: something else is using the "
                   "CPUs; trust the ratios more than the absolute figures")
    log(header.replace("\n", "\nbench: "))
    for run_no in range(1, args.runs + 1):
        for server in servers:
            outcome = outcomes[server.name]
            if outcome.skipped and not outcome.runs:
                continue  # never started: do not try again every round
            try:
                run = measure(server, run_no, args)
            except StartFailed as err:
                outcome.skipped = str(err)
                log(f"{server.name} run {run_no}: skipped: {err}")
                continue
            outcome.runs.append(run)
            log(f"{server.name} run {run_no}: {run.rps:,.0f} rps, p99 {run.p99_ms:.2f} ms, "
                f"{run.errors} errors (load {load_average():.2f})")

    report = header + "\n\n" + table(servers, outcomes, app.kind) + "\n"
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
