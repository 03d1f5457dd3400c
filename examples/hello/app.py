"""The smallest WSGI app: every request gets "Hello, World!" as plain text."""


def application(environ, start_response):
    body = b"Hello, World!"
    start_response("200 OK", [
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(body))),
    ])
    return [body]
