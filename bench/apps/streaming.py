"""A streamed response for the benchmark: the same file for every server.

A generator yields 32 chunks of 256 bytes (8 KiB) with no Content-Length, so each
server sends them as it frames a body of unknown length (chunked on HTTP/1.1, or by
closing the connection): the cost per chunk, not per request.
"""

CHUNK = b"x" * 255 + b"\n"
CHUNKS = 32


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return (CHUNK for _ in range(CHUNKS))
