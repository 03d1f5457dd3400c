"""Preforking vs --lazy-apps, shown with a database connection opened at import time.

    rsgi --plugin python --module app --processes 2              # preforking (default)
    rsgi --plugin python --module app --processes 2 --lazy-apps  # each worker imports the app

GET / answers which process opened the connection this worker uses, and which process
is answering. Preforking: every worker answers with the master's pid as the opener — they
all share ONE connection (one file descriptor, one SQLite handle, one server-side session
for a network database) that was opened before fork. That is unsafe: two workers writing
through the same socket interleave their protocol messages; SQLite forbids using a
connection across fork. With --lazy-apps each worker imports the app itself, so each opens
its own connection (opener pid == worker pid).
"""
import os
import sqlite3
import tempfile

DB_PATH = os.path.join(tempfile.gettempdir(), "rsgi-lazy-apps-example.sqlite3")
CONNECTION = sqlite3.connect(DB_PATH, check_same_thread=False)
OPENED_BY = os.getpid()


def application(environ, start_response):
    body = "connection opened by pid %d, served by pid %d\n" % (OPENED_BY, os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
