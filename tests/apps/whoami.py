"""Says which user and groups the worker serving the request runs as (for --uid/--gid).
Imports nothing that the interpreter has not imported at startup: after the master drops
root, the standard library may not be readable any more (a Python under /root)."""
import os


def application(environ, start_response):
    groups = ",".join(str(g) for g in sorted(os.getgroups()))
    body = ("%d %d %d %s" % (os.getpid(), os.getuid(), os.getgid(), groups)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
