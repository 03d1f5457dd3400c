"""WebSocket echo as a raw ASGI 3 app for the benchmark: the same file for every server.

A websocket scope is accepted and every message is sent back as it came (text as text,
bytes as bytes) until the client leaves. An http request gets `Hello, World!` (how the
bench script sees the server is up), and the lifespan scope is answered.
"""

BODY = b"Hello, World!"
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())],
}
RESPONSE_BODY = {"type": "http.response.body", "body": BODY}
ACCEPT = {"type": "websocket.accept"}


async def echo(receive, send):
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send(ACCEPT)
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return  # websocket.disconnect
        text = message.get("text")
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes")})


async def app(scope, receive, send):
    kind = scope["type"]
    if kind == "websocket":
        await echo(receive, send)
    elif kind == "http":
        await send(START)
        await send(RESPONSE_BODY)
    elif kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
