"""A server that is never the bottleneck: output files sent from disk, one prediction from memory.

``python -m tools.bench.wire FOLDER BODY_FILE``: an HTTP/1.1 keep-alive server on loopback, in
its own process pinned to one core, a thread per connection. ``GET /files/NAME`` sends the file
``FOLDER/NAME`` with ``os.sendfile`` (the kernel copies the bytes; this process touches none of
them, as a CDN's server does); ``GET /replicate/v1/predictions/ID`` answers the bytes of
``BODY_FILE`` (a prediction's JSON) whatever the id. Prints ``{"url", "pinned"}`` once serving;
stops at the end of its standard input.

Also the clients that measure it alone (:func:`drain`, :func:`raw_gets`): raw sockets that only
read the bytes, so what they measure is the server's ceiling, not a client's cost.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools.bench.common import SERVER_CPU, pin

_HEAD_LIMIT = 64 * 1024


def _read_head(conn: socket.socket, pending: bytearray) -> bytes | None:
    """The next request's head (through the blank line), or ``None`` when the peer closed."""
    while (end := pending.find(b"\r\n\r\n")) < 0:
        if len(pending) > _HEAD_LIMIT:
            return None
        data = conn.recv(65536)
        if not data:
            return None
        pending += data
    head = bytes(pending[: end + 4])
    del pending[: end + 4]
    return head


def _serve(conn: socket.socket, folder: Path, body: bytes) -> None:
    pending = bytearray()
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while (head := _read_head(conn, pending)) is not None:
            path = head.split(b" ", 2)[1].decode("latin-1")
            if path.startswith("/files/"):
                file = folder / Path(path.removeprefix("/files/")).name
                try:
                    fd = os.open(file, os.O_RDONLY)
                except OSError:
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    continue
                try:
                    size = os.fstat(fd).st_size
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
                        b"content-length: %d\r\n\r\n" % size
                    )
                    offset = 0
                    while offset < size:
                        sent = os.sendfile(conn.fileno(), fd, offset, size - offset)
                        if sent == 0:
                            return
                        offset += sent
                finally:
                    os.close(fd)
            elif path.startswith("/replicate/v1/predictions/"):
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")


def main() -> None:
    folder, body_file = Path(sys.argv[1]), Path(sys.argv[2])
    pinned = pin(SERVER_CPU)
    body = body_file.read_bytes()
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    port = listener.getsockname()[1]

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_guarded, args=(conn, folder, body), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(json.dumps({"url": f"http://127.0.0.1:{port}", "pinned": pinned}), flush=True)
    for line in sys.stdin:
        if line.strip() == "cpu":
            print(json.dumps({"cpu": time.process_time()}), flush=True)
    listener.close()


def _guarded(conn: socket.socket, folder: Path, body: bytes) -> None:
    with contextlib.suppress(OSError):  # the client went away
        _serve(conn, folder, body)


# -- the clients that measure the server alone -------------------------------------------------


def _drain_one(host: str, port: int, path: str, buffer: bytearray) -> int:
    """GET ``path`` on a fresh connection and read the whole body into ``buffer``, discarding
    it; the body's size."""
    with socket.create_connection((host, port)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n".encode())
        pending = bytearray()
        while (end := pending.find(b"\r\n\r\n")) < 0:
            pending += sock.recv(65536)
        head, rest = bytes(pending[:end]), len(pending) - end - 4
        size = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        view = memoryview(buffer)
        received = rest
        while received < size:
            got = sock.recv_into(view)
            if not got:
                raise ConnectionError("the server closed early")
            received += got
        return size


def drain(url: str, paths: Sequence[str], parallel: int) -> float:
    """Seconds to read every ``paths`` body, ``parallel`` at once, doing nothing with the bytes."""
    host, port = url.removeprefix("http://").split(":")
    buffers = [bytearray(1 << 20) for _ in range(parallel)]
    free = list(buffers)
    lock = threading.Lock()

    def one(path: str) -> int:
        with lock:
            buffer = free.pop()
        try:
            return _drain_one(host, int(port), path, buffer)
        finally:
            with lock:
                free.append(buffer)

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, paths))
    return time.perf_counter() - started


def raw_gets(url: str, path: str, calls: int) -> float:
    """Microseconds per sequential GET of ``path`` on one keep-alive connection, reading the
    response with a raw socket (no HTTP library): the server's own time per call, plus loopback."""
    host, port = url.removeprefix("http://").split(":")
    request = f"GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def once() -> None:
            sock.sendall(request)
            pending = bytearray()
            while (end := pending.find(b"\r\n\r\n")) < 0:
                pending += sock.recv(65536)
            start = pending.find(b"content-length:", 0, end)
            size = int(pending[start + 15 : pending.find(b"\r\n", start)])
            while len(pending) < end + 4 + size:
                pending += sock.recv(65536)

        once()
        started = time.perf_counter()
        for _ in range(calls):
            once()
        return (time.perf_counter() - started) / calls * 1e6


if __name__ == "__main__":
    main()
