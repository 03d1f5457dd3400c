"""The Python side of rsgi's ASGI server: the loop, the receive/send callables, lifespan.

The Rust side (rsgi_asgi.Exchange for an http scope, rsgi_asgi.WebSocket for a websocket
one) holds the host's exchange; these coroutines only wait on futures the Rust side
resolves when the host wakes the exchange. An http request's receive and send are the
Rust side's own (they answer awaitables that need no coroutine when nothing waits), and
call receive() and writable() here only when they must wait.
"""
import asyncio

READABLE = 1
WRITABLE = 2


def new_loop(kind):
    """An event loop of `kind` (auto, asyncio, uvloop), the name of what it is, and
    whether its tasks start eagerly.

    Where Python has them (3.12+), tasks start eagerly: a request whose app never
    suspends (most answers from memory) runs to its end inside create_task, without a
    trip through the loop's ready queue."""
    loop, name = None, "asyncio"
    if kind in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            loop, name = uvloop.new_event_loop(), "uvloop"
    if loop is None:
        loop = asyncio.new_event_loop()
    eager = getattr(asyncio, "eager_task_factory", None)
    if eager is not None:
        loop.set_task_factory(eager)
    return loop, name, eager is not None


class Channel:
    """receive and send for one websocket (x.receive() answers None when it must wait to
    read, x.send() True when it must wait for room). An http request's are Rust's
    (run_http)."""

    __slots__ = ("x", "loop")

    def __init__(self, x, loop):
        self.x = x
        self.loop = loop

    async def receive(self):
        x = self.x
        while True:
            message = x.receive()
            if message is not None:
                return message
            waiter = self.loop.create_future()
            x.wait(waiter, READABLE)
            await waiter

    async def send(self, message):
        x = self.x
        if x.send(message):
            waiter = self.loop.create_future()
            x.wait(waiter, WRITABLE)
            await waiter


async def receive(x, loop):
    """An http receive that must wait for the host (the Rust side answers the others)."""
    while True:
        message = x.receive()
        if message is not None:
            return message
        waiter = loop.create_future()
        x.wait(waiter, READABLE)
        await waiter


async def writable(x, loop):
    """An http send that must wait until the client has read (back-pressure)."""
    waiter = loop.create_future()
    x.wait(waiter, WRITABLE)
    await waiter


async def run_http(app, scope, x):
    """One http request: x.asgi_receive and x.asgi_send answer awaitables from Rust;
    x.returned() and x.failed() make the loop forget the request."""
    try:
        await app(scope, x.asgi_receive, x.asgi_send)
    except BaseException as exc:
        x.failed(exc)
    else:
        x.returned()


async def run(app, scope, x, loop):
    channel = Channel(x, loop)
    try:
        await app(scope, channel.receive, channel.send)
    except BaseException as exc:
        x.failed(exc)
    else:
        x.returned()
    finally:
        forget(x.id)  # noqa: F821 (set by the Rust side when the loop starts)


class Lifespan:
    """The lifespan protocol for one worker: startup at start, shutdown at the end.

    report(phase, outcome, text) tells the Rust side how a phase ended: outcome is
    "complete", "failed" (the app sent *.failed with text) or "raised" (text is the
    traceback)."""

    def __init__(self, app, state, loop, report):
        self.app = app
        self.state = state
        self.loop = loop
        self.report = report
        self.inbox = asyncio.Queue()
        self.phase = "startup"
        self.reported = set()

    def begin(self):
        self.task = self.loop.create_task(self.main())
        self.inbox.put_nowait({"type": "lifespan.startup"})

    def shutdown(self):
        self.phase = "shutdown"
        if self.task.done():
            self.tell("shutdown", "complete", "")
            return
        self.inbox.put_nowait({"type": "lifespan.shutdown"})

    def tell(self, phase, outcome, text):
        if phase not in self.reported:
            self.reported.add(phase)
            self.report(phase, outcome, text)

    async def main(self):
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self.receive, self.send)
        except BaseException:
            import traceback

            self.tell(self.phase, "raised", traceback.format_exc())
        else:
            # An app that returns without answering the phase it was in.
            self.tell(self.phase, "complete", "")

    async def receive(self):
        return await self.inbox.get()

    async def send(self, message):
        kind = message.get("type", "")
        if kind == "lifespan.startup.complete":
            self.tell("startup", "complete", "")
        elif kind == "lifespan.startup.failed":
            self.tell("startup", "failed", str(message.get("message", "")))
        elif kind == "lifespan.shutdown.complete":
            self.tell("shutdown", "complete", "")
        elif kind == "lifespan.shutdown.failed":
            self.tell("shutdown", "failed", str(message.get("message", "")))
        else:
            raise RuntimeError("unexpected ASGI lifespan message %r" % (kind,))
