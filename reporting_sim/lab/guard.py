"""The lab's door: an ASGI layer in front of the web application that answers only the
browser of the machine it runs on.

The lab listens on 127.0.0.1 only, but a page open in the instructor's browser can
still reach it: a foreign site can open a websocket to it (the browser sends that
site's ``Origin``), and DNS rebinding makes a foreign name resolve to 127.0.0.1 (the
browser then sends that name as ``Host``). So every request must be addressed to the
lab's own loopback address (``Host`` is ``127.0.0.1:PORT`` or ``localhost:PORT``) and,
when the browser says where it comes from (``Origin``), come from the lab's own page;
anything else gets ``403`` (a websocket is refused before it opens). The lab needs
only ``GET`` and ``HEAD`` (everything else runs over its websocket), so other methods
get ``405`` without their body being read.

A client that breaks the HTTP protocol (a malformed chunked body, say) makes the
server answer ``400`` and close; the application's own answer that follows then has
nowhere to go. That is the client's error, not the lab's: it is dropped quietly
rather than logged as a traceback.

Pure ASGI, no web framework: tested on its own.
"""

from __future__ import annotations

from typing import Awaitable, Callable

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class ClientGone(Exception):
    """The connection can take no more: the client broke the protocol or left."""


def _protocol_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the HTTP layer refusing to send on a dead connection."""
    return type(exc).__name__ in ("LocalProtocolError", "ClientDisconnected", "ConnectionClosed") or \
        isinstance(exc, (ConnectionResetError, BrokenPipeError))


class LoopbackGuard:
    """ASGI middleware: lets through only requests for ``http://127.0.0.1:PORT/`` (or
    ``localhost``) from the lab's own pages (see the module docstring)."""

    def __init__(self, app, port: int):
        self.app = app
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}

    def refusal(self, scope: Scope) -> str:
        """Why the request is refused (``""``: it is not)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if headers.get("host", "").lower() not in self.hosts:
            return "this lab answers only at " + " or ".join(f"http://{h}/" for h in sorted(self.hosts))
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return "requests from other sites are refused"
        if scope["type"] == "http" and scope.get("method", "GET") not in ("GET", "HEAD"):
            return "method"
        return ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        why = self.refusal(scope)
        try:
            if why:
                await _refuse(scope, _guarded(send), why)
            else:
                await self.app(scope, receive, _guarded(send))
        except ClientGone:
            return


def _guarded(send: Send) -> Send:
    async def guarded(message: dict) -> None:
        try:
            await send(message)
        except Exception as exc:
            if _protocol_error(exc):
                raise ClientGone() from None
            raise
    return guarded


async def _refuse(scope: Scope, send: Send, why: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})  # before accept: the server answers 403
        return
    status, text = (405, "the lab answers GET and HEAD only") if why == "method" else (403, why)
    body = (text + "\n").encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode("ascii")), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
