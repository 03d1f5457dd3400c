"""A Flask app that caches with Flask-Caching's UWSGICache (cachelib's uWSGI backend), as
apps written for uWSGI do, plus uWSGI's cache API called directly. Every answer names the
worker's pid, so a test can tell that workers share the cache.
"""
import os

import uwsgi
from flask import Flask, jsonify
from flask_caching import Cache

app = Flask(__name__)
cache = Cache(
    app,
    config={
        "CACHE_TYPE": "flask_caching.contrib.uwsgicache.UWSGICache",
        "CACHE_UWSGI_NAME": "shared",
        "CACHE_DEFAULT_TIMEOUT": 300,
    },
)
calls = []


@app.after_request
def served_by(response):
    # After the view, also for answers Flask-Caching took from the cache.
    response.headers["X-Pid"] = str(os.getpid())
    return response


@app.get("/set/<key>/<value>")
def set_value(key, value):
    return jsonify(pid=os.getpid(), stored=cache.set(key, value))


@app.get("/add/<key>/<value>")
def add_value(key, value):
    return jsonify(pid=os.getpid(), added=cache.add(key, value))


@app.get("/get/<key>")
def get_value(key):
    return jsonify(pid=os.getpid(), value=cache.get(key), has=cache.has(key))


@app.get("/memo")
@cache.cached(timeout=60)
def memo():
    calls.append(1)
    return jsonify(pid=os.getpid(), computed=len(calls))


@app.get("/raw/expiring")
def raw_expiring():
    # Two seconds: the cache counts whole seconds, so an item lives between one and two
    # seconds, and the read right after storing always finds it.
    stored = uwsgi.cache_update("brief", b"soon gone", 2)
    value = uwsgi.cache_get("brief")
    return jsonify(pid=os.getpid(), stored=stored, value=None if value is None else value.decode())


@app.get("/raw/get/<key>")
def raw_get(key):
    value = uwsgi.cache_get(key)
    return jsonify(pid=os.getpid(), value=None if value is None else value.decode())


@app.get("/raw/too-big")
def raw_too_big():
    return jsonify(stored=uwsgi.cache_set("big", b"x" * 5000, 0, "small"))
