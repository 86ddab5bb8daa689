"""httpx plumbing: authentication bound to the API's origin, use of a caller's client, and
requests whose whole length (not only each read) is bounded."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import httpx

from ._secret import Secret
from ._version import __version__

if TYPE_CHECKING:  # at run time the generated package is imported on first use
    from cometapi_replicate_api.models import Prediction
    from cometapi_replicate_api.types import Response

USER_AGENT = f"cometapi-replicate/{__version__}"


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class OriginBearerAuth(httpx.Auth):
    """``Authorization: Bearer <key>``, sent only to the API's own origin."""

    def __init__(self, key: Secret, base_url: httpx.URL) -> None:
        self._key = key
        self._origin = origin(base_url)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if origin(request.url) == self._origin:
            request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        else:
            request.headers.pop("Authorization", None)
        yield request

    def __repr__(self) -> str:
        return f"OriginBearerAuth(origin={self._origin!r})"


class ForwardingTransport(httpx.BaseTransport):
    """Sends the SDK's fully built requests through a caller's ``httpx.Client``.

    The caller's transport, proxies, limits and event hooks apply; its base URL, auth and
    redirects do not. Closing this transport leaves the caller's client open: it is theirs.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.send(request, stream=True, auth=None, follow_redirects=False)


class AsyncForwardingTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`ForwardingTransport`."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True, auth=None, follow_redirects=False)


_API_SUFFIXES = ("/replicate/v1", "/replicate")


def normalize_base_url(url: httpx.URL) -> httpx.URL:
    """The base URL the SDK appends ``/replicate/v1/...`` to: a path ending in ``/replicate``
    or ``/replicate/v1`` (as CometAPI's documentation writes URLs) loses that ending, so
    ``https://api.cometapi.com/replicate/v1`` means ``https://api.cometapi.com/``."""
    path = url.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            return url.copy_with(path=path.removesuffix(suffix) + "/")
    return url


_sniffio_spared = 0  # open async clients that marked sniffio absent
_sniffio_lock = threading.Lock()


def spare_failing_sniffio_imports() -> bool:
    """Without ``sniffio`` installed, httpcore tries ``import sniffio`` again on every async
    request, and each failed try searches every entry of ``sys.path`` (about half the client's
    CPU of a sequential async ``get``). Marking the module absent (``sys.modules["sniffio"] =
    None``, the import system's own way to say so) makes the same failure instant. ``True``:
    marked for this client, which calls :func:`restore_sniffio_imports` when it closes; an
    installed ``sniffio`` is left alone."""
    import importlib.util
    import sys

    global _sniffio_spared
    with _sniffio_lock:
        if _sniffio_spared == 0:
            if "sniffio" in sys.modules or importlib.util.find_spec("sniffio") is not None:
                return False
            sys.modules["sniffio"] = None  # type: ignore[assignment]
        _sniffio_spared += 1
        return True


def restore_sniffio_imports() -> None:
    """Undo :func:`spare_failing_sniffio_imports` once the last client that marked it closes,
    so a ``sniffio`` installed meanwhile can be imported."""
    import sys

    global _sniffio_spared
    with _sniffio_lock:
        _sniffio_spared -= 1
        if _sniffio_spared == 0 and "sniffio" in sys.modules and sys.modules["sniffio"] is None:
            del sys.modules["sniffio"]


class RequestDeadlineExceeded(httpx.TimeoutException):
    """The whole request (connect, send, the whole body) took longer than its budget."""


class Requests:
    """Builds one httpx client's API requests, as the generated endpoints describe them.

    httpx parses two URLs for each request it builds, most of a ``get``'s client CPU outside
    the network. A wait asks for one path again and again, so the URL of a plain ``GET`` is
    parsed once per path and kept (at most ``KEPT`` paths; then they are forgotten at once).
    """

    KEPT = 4096

    def __init__(self, client: httpx.Client | httpx.AsyncClient, timeout: httpx.Timeout) -> None:
        self._client, self._timeout = client, timeout
        self._urls: dict[str, httpx.URL] = {}

    def build(self, kwargs: dict[str, Any], budget: float | None) -> httpx.Request:
        """The request ``kwargs`` describe, each phase's timeout cut to ``budget``."""
        timeout = _within(self._timeout, budget)
        plain_get = kwargs.keys() == {"method", "url"} and kwargs["method"].upper() == "GET"
        url = self._urls.get(kwargs["url"]) if plain_get else None
        if url is None:
            request = self._client.build_request(**kwargs, timeout=timeout)
            if plain_get:
                if len(self._urls) >= self.KEPT:
                    self._urls.clear()
                self._urls[kwargs["url"]] = request.url
            return request
        client = self._client  # what build_request adds to a plain GET
        return httpx.Request(
            "GET",
            url,
            headers=client.headers,
            cookies=client.cookies if client.cookies else None,
            extensions={"timeout": timeout.as_dict()},
        )


def _within(timeout: httpx.Timeout, budget: float | None) -> httpx.Timeout:
    """``timeout`` with each phase cut to ``budget`` (itself when nothing needs cutting)."""
    phases = timeout.as_dict()
    if budget is None or all(limit is not None and limit <= budget for limit in phases.values()):
        return timeout
    return httpx.Timeout(
        **{
            phase: budget if limit is None else min(limit, budget)
            for phase, limit in phases.items()
        }
    )


def _reply(response: httpx.Response, body: bytes) -> Response[Prediction]:
    from cometapi_replicate_api.types import Response

    return Response(
        status_code=response.status_code,
        content=body,
        headers=response.headers,
        parsed=None,
    )


class _Exchange:
    """One request and its body (at most ``limit + 1`` bytes), run in a thread so the caller
    can stop waiting at the budget: httpx's timeouts bound each read, not the whole."""

    def __init__(self, client: httpx.Client, request: httpx.Request, limit: int) -> None:
        self.client, self.request, self.limit = client, request, limit
        self.done: threading.Event | None = None  # set when it runs in a thread
        self.abandoned = False
        self.response: httpx.Response | None = None
        self.result: Response[Prediction] | None = None
        self.error: BaseException | None = None

    def __call__(self) -> None:
        try:
            self.response = self.client.send(self.request, stream=True)
            try:
                body = bytearray()
                for chunk in self.response.iter_bytes():
                    body += chunk
                    if len(body) > self.limit or self.abandoned:
                        break
                self.result = _reply(self.response, bytes(body[: self.limit + 1]))
            finally:
                self.response.close()
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        finally:
            if self.done is not None:
                self.done.set()

    def abandon(self) -> None:
        """Stop waiting; cut the connection under a body still arriving."""
        self.abandoned = True
        stream = self.response.extensions.get("network_stream") if self.response else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def send(
    client: httpx.Client,
    request: httpx.Request,
    budget: float | None,
    limit: int,
    *,
    bounded: bool = False,
) -> Response[Prediction]:
    """Send ``request`` and read its body; ``RequestDeadlineExceeded`` once ``budget`` seconds
    have passed, whatever the server does (a body dripping a byte a second included).
    ``bounded``: ``_deadline.bound_requests`` holds ``client`` to the deadline, on this
    thread."""
    exchange = _Exchange(client, request, limit)
    if budget is None:
        exchange()
    elif bounded:
        from ._deadline import request_deadline

        with request_deadline(budget) as passed:
            exchange()
        if isinstance(exchange.error, httpx.TimeoutException) and passed():
            error = RequestDeadlineExceeded(f"no complete response within {budget:g}s")
            raise error from exchange.error
    else:
        exchange.done = threading.Event()
        threading.Thread(target=exchange, name="cometapi-request", daemon=True).start()
        if not exchange.done.wait(budget):
            exchange.abandon()
            raise RequestDeadlineExceeded(f"no complete response within {budget:g}s")
    if exchange.error is not None:
        raise exchange.error
    assert exchange.result is not None
    return exchange.result


async def asend(
    client: httpx.AsyncClient, request: httpx.Request, budget: float | None, limit: int
) -> Response[Prediction]:
    """The async twin of :func:`send`."""
    import asyncio  # here, not at the top: a synchronous user never pays for its import

    try:
        async with asyncio.timeout(budget):
            response = await client.send(request, stream=True)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        break
                return _reply(response, bytes(body[: limit + 1]))
            finally:
                await response.aclose()
    except TimeoutError:
        raise RequestDeadlineExceeded(f"no complete response within {budget:g}s") from None
