"""What the interpreter is, and two requests that tell whether they ran Python at the same
time: for the tests that run once per Python version (tests/pythons.rs)."""
import os
import sys
import sysconfig
import time


# /overlap: two requests, "a" and "b", each counting in pure Python.
_counts = {"a": 0, "b": 0}
_saw_other = {"a": False, "b": False}


def _overlap(me, deadline_s):
    """Counts in pure Python until this request has seen the other one's count move while
    it ran itself, and the other has seen the same, or until the deadline passes. With a
    GIL and a switch interval longer than the deadline, the request holding the GIL never
    lets the other one run Python meanwhile, so each finds itself alone; free-threaded, the
    two run at the same time and both see it. Answers "overlapped" or "alone"."""
    other = "b" if me == "a" else "a"
    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        start = _counts[other]
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            _counts[me] += 1
            if _counts[other] != start:
                _saw_other[me] = True
            if _saw_other[me] and _saw_other[other]:
                return "overlapped"
        return "overlapped" if _saw_other[me] else "alone"
    finally:
        sys.setswitchinterval(old)


def _info():
    gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    lines = [
        "version=%d.%d.%d" % sys.version_info[:3],
        "free_threaded_build=%s" % bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil=%s" % gil,
        "executable=%s" % sys.executable,
        "prefix=%s" % sys.prefix,
        "base_prefix=%s" % sys.base_prefix,
        "pid=%d" % os.getpid(),
    ]
    return "\n".join(lines)


def application(environ, start_response):
    if environ["PATH_INFO"] == "/overlap":
        me, deadline = environ["QUERY_STRING"].split("&")
        body = _overlap(me, float(deadline))
    else:
        body = _info()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
