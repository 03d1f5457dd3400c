"""The `rsgi` command of the wheel: runs the rsgi binary shipped in this package.

What it adds to the command line, so that `rsgi --module app` serves from a venv with
nothing else to say:

- the package's plugin directory, after any RSGI_PLUGIN_DIR of the caller;
- `--plugin python` when no plugin is named (no --plugin, RSGI_PLUGIN(S) or config file):
  the python plugin in the wheel is built for this interpreter;
- `--virtualenv sys.prefix` when this interpreter runs in a venv and no --virtualenv,
  --home, RSGI_VIRTUALENV or config file says otherwise: the venv's site-packages (where
  the app's dependencies were installed next to rsgi) are then the app's.

A config file (--config, --ini) is left to say these itself: the environment would
override it, and a command-line option would too.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _given(args, names):
    return any(a == n or a.startswith(n + "=") for a in args for n in names)


def command(args, environ):
    """The binary, its argv and its environment for `rsgi ARGS`."""
    exe = os.path.join(HERE, "bin", "rsgi")
    env = dict(environ)
    plugins = os.path.join(HERE, "plugins")
    env["RSGI_PLUGIN_DIR"] = ":".join(p for p in (environ.get("RSGI_PLUGIN_DIR"), plugins) if p)
    extra = []
    with_config = _given(args, ("--config", "--ini")) or "RSGI_CONFIG" in environ
    if not with_config:
        named = _given(args, ("--plugin", "--plugins")) or any(
            k in environ for k in ("RSGI_PLUGIN", "RSGI_PLUGINS")
        )
        if not named:
            extra += ["--plugin", "python"]
        in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
        chosen = _given(args, ("--virtualenv", "--home", "--venv")) or any(
            k in environ for k in ("RSGI_VIRTUALENV", "RSGI_HOME", "RSGI_VENV")
        )
        if in_venv and not chosen:
            extra += ["--virtualenv", sys.prefix]
    return exe, ["rsgi"] + extra + list(args), env


def main():
    exe, argv, env = command(sys.argv[1:], os.environ)
    os.execve(exe, argv, env)
