"""The end-to-end test app: one WSGI callable, a route per behaviour under test."""
import json
import os
import sys
import time


def _body(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/echo":
        data = _body(environ)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [data]
    if path == "/pid":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(os.getpid()).encode()]
    if path == "/raise":
        raise RuntimeError("boom from the test app")
    if path == "/slow":
        seconds = float(environ.get("QUERY_STRING") or "1")
        # Tests wait for this line to know the request is in the app (not for a while).
        sys.stderr.write("app: slow request started (pid %d)\n" % os.getpid())
        sys.stderr.flush()
        time.sleep(seconds)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept %.1f" % seconds]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"chunk%d\n" % i for i in range(5))
    if path == "/environ":
        keys = ["REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "SERVER_PROTOCOL", "REMOTE_ADDR",
                "SERVER_NAME", "SERVER_PORT", "HTTP_X_TEST", "CONTENT_TYPE", "CONTENT_LENGTH",
                "REQUEST_URI", "SCRIPT_NAME", "HTTPS", "REMOTE_PORT"]
        out = {k: environ.get(k) for k in keys}
        out["wsgi.url_scheme"] = environ["wsgi.url_scheme"]
        out["wsgi.multiprocess"] = environ["wsgi.multiprocess"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(out).encode()]
    if path == "/cext":
        import ctypes, decimal, hashlib, math, sqlite3, ssl, _json  # noqa: F401
        conn = sqlite3.connect(":memory:")
        value = conn.execute("select 6 * 7").fetchone()[0]
        text = "ssl=%s sqlite=%d decimal=%s md5=%s ctypes=%d" % (
            ssl.OPENSSL_VERSION.split()[0], value, decimal.Decimal("1.10") + decimal.Decimal("2.20"),
            hashlib.md5(b"rsgi").hexdigest()[:8], ctypes.sizeof(ctypes.c_int))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [text.encode()]
    if path == "/badheader":
        start_response("200 OK", [("X-Bad", "split\r\nX-Injected: yes")])
        return [b"should not be sent"]
    if path == "/length":
        # Reads the whole body; answers "<CONTENT_LENGTH> <bytes read>".
        data = _body(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%s %d" % (environ.get("CONTENT_LENGTH", "").encode(), len(data))]
    if path == "/var":
        # One environ value, named by the query string (e.g. /var?HTTP_COOKIE).
        value = environ.get(environ.get("QUERY_STRING", ""))
        start_response("200 OK" if value is not None else "404 Not Found", [("Content-Type", "text/plain")])
        return [value.encode("latin-1") if value is not None else b""]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!"]
