"""A Starlette app for rsgi's WebSocket tests (tests/websocket_asgi.rs), written the way
Starlette's documentation shows: a WebSocketEndpoint class for /echo (the same commands
as ws_asgi_app's echo: `close CODE REASON`, `raise`, else the message back), and denials
through Starlette's own API. What the app sees goes to stderr as `ws-app: ...` lines."""
import sys

from starlette.applications import Starlette
from starlette.endpoints import WebSocketEndpoint
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket


def say(*words):
    print("ws-app:", *words, file=sys.stderr, flush=True)


async def home(request):
    return PlainTextResponse("starlette home")


class Echo(WebSocketEndpoint):
    encoding = None

    async def on_connect(self, websocket):
        offered = websocket.scope["subprotocols"]
        chosen = next((p for p in ("chat.v2", "chat.v1") if p in offered), None)
        await websocket.accept(subprotocol=chosen, headers=[(b"x-accepted-by", b"starlette")])

    async def on_receive(self, websocket, data):
        if isinstance(data, str):
            if data.startswith("close "):
                _, code, reason = data.split(" ", 2)
                await websocket.close(int(code), reason)
                return
            if data == "raise":
                raise RuntimeError("the starlette endpoint raised after accept")
            await websocket.send_text(data)
        else:
            await websocket.send_bytes(data)

    async def on_disconnect(self, websocket, close_code):
        say("disconnect", close_code)


async def deny_response(websocket: WebSocket):
    # The websocket.http.response extension, through Starlette.
    await websocket.send_denial_response(
        PlainTextResponse("starlette says no", status_code=401, headers={"x-denied-by": "starlette"})
    )


async def deny(websocket: WebSocket):
    await websocket.close()


app = Starlette(
    routes=[
        Route("/", home),
        WebSocketRoute("/echo", Echo),
        WebSocketRoute("/deny-response", deny_response),
        WebSocketRoute("/deny", deny),
    ]
)
