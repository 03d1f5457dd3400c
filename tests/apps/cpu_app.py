"""What the interpreter is, and two requests that tell whether they ran Python at the same
time: for the tests that run once per Python version (tests/pythons.rs)."""
import os
import sys
import sysconfig
import time


# /overlap: two requests, "a" and "b", each counting in pure Python.
_counts = {"a": 0, "b": 0}
_done = {"a": False, "b": False}

# How many times a request must see the other's count move between two of its own steps.
_WANT = 100


def _overlap(me, deadline_s):
    """Counts in pure Python and watches the other request's count: each time it moved
    between two of this request's own steps, the other one ran while this one was running.
    With a GIL and a switch interval longer than the deadline, the request holding the GIL
    never lets the other one run meanwhile (it can see the other's count move once or twice,
    across the moments it waited for the GIL itself, never _WANT times); free-threaded, the
    two run at the same time and both see it _WANT times. Answers "overlapped" or "alone"."""
    other = "b" if me == "a" else "a"
    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        seen = 0
        last = _counts[other]
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            _counts[me] += 1
            now = _counts[other]
            if now != last:
                seen += 1
                last = now
            if seen >= _WANT:
                _done[me] = True
                # Go on counting until the other one has seen enough of this one too.
                if _done[other]:
                    return "overlapped"
        return "overlapped" if seen >= _WANT else "alone"
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
