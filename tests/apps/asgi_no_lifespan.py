"""An ASGI app that knows only HTTP: it raises on the lifespan scope, as many do."""


async def app(scope, receive, send):
    assert scope["type"] == "http", "only http here"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
