"""Hello world for the benchmark: the same file for every server.

A fixed body with Content-Length, so no server needs chunked encoding or to close the
connection to mark the end of the response.
"""

BODY = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
