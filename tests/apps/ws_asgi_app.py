"""A raw ASGI 3 app for rsgi's WebSocket tests (tests/websocket_asgi.rs): each path shows
one behaviour of the `websocket` scope. What the app sees that the client cannot (the
disconnect codes, the errors its sends raise) goes to stderr as `ws-app: ...` lines, which
the tests wait for in the server's log."""
import json
import sys

# A subprotocol the app speaks, chosen when the client offers it.
SPOKEN = ("chat.v2", "chat.v1")


def say(*words):
    print("ws-app:", *words, file=sys.stderr, flush=True)


def scope_summary(scope):
    return {
        "type": scope["type"],
        "asgi": scope["asgi"],
        "http_version": scope["http_version"],
        "scheme": scope["scheme"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "query_string": scope["query_string"].decode("latin-1"),
        "root_path": scope["root_path"],
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
        "client": list(scope["client"]),
        "server": list(scope["server"]),
        "subprotocols": scope["subprotocols"],
        "state": scope["state"],
        "extensions": sorted(scope["extensions"]),
        "has_method": "method" in scope,
    }


async def lifespan(receive, send, scope):
    while True:
        m = await receive()
        if m["type"] == "lifespan.startup":
            scope["state"]["from_lifespan"] = "yes"
            await send({"type": "lifespan.startup.complete"})
        elif m["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def http(scope, receive, send):
    body = b"hello"
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


async def echo(scope, receive, send):
    """Accepts (with a subprotocol it speaks, if offered) and echoes each message; a text
    message that is a command does something else:
    `close CODE REASON` closes, `raise` raises, `scope` answers the scope as JSON,
    `flood COUNT SIZE` sends COUNT binary messages of SIZE bytes, then `flood done`."""
    chosen = next((p for p in scope["subprotocols"] if p in SPOKEN), None)
    await send({
        "type": "websocket.accept",
        "subprotocol": chosen,
        "headers": [(b"x-accepted-by", b"ws_asgi_app")],
    })
    say("accepted", scope["path"])
    while True:
        m = await receive()
        if m["type"] == "websocket.disconnect":
            say("disconnect", m["code"], repr(m.get("reason", "")))
            try:
                await send({"type": "websocket.send", "text": "after disconnect"})
            except OSError as e:
                say("send after disconnect raised %s: %s" % (type(e).__name__, e))
            return
        text = m.get("text")
        if text is not None:
            if text.startswith("close "):
                _, code, reason = text.split(" ", 2)
                await send({"type": "websocket.close", "code": int(code), "reason": reason})
                try:
                    await send({"type": "websocket.send", "text": "after close"})
                except RuntimeError as e:
                    say("send after close raised RuntimeError:", e)
                m = await receive()
                say("after our close:", m["type"], m.get("code"))
                return
            if text == "raise":
                raise RuntimeError("the websocket test app raised after accept")
            if text.startswith("flood "):
                # COUNT binary messages of SIZE bytes, as fast as send() lets the app.
                _, count, size = text.split(" ")
                for i in range(int(count)):
                    await send({"type": "websocket.send", "bytes": bytes([i % 256]) * int(size)})
                await send({"type": "websocket.send", "text": "flood done"})
                continue
            if text == "scope":
                await send({"type": "websocket.send", "text": json.dumps(scope_summary(scope))})
                continue
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": m["bytes"]})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send, scope)
    if scope["type"] == "http":
        return await http(scope, receive, send)
    path = scope["path"]
    connect = await receive()
    assert connect == {"type": "websocket.connect"}, connect
    if path == "/deny":
        # Closing before the accept: a 403 (the handshake never completes).
        await send({"type": "websocket.close", "code": 1000})
        m = await receive()
        say("denied; then", m["type"], m["code"])
        return
    if path == "/deny-response":
        # The websocket.http.response extension: the app's own answer, in two pieces.
        await send({
            "type": "websocket.http.response.start",
            "status": 418,
            "headers": [(b"content-type", b"text/plain"), (b"x-denied-by", b"ws_asgi_app")],
        })
        await send({"type": "websocket.http.response.body", "body": b"no websockets ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"for teapots"})
        return
    if path == "/raise-before-accept":
        raise RuntimeError("the websocket test app raised before accept")
    if path == "/return-before-accept":
        return
    if path == "/bad-subprotocol":
        # A subprotocol the client did not offer: send() raises, so a 500.
        await send({"type": "websocket.accept", "subprotocol": "never-offered"})
        return
    return await echo(scope, receive, send)
