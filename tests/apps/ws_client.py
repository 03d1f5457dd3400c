"""A WebSocket client for rsgi's tests (tests/websocket_asgi.rs), on the `websockets`
library: `python ws_client.py ws://HOST:PORT SCENARIO [SCENARIO...]` runs each scenario
on a connection of its own and prints one JSON line per scenario with what it saw, for the
test to assert on. A scenario is a name with arguments after colons: `big:10000000`.

The client sends no pings of its own (ping_interval=None) and accepts messages of any
size (max_size=None): what is measured is the server's side."""
import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

BASE = sys.argv[1]


def opened(path, **kw):
    kw.setdefault("ping_interval", None)
    kw.setdefault("max_size", None)
    return connect(BASE + path, **kw)


def closed(e):
    """What a ConnectionClosed says of the close we received."""
    return {"code": e.rcvd.code if e.rcvd else None, "reason": e.rcvd.reason if e.rcvd else None}


async def echo(path="/echo", compression="deflate"):
    """Text, binary, a fragmented text message, a ping; then a normal close."""
    kw = {} if compression == "deflate" else {"compression": None}
    out = {}
    async with opened(path, **kw) as ws:
        out["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        out["accepted_by"] = ws.response.headers.get("X-Accepted-By")
        await ws.send("hello")
        out["text"] = await ws.recv()
        await ws.send(b"\x00\x01\xfe\xff")
        data = await ws.recv()
        out["binary"] = list(data) if isinstance(data, bytes) else ("not bytes: %r" % (data,))
        # One message in three frames (a first frame and two continuations).
        await ws.send(["frag", "mented ", "text"])
        out["fragmented"] = await ws.recv()
        pong = await ws.ping(b"are you there")
        await pong
        out["pong"] = True
        # 64 KiB of a repeated pattern: compressible, so deflate shows.
        await ws.send("abc" * 21846)
        out["long_text_ok"] = (await ws.recv()) == "abc" * 21846
    return out


async def big(size):
    """A binary message of `size` bytes, echoed."""
    size = int(size)
    data = bytes(i % 251 for i in range(251)) * (size // 251) + b"\x07" * (size % 251)
    async with opened("/echo", compression=None) as ws:
        await ws.send(data)
        back = await ws.recv()
    return {"sent": len(data), "received": len(back), "equal": back == data}


async def too_big(size):
    """A binary message of `size` bytes the server will not take: its close."""
    async with opened("/echo", compression=None) as ws:
        await ws.send(b"x" * int(size))
        try:
            await ws.recv()
            return {"error": "an answer came"}
        except ConnectionClosed as e:
            return closed(e)


async def client_closes(code, reason):
    """Closes with `code` and `reason` after one echo."""
    async with opened("/echo") as ws:
        await ws.send("before close")
        await ws.recv()
        await ws.close(int(code), reason)
    return {"closed": True}


async def app_closes(code, reason):
    """Asks the app to close with `code` and `reason`."""
    async with opened("/echo") as ws:
        await ws.send("close %s %s" % (code, reason))
        try:
            await ws.recv()
            return {"error": "a message came"}
        except ConnectionClosed as e:
            return closed(e)


async def command(text, path="/echo"):
    """Sends `text` (to `path`) and reports the answer or the close."""
    async with opened(path) as ws:
        await ws.send(text)
        try:
            return {"answer": await ws.recv()}
        except ConnectionClosed as e:
            return closed(e)


async def scope(path):
    """The scope the app saw (its `scope` command), offering two subprotocols."""
    async with opened(path, subprotocols=["other", "chat.v1"]) as ws:
        await ws.send("scope")
        return {"scope": json.loads(await ws.recv()), "subprotocol": ws.subprotocol}


async def flood(count, size):
    """Asks for `count` messages of `size` bytes and reads them only once they were all
    asked for: the app's sends meet back-pressure. What arrived, in order."""
    count, size = int(count), int(size)
    async with opened("/echo", compression=None) as ws:
        await ws.send("flood %d %d" % (count, size))
        good = 0
        while True:
            m = await ws.recv()
            if m == "flood done":
                break
            if isinstance(m, bytes) and m == bytes([good % 256]) * size:
                good += 1
    return {"in_order": good}


async def vanish():
    """One echo, then the TCP connection is dropped without a close."""
    ws = await opened("/echo")
    await ws.send("about to vanish")
    await ws.recv()
    ws.transport.abort()
    return {"vanished": True}


async def hold():
    """Holds a connection open, sending nothing, until the server closes it: its close."""
    async with opened("/echo") as ws:
        try:
            await ws.recv()
            return {"error": "a message came"}
        except ConnectionClosed as e:
            return closed(e)


async def first(path):
    """Takes the message the app sends first, then its close."""
    async with opened(path) as ws:
        out = {"answer": await ws.recv()}
        try:
            await ws.recv()
            out["error"] = "a second message came"
        except ConnectionClosed as e:
            out.update(closed(e))
    return out


async def right_away(count):
    """`count` connections, one after the other, each sending a message as soon as the
    handshake is done and waiting for its echo (at most 60 s: a message the server
    left unread would wait for ever without pings)."""
    echoed = 0
    for i in range(int(count)):
        async with opened("/echo", compression=None) as ws:
            await ws.send("right away %d" % i)
            if await asyncio.wait_for(ws.recv(), 60) == "right away %d" % i:
                echoed += 1
    return {"echoed": echoed}


async def subprotocol(*offered):
    """Offers `offered` (none when empty): the subprotocol chosen."""
    kw = {"subprotocols": list(offered)} if offered else {}
    async with opened("/echo", **kw) as ws:
        return {"subprotocol": ws.subprotocol}


async def refused(path):
    """A handshake the app denies: the HTTP status, headers and body."""
    try:
        async with opened(path):
            return {"error": "accepted"}
    except InvalidStatus as e:
        r = e.response
        return {
            "status": r.status_code,
            "body": r.body.decode("latin-1") if r.body else "",
            "denied_by": r.headers.get("X-Denied-By"),
        }


SCENARIOS = {
    "echo": echo,
    "big": big,
    "too_big": too_big,
    "client_closes": client_closes,
    "app_closes": app_closes,
    "command": command,
    "subprotocol": subprotocol,
    "first": first,
    "scope": scope,
    "flood": flood,
    "vanish": vanish,
    "hold": hold,
    "right_away": right_away,
    "refused": refused,
}


async def main():
    for spec in sys.argv[2:]:
        name, *args = spec.split(":")
        try:
            result = await asyncio.wait_for(SCENARIOS[name](*args), 120)
        except Exception as e:  # reported for the test to show
            result = {"exception": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps({"scenario": spec, **result}), flush=True)


asyncio.run(main())
