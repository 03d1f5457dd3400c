"""Every test app wrapped in wsgiref.validate.validator, the checker that ships with
Python: it raises AssertionError (or warns with WSGIWarning) when the server or the app
breaks PEP 3333. tests/wsgi.rs mounts each callable here and exercises it.

venvapp imports a package that exists only in the project's venv: run with --virtualenv.
"""
import importlib.machinery
import importlib.util
import os
from wsgiref.validate import validator

import app
import other
import threaded_app
import venvapp
import wsgi_app as _wsgi


def _load_file(path):
    loader = importlib.machinery.SourceFileLoader("validated_site_wsgi", path)
    spec = importlib.util.spec_from_file_location("validated_site_wsgi", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


_HERE = os.path.dirname(os.path.abspath(__file__))

application = validator(app.application)
wsgi_app = validator(_wsgi.application)
wsgi_second = validator(_wsgi.second)
other_app = validator(other.app)
other_custom = validator(other.custom)
threaded = validator(threaded_app.application)
venv_app = validator(venvapp.application)
site_wsgi = validator(_load_file(os.path.join(_HERE, "wsgifile", "site.wsgi")).application)
