"""Imports a package that exists only in the project's venv (tests/fixtures/venvpkg)."""
import rsgi_venv_probe


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [rsgi_venv_probe.VALUE.encode()]
