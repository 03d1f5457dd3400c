"""Answers what the socket-activation variables look like to the app (tests/socket_activation.rs):
`LISTEN_FDS=None LISTEN_PID=None LISTEN_FDNAMES=None RSGI_ACTIVATED_FDS=None` when rsgi
removed them all, and the worker's pid."""
import os

NAMES = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "RSGI_ACTIVATED_FDS")


def application(environ, start_response):
    body = " ".join("%s=%s" % (n, os.environ.get(n)) for n in NAMES)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
