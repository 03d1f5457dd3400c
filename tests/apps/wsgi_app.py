"""The PEP 3333 test app: a route per rule of the spec (see tests/wsgi.rs).

Counters live in this module, so they are per worker: the tests run one worker.
"""
import hashlib
import json
import os
import resource
import sys
import tempfile
import time

TEXT = [("Content-Type", "text/plain")]
JSON = [("Content-Type", "application/json")]

# close() calls and items produced, by the name of the response body.
CLOSES = {}
PRODUCED = {}
# How the /write/slow response ended.
WRITES = {}


class CountedBody:
    """A response iterable that counts its close() calls (PEP 3333: exactly once)."""

    def __init__(self, name, chunks, fail_after=None, delay=0.0):
        self.name, self.chunks, self.fail_after, self.delay = name, chunks, fail_after, delay
        PRODUCED[name] = 0

    def __iter__(self):
        for i, chunk in enumerate(self.chunks):
            if self.fail_after is not None and i == self.fail_after:
                raise RuntimeError("the body of %s failed on purpose" % self.name)
            if self.delay:
                time.sleep(self.delay)
            PRODUCED[self.name] += 1
            yield chunk

    def close(self):
        CLOSES[self.name] = CLOSES.get(self.name, 0) + 1


def _json(start_response, value, status="200 OK"):
    start_response(status, JSON)
    return [json.dumps(value).encode()]


def _digest(chunks):
    h, n = hashlib.sha256(), 0
    for chunk in chunks:
        h.update(chunk)
        n += len(chunk)
    return {"sha256": h.hexdigest(), "length": n}


def _read_by(inp, mode):
    """The body as read through one of wsgi.input's interfaces."""
    if mode == "read":
        yield inp.read()
    elif mode == "read_n":
        while True:
            block = inp.read(65536)
            if not block:
                return
            yield block
    elif mode == "readline":
        while True:
            line = inp.readline()
            if not line:
                return
            yield line
    elif mode == "iter":
        yield from inp
    else:
        raise ValueError("unknown mode %r" % mode)


def _file(size):
    """A file of `size` deterministic bytes (byte i is i % 251), made once and reused."""
    path = os.path.join(tempfile.gettempdir(), "rsgi-wsgi-file-%d.bin" % size)
    if not os.path.exists(path) or os.path.getsize(path) != size:
        pattern = bytes(range(251))
        tmp = "%s.%d.tmp" % (path, os.getpid())
        with open(tmp, "wb") as f:
            full, rest = divmod(size, len(pattern))
            f.write(pattern * full + pattern[:rest])
        os.replace(tmp, path)
    return path


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING", "")

    if path == "/environ":
        # Every CGI variable (str values) and the type or value of every wsgi.* key.
        out = {k: v for k, v in environ.items() if isinstance(v, str)}
        out["wsgi.version"] = list(environ["wsgi.version"])
        for key in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",
                    "wsgi.input_terminated"):
            out[key] = environ.get(key)
        out["wsgi.errors is sys.stderr"] = environ["wsgi.errors"] is sys.stderr
        for key in ("wsgi.input", "wsgi.file_wrapper"):
            out[key + " callables"] = sorted(
                name for name in ("read", "readline", "readlines", "__iter__", "close")
                if callable(getattr(environ.get(key), name, None)))
        out["types"] = sorted({type(v).__name__ for k, v in environ.items() if "." not in k})
        return _json(start_response, out)

    if path == "/where":
        return _json(start_response, {"app": "root", "SCRIPT_NAME": environ["SCRIPT_NAME"],
                                      "PATH_INFO": environ["PATH_INFO"]})

    if path == "/input/api":
        # The file-like API on a known body: "one\ntwo\nthree\nfour\nfive\nrest".
        inp = environ["wsgi.input"]
        steps = [inp.read(2), inp.readline(), inp.readline(2), inp.readline(), inp.readlines(1),
                 inp.readlines(), inp.read(), inp.read(5), inp.readline()]
        return _json(start_response, [s.decode() if isinstance(s, bytes) else
                                      [x.decode() for x in s] for s in steps])

    if path == "/input/iter":
        return _json(start_response, [line.decode() for line in environ["wsgi.input"]])

    if path == "/input/digest":
        # ?read | ?read_n | ?readline | ?iter: the body's hash read that way.
        out = _digest(_read_by(environ["wsgi.input"], query))
        out["CONTENT_LENGTH"] = environ.get("CONTENT_LENGTH")
        out["after the end"] = environ["wsgi.input"].read(10).decode()
        return _json(start_response, out)

    if path == "/input/memory":
        # Reads the body in 64 KiB blocks; the peak RSS before and after, in KiB.
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = _digest(_read_by(environ["wsgi.input"], "read_n"))
        out["maxrss_kib_before"] = before
        out["maxrss_kib_after"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return _json(start_response, out)

    if path == "/write":
        # The legacy write() callable, then an iterable after it.
        write = start_response("200 OK", TEXT)
        write(b"written ")
        write(b"")
        write(b"twice, ")
        return [b"then returned"]

    if path == "/write/slow":
        # The write() callable to a client that goes away: 2000 chunks of 1000 bytes,
        # slowly; WRITES says how it ended (raised OSError, or wrote them all).
        write = start_response("200 OK", TEXT)
        try:
            for _ in range(2000):
                write(b"w" * 1000)
                time.sleep(0.001)
            WRITES["slow"] = "finished"
        except OSError as e:
            WRITES["slow"] = "raised %s" % type(e).__name__
        return []
    if path == "/write/outcome":
        start_response("200 OK", TEXT)
        return [WRITES.get("slow", "none").encode()]
    if path == "/exc_info/before":
        # An error before anything was sent: exc_info replaces the head.
        start_response("200 OK", TEXT + [("X-Replaced", "no")])
        try:
            raise KeyError("before the head went out")
        except KeyError:
            start_response("503 Service Unavailable", TEXT + [("X-Replaced", "yes")],
                           sys.exc_info())
        return [b"replaced"]

    if path == "/exc_info/after":
        # An error after the head went out: start_response re-raises it.
        def body():
            yield b"partial "
            try:
                raise KeyError("after the head went out")
            except KeyError:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            yield b"never sent"
        start_response("200 OK", TEXT)
        return body()

    if path == "/bad/status":
        start_response("OK 200", TEXT)
        return [b"not sent"]

    if path == "/bad/header-lf":
        start_response("200 OK", TEXT + [("X-Split", "a\nInjected: yes")])
        return [b"not sent"]

    if path == "/bad/header-name":
        start_response("200 OK", TEXT + [("X Space", "v")])
        return [b"not sent"]

    if path == "/bad/body":
        start_response("200 OK", TEXT)
        return ["a str, not bytes"]

    if path == "/list":
        start_response("200 OK", TEXT)
        return [b"a" * 1000, b"", b"b" * 1000]

    if path == "/generator":
        start_response("200 OK", TEXT)
        return (b"chunk %04d\n" % i for i in range(1000))

    if path == "/close/ok":
        start_response("200 OK", TEXT)
        return CountedBody("ok", [b"a", b"b", b"c"])

    if path == "/close/raise":
        start_response("200 OK", TEXT)
        return CountedBody("raise", [b"a", b"b", b"c"], fail_after=2)

    if path == "/close/slow":
        # 64 KiB every 20 ms for up to 10 s: the client hangs up long before the end.
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return CountedBody("slow", [b"x" * 65536] * 500, delay=0.02)

    if path == "/close/counts":
        return _json(start_response, {"closes": CLOSES, "produced": PRODUCED})

    if path == "/file":
        size = int(query or "0")
        f = open(_file(size), "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 65536)

    if path == "/file/seeked":
        # A wrapper over a file opened at an offset: sent from there.
        f = open(_file(1000), "rb")
        f.seek(990)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f)

    start_response("404 Not Found", TEXT)
    return [b"no route " + path.encode("latin-1")]


def second(environ, start_response):
    """A second app, for mountpoints."""
    return _json(start_response, {"app": "second", "SCRIPT_NAME": environ["SCRIPT_NAME"],
                                  "PATH_INFO": environ["PATH_INFO"]})


def third(environ, start_response):
    """A third app, for mountpoints."""
    return _json(start_response, {"app": "third", "SCRIPT_NAME": environ["SCRIPT_NAME"],
                                  "PATH_INFO": environ["PATH_INFO"]})
