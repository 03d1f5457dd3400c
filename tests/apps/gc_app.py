"""Answers `frozen=N`: how many objects gc.freeze() put in the permanent generation of
this worker's interpreter (tests/python.rs: --gc-freeze)."""

import gc


def application(environ, start_response):
    body = ("frozen=%d" % gc.get_freeze_count()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
