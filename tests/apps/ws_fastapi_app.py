"""A FastAPI app for rsgi's WebSocket tests (tests/websocket_asgi.rs): /echo with the same
commands as ws_asgi_app's (`close CODE REASON`, `raise`, else the message back), a route
with a path parameter and a required query parameter (FastAPI denies a handshake that
fails validation: a close before accept, so a 403), and a WebSocketException before
accept. What the app sees goes to stderr as `ws-app: ...` lines."""
import sys

from fastapi import FastAPI, Query, WebSocket, WebSocketDisconnect, WebSocketException, status

app = FastAPI()


def say(*words):
    print("ws-app:", *words, file=sys.stderr, flush=True)


@app.get("/")
def home():
    return {"hello": "fastapi"}


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    offered = websocket.scope["subprotocols"]
    chosen = next((p for p in ("chat.v2", "chat.v1") if p in offered), None)
    await websocket.accept(subprotocol=chosen, headers=[(b"x-accepted-by", b"fastapi")])
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message["code"], message.get("reason"))
            text = message.get("text")
            if text is None:
                await websocket.send_bytes(message["bytes"])
            elif text.startswith("close "):
                _, code, reason = text.split(" ", 2)
                await websocket.close(int(code), reason)
                return
            elif text == "raise":
                raise RuntimeError("the fastapi endpoint raised after accept")
            else:
                await websocket.send_text(text)
    except WebSocketDisconnect as e:
        say("disconnect", e.code, repr(e.reason))


@app.websocket("/items/{item_id}")
async def item(websocket: WebSocket, item_id: int, token: str = Query()):
    await websocket.accept()
    await websocket.send_json({"item_id": item_id, "token": token})
    await websocket.close()


@app.websocket("/deny")
async def deny(websocket: WebSocket):
    raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="not you")
