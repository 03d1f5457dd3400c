"""Reads the whole request body, then answers how many bytes it read.

For bench/slow_clients.py: every server must take the body in before answering, so a
body that arrives slowly costs each of them the same reads.
"""


def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    body = b"read %d" % len(data)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
