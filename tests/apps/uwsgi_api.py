"""An app written for uWSGI: `import uwsgi` and uwsgidecorators' postfork, timer, cron
and lock, as such apps use them. Timers and hooks record what ran, and where, as files
in $UWSGI_API_OUT; /facts answers what the uwsgi module says about this worker.
"""
import json
import os
import time

import uwsgi
from uwsgidecorators import cron, harakiri, lock, postfork, timer

OUT = os.environ["UWSGI_API_OUT"]
IMPORTED_IN = os.getpid()
postforked = []
only_in_2 = []


def record(name, text):
    with open(os.path.join(OUT, name), "a") as f:
        f.write(text + "\n")


@postfork
def reconnect():
    postforked.append(os.getpid())


@postfork(2)
def second_worker_only():
    only_in_2.append(os.getpid())


@timer(1)
def tick(signum):
    record("tick-%d" % uwsgi.worker_id(), str(signum))


@timer(1, target="workers")
def everyone(signum):
    record("all-%d" % uwsgi.worker_id(), str(signum))


@timer(1)
def broken(signum):
    raise ValueError("boom from a timer")


@cron(-1, -1, -1, -1, -1)
def every_minute(signum):
    record("cron-%d" % uwsgi.worker_id(), str(signum))


@lock
def bump():
    # Read, wait, write: without the lock, two workers lose updates.
    path = os.path.join(OUT, "counter")
    n = int(open(path).read()) if os.path.exists(path) else 0
    time.sleep(0.002)
    with open(path, "w") as f:
        f.write(str(n + 1))


@harakiri(1)
def too_slow():
    time.sleep(5)


def at_exit():
    record("atexit-%d" % uwsgi.worker_id(), str(os.getpid()))


uwsgi.atexit = at_exit


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/facts":
        body = json.dumps({
            "worker_id": uwsgi.worker_id(),
            "masterpid": uwsgi.masterpid(),
            "numproc": uwsgi.numproc,
            "pid": os.getpid(),
            "imported_in": IMPORTED_IN,
            "postforked": postforked,
            "only_in_2": only_in_2,
            "threads_opt": uwsgi.opt["threads"].decode(),
            "enable_threads": uwsgi.opt["enable-threads"],
            "lazy": bool(uwsgi.opt.get("lazy-apps")),
            "has_spool": hasattr(uwsgi, "spool"),
        })
    elif path == "/bump":
        bump()
        body = "bumped"
    elif path == "/log":
        uwsgi.log("a line from the app through uwsgi.log")
        body = "logged"
    elif path == "/too-slow":
        too_slow()
        body = "never"
    elif path == "/harakiri-then-return":
        uwsgi.set_user_harakiri(1)
        body = "armed"
    elif path == "/sleep":
        time.sleep(1.5)
        body = "slept"
    elif path == "/reload":
        body = str(uwsgi.reload())
    elif path == "/workers":
        body = json.dumps({"me": os.getpid(), "workers": list(uwsgi.workers())})
    else:
        body = "uwsgi api app"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
