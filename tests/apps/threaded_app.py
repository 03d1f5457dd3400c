"""An app that starts its own thread at import (in the master when preforking) and is
served by several request threads: the scenario where uWSGI workers hung on the GIL after
fork (Python 3.12, threads + max-requests)."""
import os
import threading
import time

TICKS = [0]
_TICKED = threading.Event()


def _background():
    while True:
        sum(range(2000))  # hold the GIL for a moment, again and again
        TICKS[0] += 1
        _TICKED.set()
        time.sleep(0.001)


threading.Thread(target=_background, daemon=True, name="app-background").start()
# The import returns once the thread has run: when preforking, a worker forked from a master
# whose thread had not been scheduled yet would otherwise report TICKS 0 (it inherits the
# counter, not the thread), which the recycle tests would read as a thread that never ran.
_TICKED.wait(10)


_BARRIERS = {}
_BARRIERS_LOCK = threading.Lock()


def application(environ, start_response):
    if environ["PATH_INFO"] == "/together":
        # Answers once N requests (the query string) are in the app at the same time:
        # proof of concurrency without a clock. If they never are, BrokenBarrierError
        # after 20 s: a 500.
        n = int(environ.get("QUERY_STRING") or "2")
        with _BARRIERS_LOCK:
            barrier = _BARRIERS.setdefault(n, threading.Barrier(n, timeout=20))
        barrier.wait()
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(environ.get("QUERY_STRING") or "1"))
    body = ("%d %s %d" % (os.getpid(), environ["wsgi.multithread"], TICKS[0] > 0)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
