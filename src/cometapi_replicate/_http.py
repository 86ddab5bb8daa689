"""httpx plumbing: authentication bound to the API's origin, and use of a caller's client."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from ._secret import Secret
from ._version import __version__

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
