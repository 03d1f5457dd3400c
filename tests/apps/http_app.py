"""The HTTP protocol tests' app: reads its body before answering, unless told not to.

Every path it serves is remembered (per worker process) so a test can ask, with
`/seen`, whether a request was ever executed: a smuggled request would show up there.
"""
import time

SEEN = []


def _read_all(environ):
    length = environ.get("CONTENT_LENGTH")
    if length:
        return environ["wsgi.input"].read(int(length))
    return environ["wsgi.input"].read()


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING", "")
    SEEN.append(path)
    if path == "/seen":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["\n".join(SEEN).encode()]
    if path == "/noread":
        # Answers without touching wsgi.input.
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        return [b"noread"]
    if path == "/sleep-then-read":
        # Waits before reading: a 100 Continue must not come before the read.
        time.sleep(float(query or "0.5"))
        data = _read_all(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"read %d" % len(data)]
    if path == "/echo":
        data = _read_all(environ)
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(data)))])
        return [data]
    if path == "/stream":
        # No Content-Length: chunked for HTTP/1.1, close-delimited for HTTP/1.0.
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"part%d;" % i for i in range(3))
    if path == "/status":
        # /status?204 or /status?304: the app hands a body anyway; none may be sent.
        code = int(query)
        start_response("%d Whatever" % code, [("Content-Type", "text/plain")])
        return [b"this body must not be sent"]
    if path == "/badheader":
        start_response("200 OK", [("X-Bad", "split\r\nX-Injected: yes")])
        return [b"should not be sent"]
    if path == "/close":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "close"),
                                  ("Content-Length", "5")])
        return [b"bye!\n"]
    # The default: read the whole body, then answer with what was asked and read.
    data = _read_all(environ)
    text = "%s %s %d" % (environ["REQUEST_METHOD"], path, len(data))
    body = text.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
