"""A FastAPI JSON endpoint for the benchmark: the same file for every server.

GET /json answers {"message": "Hello, World!"} through FastAPI's routing, dependency
resolution and JSON response: the cost of an ASGI framework on top of the server.
"""
from fastapi import FastAPI

app = FastAPI()


@app.get("/json")
async def json():
    return {"message": "Hello, World!"}
