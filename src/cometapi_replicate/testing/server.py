"""The sandbox over real HTTP: two uvicorn servers on loopback, the API and a delivery host."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from .sandbox import Sandbox

__all__ = ["SandboxServer"]

Scope = dict[str, Any]
CHUNK = 1 << 20
"""Large bodies go out in pieces of this size, so the server's flow control applies."""


class _App:
    """The ASGI application for one origin of the sandbox."""

    def __init__(self, sandbox: Sandbox, origin: str) -> None:
        self.sandbox, self.origin = sandbox, origin

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reply = self.sandbox.handle(self.origin, scope["method"], scope["path"], headers, body)
        fault = reply.fault
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        if fault is not None and fault.kind == "hang":
            await asyncio.sleep(3600)
        raw_headers = [
            (k.encode(), v.encode()) for k, v in reply.headers.items() if k != "content-length"
        ]
        raw_headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        if fault is not None and fault.kind == "drop":
            raise ConnectionAbortedError("sandbox fault: connection dropped")
        if fault is not None and fault.kind == "drip":
            for index in range(len(reply.body)):
                await asyncio.sleep(fault.seconds)
                chunk = reply.body[index : index + 1]
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        if fault is not None and fault.kind == "truncate":
            await send(
                {
                    "type": "http.response.body",
                    "body": reply.body[: len(reply.body) // 2],
                    "more_body": True,
                }
            )
            raise ConnectionAbortedError("sandbox fault: body truncated")
        out = reply.body
        for start in range(0, len(out), CHUNK) or range(1):
            more = start + CHUNK < len(out)
            piece = out[start : start + CHUNK]
            await send({"type": "http.response.body", "body": piece, "more_body": more})


class SandboxServer:
    """Serve a :class:`Sandbox` on ``host`` (API on ``port``, files on another free port).

    Use as a context manager, or ``start()`` / ``stop()``. ``base_url`` is the API's URL.
    ``start()`` binds both ports before it returns: a port in use raises :class:`OSError`
    (``EADDRINUSE``) at once; a port outside 0-65535 is a :class:`ValueError` here.
    """

    def __init__(
        self, sandbox: Sandbox | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        import uvicorn  # the ``sandbox`` extra

        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be a whole number from 0 to 65535, not {port!r}")
        self.sandbox = sandbox or Sandbox()
        self._servers = [
            uvicorn.Server(
                uvicorn.Config(
                    _App(self.sandbox, origin),
                    host=host,
                    log_level="critical",  # injected faults would log as errors
                    access_log=False,
                    lifespan="off",
                    timeout_graceful_shutdown=1,
                )
            )
            for origin in ("api", "files")
        ]
        self._thread: threading.Thread | None = None
        self._host, self._port = host, port

    @property
    def base_url(self) -> str:
        return self.sandbox.api_url

    def start(self) -> SandboxServer:
        """Bind both ports (an :class:`OSError` when one is taken), then serve them from a
        background thread; returns once they accept connections."""
        sockets: list[socket.socket] = []
        try:
            for port in (self._port, 0):
                sockets.append(_listening(self._host, port))
        except OSError:
            for sock in sockets:
                sock.close()
            raise
        api, files = (sock.getsockname()[1] for sock in sockets)
        self.sandbox.api_url = f"http://{self._host}:{api}"
        self.sandbox.files_url = f"http://{self._host}:{files}"

        async def main() -> None:
            pairs = zip(self._servers, sockets, strict=True)
            await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in pairs))

        self._thread = threading.Thread(
            target=asyncio.run, args=(main(),), name="sandbox", daemon=True
        )
        self._thread.start()
        while not all(s.started for s in self._servers):
            if not self._thread.is_alive():  # uvicorn gave up (it exits its thread)
                self.stop()
                for sock in sockets:
                    sock.close()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop both servers and wait for the thread to end."""
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def serve_forever(self) -> None:
        """Block until stopped (Ctrl-C)."""
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listening(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``; uvicorn listens on it. ``SO_REUSEADDR`` as uvicorn
    sets it: a port left in TIME_WAIT is reusable, one another socket holds is not."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
