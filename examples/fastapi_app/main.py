"""A FastAPI app served by rsgi:

    rsgi --plugin python --http :8000 --asgi main:app --pythonpath examples/fastapi_app

JSON in and out, a streamed response, a file, a background task, and lifespan state.
"""
import asyncio
import os
from contextlib import asynccontextmanager

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel

HERE = os.path.dirname(os.path.abspath(__file__))


@asynccontextmanager
async def lifespan(app):
    # What a real app opens once per worker (a connection pool, say).
    yield {"greeting": "hello from the lifespan", "pid": os.getpid()}


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/")
async def root(request: Request):
    return {"message": request.state.greeting, "pid": request.state.pid}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/items")
async def create_item(item: Item):
    return {"name": item.name, "total": item.price * 2, "tags": item.tags}


@app.get("/stream")
async def stream(n: int = 5):
    async def numbers():
        for i in range(n):
            yield f"line {i}\n"
            await asyncio.sleep(0)

    return StreamingResponse(numbers(), media_type="text/plain")


@app.get("/file")
async def file():
    return FileResponse(os.path.join(HERE, "sample.txt"), media_type="text/plain")


@app.post("/background")
async def background(tasks: BackgroundTasks, path: str):
    def write():
        with open(path, "a") as f:
            f.write("written after the response\n")

    tasks.add_task(write)
    return {"scheduled": True}


@app.get("/sync")
def sync_view():
    # A plain def: FastAPI runs it in its thread pool.
    return {"sync": True}
