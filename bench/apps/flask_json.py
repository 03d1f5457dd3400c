"""A Flask JSON endpoint for the benchmark: the same file for every server.

GET /json answers {"message": "Hello, World!"} through Flask's routing, request context
and JSON provider: the cost of a framework on top of the server.
"""
from flask import Flask

app = Flask(__name__)


@app.get("/json")
def json():
    return {"message": "Hello, World!"}
