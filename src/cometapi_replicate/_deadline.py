"""Whole-request deadlines on the sync client's own connections, without a thread.

httpx's timeouts bound each read, not a request: a server dripping its body a byte a second
could hold one forever. Every socket operation of the client's transports is cut to the time
left before the deadline of the request using it (a context variable set around the request).
Imported when a sync client is created: ``import cometapi_replicate`` does not load httpcore.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_deadline_at: ContextVar[float | None] = ContextVar("cometapi_request_deadline", default=None)


def _cut(timeout: float | None, late: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` for one socket operation, cut to the time left before the request's
    deadline; ``late`` raised once it has passed."""
    deadline = _deadline_at.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline of the request using it."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _cut(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _cut(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, cut))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Connecting:
    """One connection attempt, run in a thread the request can stop waiting for."""

    def __init__(self, connect: Callable[[], httpcore.NetworkStream]) -> None:
        self.connect, self.lock, self.done = connect, threading.Lock(), threading.Event()
        self.abandoned = False
        self.stream: httpcore.NetworkStream | None = None
        self.error: BaseException | None = None

    def __call__(self) -> None:
        try:
            stream = self.connect()
        except BaseException as exc:  # handed to the requesting thread
            self.error = exc
        else:
            with self.lock:
                if self.abandoned:
                    stream.close()
                else:
                    self.stream = stream
        finally:
            self.done.set()


def _connect_by_deadline(connect: Callable[[], httpcore.NetworkStream]) -> httpcore.NetworkStream:
    """``connect()`` bounded by the request's deadline. Socket timeouts leave out name
    resolution and give each address of a host the whole timeout, so a new connection (not a
    request on a kept one) is opened in a thread that the request stops waiting for."""
    deadline = _deadline_at.get()
    if deadline is None:
        return connect()
    attempt = _Connecting(connect)
    threading.Thread(target=attempt, name="cometapi-connect", daemon=True).start()
    if not attempt.done.wait(max(deadline - time.monotonic(), 0.0)):
        with attempt.lock:
            if attempt.stream is None and attempt.error is None:
                attempt.abandoned = True
                raise httpcore.ConnectTimeout("no connection before the request's deadline")
    if attempt.error is not None:
        raise attempt.error
    assert attempt.stream is not None
    return attempt.stream


class _DeadlineBackend(httpcore.NetworkBackend):
    """Opens :class:`_DeadlineStream` connections through httpcore's own backend."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            _connect_by_deadline(
                lambda: self._backend.connect_tcp(host, port, cut, local_address, socket_options)
            )
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            _connect_by_deadline(
                lambda: self._backend.connect_unix_socket(path, cut, socket_options)
            )
        )

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bound_requests(client: httpx.Client) -> bool:
    """Make each transport of ``client`` (httpx's own, proxies included) end every socket
    operation by the deadline of :func:`request_deadline`; ``False`` if one is not httpx's own
    (a caller's, through ``ForwardingTransport``): ``_http.send`` then waits in a thread."""
    mounts: dict[Any, Any] | None = getattr(client, "_mounts", None)  # httpx's own attributes,
    if not hasattr(client, "_transport") or not isinstance(mounts, dict):
        return False
    transports = [client._transport, *mounts.values()]
    pools: list[Any] = [getattr(t, "_pool", None) for t in transports if t is not None]
    backends = [getattr(pool, "_network_backend", None) for pool in pools]  # httpcore's too
    if not all(isinstance(backend, httpcore.NetworkBackend) for backend in backends):
        return False
    for pool in pools:
        pool._network_backend = _DeadlineBackend(pool._network_backend)
    return True


@contextmanager
def request_deadline(budget: float) -> Iterator[Callable[[], bool]]:
    """Bound the requests made inside to ``budget`` seconds; yields "has it passed?"."""
    deadline = time.monotonic() + budget
    token = _deadline_at.set(deadline)
    try:
        yield lambda: time.monotonic() >= deadline - 0.01  # a socket may end a hair early
    finally:
        _deadline_at.reset(token)
