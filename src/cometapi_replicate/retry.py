"""Which failures to retry and how long to wait first: pure decisions, no I/O."""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from .errors import APIConnectionError, APIStatusError, CometAPIError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "is_transient", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 524})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_transient(error: CometAPIError) -> bool:
    """Whether repeating the same GET may succeed: network trouble, 408, 429 and 5xx busy codes.

    Never 400/401/403/404, nor a 500 whose CometAPI envelope says ``invalid_request``.
    """
    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, APIStatusError):
        if error.status_code == 500 and error.code == "invalid_request":
            return False
        return error.status_code in RETRYABLE_STATUSES
    return False


def never_reached_server(error: CometAPIError) -> bool:
    """Whether the request provably never reached the server (no connection was made)."""
    return isinstance(error, APIConnectionError) and isinstance(error.__cause__, _NOT_SENT)


def safe_to_repeat_create(error: CometAPIError) -> bool:
    """A create is not idempotent: repeat it only when it cannot have created anything."""
    return never_reached_server(error) or (
        isinstance(error, APIStatusError) and error.status_code == 429
    )


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or
    as an HTTP-date (``now`` is the current Unix time). ``None`` when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0) if when.tzinfo else None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, raised to a server's ``Retry-After`` up to a cap."""

    max_retries: int = 2
    initial: float = 0.5
    maximum: float = 8.0
    max_retry_after: float = 60.0
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def backoff(self, attempt: int) -> float:
        """The pause before retry number ``attempt + 1``: half fixed, half random."""
        base = min(self.maximum, self.initial * 2.0**attempt)
        return base * (0.5 + 0.5 * self.random())

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The pause before retry ``attempt + 1``, honouring the server's ``Retry-After``."""
        backoff = self.backoff(attempt)
        if retry_after is None:
            return backoff
        return min(max(backoff, retry_after), self.max_retry_after)
