"""App factories, as gunicorn (`factory_app:create_app()`) and granian/uvicorn (`--factory`) load them."""


def create_app(name="default"):
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("made by create_app(%r)" % name).encode()]

    return application


def broken():
    raise RuntimeError("no database to connect to")


settings = {"debug": False}
