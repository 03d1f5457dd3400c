"""A WSGI app written for uWSGI's WebSocket API (tests/websocket.rs).

/plain answers over HTTP; any other path accepts the WebSocket handshake (with the first
subprotocol the client offered) and echoes: text `bin X` comes back as binary X, `nb`
answers what websocket_recv_nb() gives when nothing waits, `raise` raises, `bye` returns.
"""

import uwsgi


def application(env, start_response):
    if env["PATH_INFO"] == "/plain":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"plain"]
    offered = env.get("HTTP_SEC_WEBSOCKET_PROTOCOL", "")
    proto = offered.split(",")[0].strip() or None
    uwsgi.websocket_handshake(env["HTTP_SEC_WEBSOCKET_KEY"], env.get("HTTP_ORIGIN", ""), proto)
    while True:
        try:
            msg = uwsgi.websocket_recv()
        except OSError as e:
            uwsgi.log("websocket ended: %s" % e)
            return []
        if msg == b"raise":
            raise RuntimeError("the test asked the websocket app to raise")
        if msg == b"bye":
            return []
        if msg.startswith(b"bin "):
            uwsgi.websocket_send_binary(msg[4:])
        elif msg == b"nb":
            uwsgi.websocket_send(repr(uwsgi.websocket_recv_nb()))
        else:
            uwsgi.websocket_send(msg)
