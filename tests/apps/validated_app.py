"""tests/apps/app.py's application behind wsgiref's PEP 3333 validator: an environ, a
start_response call or a response that breaks the spec raises AssertionError (a 500 and a
traceback in the log), and so does every WSGIWarning, made an error here."""
import warnings
from wsgiref.validate import WSGIWarning, validator

import app

warnings.simplefilter("error", WSGIWarning)

application = validator(app.application)
