"""The teaching lab: ``reporting-sim lab``, a local web application for a class.

It shows the scenario's reporting network, readable on a projector; plays the mission
in motion (the scenario as it is and a what-if side by side, replaying the same
events); lets the class flip mechanisms and move the parameters it argues about; runs
the base and the changed scenario over paired replications in the background; poses
predict-then-run exercises; shows where the hours go and the ceilings of each stage;
and exports the settings as a what-if variant file for ``compare``.

Built on Shiny for Python (see docs/lab.md for why): a server on loopback that serves
every script and style itself, so the lab works with no network. The web framework is
an optional extra (``pip install -e ".[lab]"``); this module imports it only when the
lab starts. :mod:`.core`, :mod:`.mission` and :mod:`.exercises` hold what the lab
computes, free of any web code; :mod:`.panels` the page, one small module per panel;
:mod:`.guard` the door that answers only the machine's own browser.
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
    """Whether ``port`` on ``host`` can be listened on now (as the server binds it:
    a port a stopped lab left waiting to close is free; one that someone listens on is
    not)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    from .guard import LoopbackGuard

    app = make_app(scenario, variants_dir=variants_dir, days=days, replications=replications)
    host = "127.0.0.1"
    port = free_port(host) if port is None else port
    app = LoopbackGuard(app, port)  # answers only its own loopback address and pages
    url = f"http://{host}:{port}/"
    echo(f"reporting-sim lab: {url}  (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
