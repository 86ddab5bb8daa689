"""A client's settings, resolved once from its arguments and the environment: the base URL
(and the rule that keeps a key off plain http:// to any host but loopback), the key, the
timeouts, and the plan context every call of the client runs with."""

from __future__ import annotations

import ipaddress
import math
import os
from typing import Any

import httpx

from . import _plans as plans
from ._clock import Clock
from ._errors import MissingAPIKeyError
from ._http import USER_AGENT, OriginBearerAuth, normalize_base_url
from ._responses import MAX_RESPONSE_BYTES
from ._secret import install_log_filter, normalize_key
from ._timing import Timing

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "MAX_CONNECTIONS", "Settings"]

DEFAULT_BASE_URL = "https://api.cometapi.com"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""Per request: CometAPI's poll endpoint has been seen to hang, so every request has a limit.
Its largest phase (30 s) also bounds each whole API request: connect, send and the whole body."""

MAX_CONNECTIONS = 100
"""Requests in flight at once on one client (and the size of the pool it opens). Calls beyond
that wait their turn in the SDK, holding no connection, instead of in httpx's pool queue, whose
cost grows with its length and which ends in ``PoolTimeout``. A pause between polls holds none."""


class Settings:
    """A client's configuration, resolved from its arguments and the environment."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        clock: Clock | None,
        allow_insecure_http: bool = False,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        url = httpx.URL(base_url or os.environ.get("COMETAPI_BASE_URL") or DEFAULT_BASE_URL)
        url = normalize_base_url(url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, not {str(url)!r}")
        if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
            raise ValueError(
                f"base_url {str(url)!r} is plain http:// to a host that is not loopback: the key "
                "would cross the network in clear text. Use https://, or pass "
                "allow_insecure_http=True if you mean it"
            )
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be 1 or more")
        raw = api_key if api_key is not None else os.environ.get("COMETAPI_KEY", "")
        if not (isinstance(raw, str) and raw.strip()):
            raise MissingAPIKeyError("no API key: pass api_key= or set COMETAPI_KEY")
        self.key = normalize_key(raw)
        install_log_filter()
        self.base_url = url
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        if not all(t is None or 0 < t < math.inf for t in self.timeout.as_dict().values()):
            raise ValueError("timeout must be a positive finite number of seconds, or None")
        phases = [t for t in self.timeout.as_dict().values() if t is not None]
        self.context = plans.Context(
            timing=Timing(max_retries=max_retries, request_timeout=max(phases, default=None)),
            secret=self.key,
            clock=clock or Clock(),
            max_response_bytes=max_response_bytes,
        )

    def httpx_kwargs(self, *, downloads: bool = False) -> dict[str, Any]:
        """For the API client, or (``downloads``) for output files: those follow redirects,
        and the key still goes to the API's origin alone (httpx drops it on a cross-origin
        redirect; ``OriginBearerAuth`` never adds it for another origin)."""
        return {
            "base_url": "" if downloads else self.base_url,
            "auth": OriginBearerAuth(self.key, self.base_url),
            "timeout": self.timeout,
            "headers": {"User-Agent": USER_AGENT},
            "follow_redirects": downloads,
            "limits": httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=20),
        }


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
