"""Hello world as a raw ASGI 3 app for the benchmark: the same file for every server.

A fixed body with Content-Length, as bench/apps/hello.py for WSGI. The lifespan scope is
answered (startup and shutdown complete), so servers that run the lifespan protocol
start it without a warning.
"""

BODY = b"Hello, World!"
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())],
}
RESPONSE_BODY = {"type": "http.response.body", "body": BODY}


async def application(scope, receive, send):
    if scope["type"] == "http":
        await send(START)
        await send(RESPONSE_BODY)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
