"""What the interpreter is, and CPU-bound work in pure Python: for the tests that run once
per Python version (tests/pythons.rs)."""
import os
import sys
import sysconfig


def _spin(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


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
    if environ["PATH_INFO"] == "/cpu":
        body = str(_spin(int(environ.get("QUERY_STRING") or "1000000")))
    else:
        body = _info()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
