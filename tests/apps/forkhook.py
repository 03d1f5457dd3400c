"""An app that registers fork hooks at import (as uwsgidecorators.postfork users do).

Loaded once in the master (preforking), its after_in_child hook must run in each worker
after the fork: /hooked answers which pid ran it and whether that is this worker.
"""
import os

ran_in = []
before = []


def _after_in_child():
    ran_in.append(os.getpid())


def _before():
    before.append(os.getpid())


os.register_at_fork(before=_before, after_in_child=_after_in_child)
LOADED_IN = os.getpid()


def application(environ, start_response):
    body = "loaded %d before %s after_in_child %s me %d" % (
        LOADED_IN,
        ",".join(map(str, before)),
        ",".join(map(str, ran_in)),
        os.getpid(),
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
