"""A raw ASGI 3 app for rsgi's tests: each path shows one behaviour, or one way for an app
to get things wrong."""
import asyncio
import json
import os

EVENTS = {}  # name -> asyncio.Event: /wait/NAME waits on it, /release/NAME sets it
WAITING = {"n": 0}
DISCONNECTS = {"n": 0, "send_raised": 0, "holding": 0}


async def body_of(receive):
    body = b""
    while True:
        m = await receive()
        if m["type"] == "http.disconnect":
            return None
        body += m.get("body", b"")
        if not m.get("more_body"):
            return body


async def answer(send, status, text, content_type=b"text/plain"):
    data = text.encode() if isinstance(text, str) else text
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(data)).encode())],
    })
    await send({"type": "http.response.body", "body": data})


async def lifespan(scope, receive, send):
    while True:
        m = await receive()
        if m["type"] == "lifespan.startup":
            scope["state"]["started_in"] = os.getpid()
            await send({"type": "lifespan.startup.complete"})
        elif m["type"] == "lifespan.shutdown":
            path = os.environ.get("ASGI_SHUTDOWN_FILE")
            if path:
                with open(path, "a") as f:
                    f.write("shutdown %d\n" % os.getpid())
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(scope, receive, send)
    path = scope["path"]
    if path == "/":
        return await answer(send, 200, "hello")
    if path.startswith("/scope"):
        shown = {k: v for k, v in scope.items() if k not in ("state", "headers", "raw_path", "query_string", "asgi", "extensions")}
        shown["extensions"] = sorted(scope.get("extensions", {}))
        shown["asgi"] = scope["asgi"]
        shown["raw_path"] = scope["raw_path"].decode("latin-1")
        shown["query_string"] = scope["query_string"].decode("latin-1")
        shown["headers"] = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]]
        shown["state"] = dict(scope["state"])
        return await answer(send, 200, json.dumps(shown), b"application/json")
    if path == "/echo":
        # Each piece of the body goes back as it arrives.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})
        while True:
            m = await receive()
            if m["type"] == "http.disconnect":
                return
            await send({"type": "http.response.body", "body": m.get("body", b""), "more_body": True})
            if not m.get("more_body"):
                break
        return await send({"type": "http.response.body", "body": b""})
    if path == "/stream":
        n = int(scope["query_string"].decode() or 3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(n):
            await send({"type": "http.response.body", "body": b"chunk %d\n" % i, "more_body": True})
            await asyncio.sleep(0)
        return await send({"type": "http.response.body", "body": b""})
    if path == "/big":
        size = int(scope["query_string"].decode())
        piece = b"0123456789" * 6554
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(size).encode())]})
        sent = 0
        while sent < size:
            part = piece[: min(len(piece), size - sent)]
            await send({"type": "http.response.body", "body": part, "more_body": sent + len(part) < size})
            sent += len(part)
        return
    if path.startswith("/wait/"):
        name = path[len("/wait/"):]
        event = EVENTS.setdefault(name, asyncio.Event())
        WAITING["n"] += 1
        try:
            await event.wait()
        finally:
            WAITING["n"] -= 1
        return await answer(send, 200, "released " + name)
    if path.startswith("/release/"):
        EVENTS.setdefault(path[len("/release/"):], asyncio.Event()).set()
        return await answer(send, 200, "released")
    if path == "/waiting":
        return await answer(send, 200, str(WAITING["n"]))
    if path == "/hold":
        # Waits for the client to leave, then tries to answer anyway.
        DISCONNECTS["holding"] += 1
        while (await receive())["type"] != "http.disconnect":
            pass
        DISCONNECTS["n"] += 1
        try:
            await answer(send, 200, "too late")
        except OSError:
            DISCONNECTS["send_raised"] += 1
        return
    if path == "/holding":
        return await answer(send, 200, str(DISCONNECTS["holding"]))
    if path == "/disconnects":
        return await answer(send, 200, "%(n)d %(send_raised)d" % DISCONNECTS)
    if path == "/pathsend":
        # The file named by the query string, sent by the server (zero-copy) if it can.
        name = scope["query_string"].decode()
        size = os.path.getsize(name)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(size).encode())]})
        if "http.response.pathsend" in scope.get("extensions", {}):
            return await send({"type": "http.response.pathsend", "path": name})
        with open(name, "rb") as f:
            return await send({"type": "http.response.body", "body": f.read()})
    if path == "/block":
        # Blocks the event loop itself (what harakiri must catch as well).
        import time

        time.sleep(60)
        return await answer(send, 200, "unblocked")
    if path == "/body-first":
        return await send({"type": "http.response.body", "body": b"no head"})
    if path == "/no-response":
        return
    if path == "/raise":
        raise RuntimeError("the test app raised")
    if path == "/raise-after-head":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("the test app raised after the head")
    if path == "/bad-header":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-split", b"a\r\nInjected: yes")]})
        return await send({"type": "http.response.body", "body": b"never"})
    if path == "/post-size":
        body = await body_of(receive)
        if body is None:
            return  # the body was refused or the client left: the server answers
        return await answer(send, 200, str(len(body)))
    return await answer(send, 404, "not found")
