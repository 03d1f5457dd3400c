"""A module whose callable is called `app`, not `application` (the fallback name)."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"callable app"]


def custom(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"callable custom"]
