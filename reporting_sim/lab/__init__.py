"""The teaching lab: ``reporting-sim lab``, a local web application for a class.

It shows the scenario's reporting network, replays one event moving through it, lets
the class flip mechanisms and move the parameters it argues about, runs the base and
the changed scenario over paired replications in the background, shows where the hours
go, and exports the settings as a what-if variant file for ``compare``.

Built on Shiny for Python (see docs/lab.md for why): a server on loopback that serves
every script and style itself, so the lab works with no network. The web framework is
an optional extra (``pip install -e ".[lab]"``); this module imports it only when the
lab starts. :mod:`.core` holds what the lab computes, free of any web code.
"""

from __future__ import annotations

import importlib.util

INSTALL_HINT = 'the lab needs its web framework: pip install -e ".[lab]" (or: pip install "shiny>=1.0")'


def available() -> bool:
    """Whether the lab's web framework is installed."""
    return importlib.util.find_spec("shiny") is not None and importlib.util.find_spec("uvicorn") is not None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` on ``host`` can be listened on now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def serve(scenario: str, *, port: int | None = None, open_browser: bool = True, variants_dir=None,
          days: float = 60.0, replications: int = 6, echo=print) -> None:
    """Start the lab on 127.0.0.1 (a free port unless ``port``), print its URL, open a
    browser unless told not to, and serve until interrupted."""
    import threading
    import webbrowser

    import uvicorn

    from .app import make_app

    app = make_app(scenario, variants_dir=variants_dir, days=days, replications=replications)
    host = "127.0.0.1"
    port = free_port(host) if port is None else port
    url = f"http://{host}:{port}/"
    echo(f"reporting-sim lab: {url}  (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
