"""Answers the process's umask, open-file limit and address-space limit, and its pid."""
import json
import os
import resource


def application(environ, start_response):
    mask = os.umask(0)
    os.umask(mask)
    body = json.dumps({
        "pid": os.getpid(),
        "umask": mask,
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "as": resource.getrlimit(resource.RLIMIT_AS)[0],
    })
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]
