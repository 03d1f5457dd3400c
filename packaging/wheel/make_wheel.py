"""Writes the rsgi wheel from built files (scripts/build-wheel.sh runs it).

    make_wheel.py OUTDIR VERSION RSGI_BINARY PLUGIN... 

Run by the interpreter the python plugin was built for: the wheel's tag is that
interpreter's (cpXY-cpXY, or cpXYt for a free-threaded one) and this platform's
(linux_x86_64; not manylinux, see scripts/build-wheel.sh). The wheel holds the package
`rsgi_server` (bin/rsgi, plugins/librsgi_*.so, the launcher) and the console script `rsgi`.
A wheel is a zip with a .dist-info directory (PEP 427); this writes it with zipfile rather
than through a build backend, as nothing in it is built by Python.
"""

import base64
import hashlib
import os
import sys
import sysconfig
import zipfile

PACKAGE = "rsgi_server"
HERE = os.path.dirname(os.path.abspath(__file__))


def tag():
    version = "%d%d" % sys.version_info[:2]
    free = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "cp%s-cp%s%s-%s" % (version, version, free, platform)


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def main():
    outdir, version, binary = sys.argv[1:4]
    plugins = sys.argv[4:]
    wheel_tag = tag()
    dist_info = "rsgi-%s.dist-info" % version
    files = []  # (name in the wheel, bytes, mode)

    def add(name, data, mode=0o644):
        files.append((name, data, mode))

    with open(os.path.join(HERE, "launcher.py"), "rb") as f:
        add(PACKAGE + "/__init__.py", f.read())
    add(PACKAGE + "/__main__.py", b"from rsgi_server import main\n\nmain()\n")
    with open(binary, "rb") as f:
        add(PACKAGE + "/bin/rsgi", f.read(), 0o755)
    for path in plugins:
        with open(path, "rb") as f:
            add(PACKAGE + "/plugins/" + os.path.basename(path), f.read())
    py = "%d.%d" % sys.version_info[:2]
    add(
        dist_info + "/METADATA",
        (
            "Metadata-Version: 2.1\n"
            "Name: rsgi\n"
            "Version: %s\n"
            "Summary: An application server in the uWSGI tradition (WSGI, ASGI), written in Rust\n"
            "License: MIT OR Apache-2.0\n"
            "Requires-Python: ==%s.*\n"
            "\n"
            "rsgi: a small master (sockets, prefork, signals, respawn, graceful reload)\n"
            "and plugins for the languages and protocols it speaks. This wheel holds the\n"
            "rsgi binary, the http and uwsgi protocol plugins and the python plugin built\n"
            "for CPython %s. In a venv, `rsgi --module app` serves app:application\n"
            "with the venv's packages.\n" % (version, py, py)
        ).encode(),
    )
    add(
        dist_info + "/WHEEL",
        (
            "Wheel-Version: 1.0\n"
            "Generator: rsgi packaging/wheel/make_wheel.py\n"
            "Root-Is-Purelib: false\n"
            "Tag: %s\n" % wheel_tag
        ).encode(),
    )
    add(dist_info + "/entry_points.txt", b"[console_scripts]\nrsgi = rsgi_server:main\n")
    record = [record_line(name, data) for name, data, _ in files]
    record.append(dist_info + "/RECORD,,")
    add(dist_info + "/RECORD", ("\n".join(record) + "\n").encode())

    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "rsgi-%s-%s.whl" % (version, wheel_tag))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data, mode in files:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    print(path)


if __name__ == "__main__":
    main()
