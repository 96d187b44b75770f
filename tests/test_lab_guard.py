"""The lab's door (issue "hardening 3", items 11 and 21): it answers only requests for
its own loopback address from its own pages, refuses a websocket from another site
before it opens, needs no method but GET and HEAD, logs no traceback for a client that
breaks the protocol, and `lab --variants` must name a folder.

The ASGI layer is tested on its own; one test starts the lab as a process and sends it
what a hostile page and a broken client send (each of these failed before the guard:
101 for a foreign Origin, 200 for any Host, an h11 LocalProtocolError traceback in the
log after a malformed chunked body)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from helpers import ROOT
from reporting_sim.cli import cli
from reporting_sim.lab.guard import LoopbackGuard

PORT = 8123


def _call(scope: dict, app=None) -> list[dict]:
    sent: list[dict] = []
    reached = []

    async def inner(scope, receive, send):
        reached.append(scope["type"])
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"lab"})

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(LoopbackGuard(app or inner, PORT)(scope, receive, send))
    return sent if not reached else [{"reached": True}] + sent


def _scope(kind="http", host=f"127.0.0.1:{PORT}", origin=None, method="GET"):
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
    scope = {"type": kind, "path": "/", "headers": headers}
    if kind == "http":
        scope["method"] = method
    return scope


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"LOCALHOST:{PORT}"])
def test_the_lab_answers_its_own_address(host):
    assert _call(_scope(host=host))[0] == {"reached": True}
    assert _call(_scope(host=host, origin=f"http://127.0.0.1:{PORT}"))[0] == {"reached": True}
    assert _call(_scope("websocket", host=host, origin=f"http://localhost:{PORT}"))[:2] == \
        [{"reached": True}, {"type": "websocket.accept"}]


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{PORT}", "127.0.0.1", f"127.0.0.1:{PORT + 1}", ""])
def test_another_host_gets_403(host):
    sent = _call(_scope(host=host))
    assert sent[0]["status"] == 403 and b"answers only at" in sent[1]["body"]


@pytest.mark.parametrize("origin", ["http://evil.example", f"http://127.0.0.1:{PORT + 1}", "null",
                                    f"https://127.0.0.1:{PORT}"])
def test_another_origin_is_refused_and_its_websocket_never_opens(origin):
    assert _call(_scope(origin=origin))[0]["status"] == 403
    assert _call(_scope("websocket", origin=origin)) == [{"type": "websocket.close", "code": 1008}]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_methods_the_lab_does_not_use_get_405(method):
    assert _call(_scope(method=method))[0]["status"] == 405


def test_a_send_on_a_connection_the_client_broke_is_dropped_not_raised():
    class LocalProtocolError(Exception):  # what h11 raises under uvicorn (matched by its name)
        pass

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def broken(message):
        raise LocalProtocolError("can't handle event type Response when role=SERVER and state=MUST_CLOSE")

    async def receive():
        return {"type": "http.request", "body": b""}

    asyncio.run(LoopbackGuard(app, PORT)(_scope(), receive, broken))  # nothing raised, nothing logged

    async def bug(scope, receive, send):
        raise ValueError("a bug of the lab itself")

    async def fine(message):
        pass
    with pytest.raises(ValueError):
        asyncio.run(LoopbackGuard(bug, PORT)(_scope(), receive, fine))  # only the client's broken connection is hidden


def test_lab_refuses_a_variants_folder_that_is_not_there_in_one_line(tmp_path, monkeypatch):
    import reporting_sim.lab as lab

    served = []
    monkeypatch.setattr(lab, "serve", lambda *a, **k: served.append(a))
    r = CliRunner().invoke(cli, ["lab", "--no-browser", "--variants", str(tmp_path / "nope")])
    assert r.exit_code == 2 and not served
    assert r.output.count("\n") == 1 and r.output.startswith("error: --variants: ") and "no such folder" in r.output
    (tmp_path / "file").write_text("x")
    r = CliRunner().invoke(cli, ["lab", "--no-browser", "--variants", str(tmp_path / "file")])
    assert r.exit_code == 2 and not served


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        try:
            while len(out) < 200:
                got = s.recv(4096)
                if not got:
                    break
                out += got
        except OSError:
            pass
    return out


def _websocket(port: int, host: str, origin: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return _raw(port, (f"GET /websocket/ HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n").encode())


def test_the_running_lab_refuses_foreign_pages_and_logs_no_traceback_for_broken_clients():
    pytest.importorskip("shiny")
    from reporting_sim.lab import free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "reporting_sim", "lab", "--no-browser", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert f"127.0.0.1:{port}" in proc.stdout.readline()
        for _ in range(150):
            try:
                if _raw(port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()).startswith(b"HTTP/1.1 200"):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        own = f"127.0.0.1:{port}"
        assert _websocket(port, own, f"http://{own}").startswith(b"HTTP/1.1 101")
        assert _websocket(port, own, "http://evil.example").startswith(b"HTTP/1.1 403")
        assert _raw(port, b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n").startswith(b"HTTP/1.1 403")
        # a malformed chunked body: the server answers 400 and closes; nothing else follows
        _raw(port, f"POST / HTTP/1.1\r\nHost: {own}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".encode())
        _raw(port, f"GET / HTTP/1.1\r\nHost: {own}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n".encode())
        assert _raw(port, f"GET / HTTP/1.1\r\nHost: {own}\r\n\r\n".encode()).startswith(b"HTTP/1.1 200")  # still up
        time.sleep(1.0)
    finally:
        proc.terminate()
        log = proc.communicate(timeout=20)[0]
    assert "Traceback" not in log and "LocalProtocolError" not in log, log[-2000:]
