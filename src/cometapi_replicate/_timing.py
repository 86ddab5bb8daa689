"""Every pause the SDK takes, decided in one place: pure functions of the time passed in.

Which failures are worth another try (:func:`is_transient`, :func:`safe_to_repeat_create`),
what a server asks for (:func:`parse_retry_after`, read once per response, defensively, in
``responses.py``), how long one request may take, and how long to wait
(:class:`Timing`): the pause before retrying a failed call or poll, or the decision to give up;
the pause before the next poll, or the decision that the deadline has passed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    CometAPIError,
    OtherPredictionError,
)
from ._responses import parse_retry_after

__all__ = [
    "RETRYABLE_STATUSES",
    "Timing",
    "bounded_delay",
    "is_congestion",
    "is_transient",
    "parse_retry_after",
    "safe_to_repeat_create",
]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 524})
OUTPUT_GRACE = 6.0
"""Seconds a wait keeps polling a prediction that says ``succeeded`` with ``output`` null: a
proxy may report the status a poll or two before its copy of the output (CometAPI's docs: poll
"until output is populated or error is not null"). Three polls at the longest pause of the
adaptive schedule (2 s) fit in it; a model whose output really is null costs at most this."""
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_transient(error: CometAPIError) -> bool:
    """Whether repeating the same GET may succeed: network trouble, 408, 429 and 5xx busy codes,
    another prediction's body (a proxy's fault). Never 400/401/403/404, nor a 500 whose
    CometAPI envelope says ``invalid_request``.
    """
    if isinstance(error, APIConnectionError | OtherPredictionError):
        return True
    if isinstance(error, APIStatusError):
        if error.status_code == 500 and error.code == "invalid_request":
            return False
        return error.status_code in RETRYABLE_STATUSES
    return False


def never_reached_server(error: CometAPIError) -> bool:
    """Whether the request provably never reached the server (no connection was made)."""
    return isinstance(error, APIConnectionError) and isinstance(error.__cause__, _NOT_SENT)


def is_congestion(error: CometAPIError) -> bool:
    """Whether the client's own pool had no free connection in time (``PoolTimeout``): the
    client's congestion, not a failure of the server; the request never left."""
    return isinstance(error, APITimeoutError) and isinstance(error.__cause__, httpx.PoolTimeout)


def safe_to_repeat_create(error: CometAPIError) -> bool:
    """A create is not idempotent: repeat it only when it cannot have created anything."""
    return never_reached_server(error) or (
        isinstance(error, APIStatusError) and error.status_code == 429
    )


def bounded_delay(
    delay: float, *, retry_after: float | None = None, remaining: float | None = None
) -> float:
    """``delay`` raised to a server's ``Retry-After`` and cut to the time left before a deadline."""
    if retry_after is not None:
        delay = max(delay, retry_after)
    if remaining is not None:
        delay = min(delay, max(remaining, 0.0))
    return max(delay, 0.0)


@dataclass(frozen=True)
class Timing:
    """Exponential backoff with jitter, raised to a server's ``Retry-After`` up to a cap.

    A call (get, create, one output file) is retried ``max_retries`` times; a poll inside a wait
    is retried for ``failure_grace`` seconds of failures in a row instead, except for the
    client's own congestion (:func:`is_congestion`): riding that out for minutes only queues
    more requests behind it, so it has a call's budget, polls included. Nothing waits past a
    deadline: a pause that would end at or after it is a decision to give up.
    """

    max_retries: int = 2
    initial: float = 0.5
    maximum: float = 8.0
    max_retry_after: float = 60.0
    failure_grace: float = 300.0
    output_grace: float = OUTPUT_GRACE
    """Seconds a wait polls on a prediction ``succeeded`` without output (see
    :func:`~cometapi_replicate._status.awaiting_output`) before it returns it as it is."""
    request_timeout: float | None = None
    """The most seconds one whole request may take (connect, send, the whole body)."""
    min_request: float = 1.0
    """The least a request is given, even at a deadline: a wait ends within its timeout plus
    this (and a poll is always tried once)."""
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def backoff(self, attempt: int) -> float:
        """The pause before retry number ``attempt + 1``: half fixed, half random."""
        base = min(self.maximum, self.initial * 2.0 ** min(attempt, 32))
        return base * (0.5 + 0.5 * self.random())

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The pause before retry ``attempt + 1``, honouring the server's ``Retry-After``."""
        backoff = self.backoff(attempt)
        if retry_after is None:
            return backoff
        return min(max(backoff, retry_after), self.max_retry_after)

    def retry_delay(
        self,
        attempt: int,
        *,
        retryable: bool,
        retry_after: float | None,
        failing_for: float | None = None,
        remaining: float | None = None,
        congested: bool = False,
    ) -> float | None:
        """The pause before trying again after failure ``attempt + 1`` in a row, or ``None``
        to give up (the caller raises the error).

        ``failing_for``: for a poll, seconds since its failures began (the budget is
        ``failure_grace``); ``None`` for a call (the budget is ``max_retries``).
        ``remaining``: seconds left before the deadline, ``None`` without one.
        ``congested``: the failure is the client's own congestion; the budget is
        ``max_retries`` (failures in a row, of any kind), even for a poll.
        """
        if not retryable:
            return None
        if (failing_for is None or congested) and attempt >= self.max_retries:
            return None
        if failing_for is not None and failing_for >= self.failure_grace:
            return None
        delay = self.delay(attempt, retry_after)
        if remaining is not None and delay >= remaining:
            return None
        return delay

    def request_budget(self, remaining: float | None) -> float | None:
        """Seconds the next request may take in all: ``request_timeout`` cut to ``remaining``
        (the time left before a deadline), but never below ``min_request``."""
        if remaining is not None:
            remaining = max(remaining, self.min_request)
        budgets = [b for b in (self.request_timeout, remaining) if b is not None]
        return min(budgets) if budgets else None

    @staticmethod
    def out_of_time(delay: float, deadline: float | None, now: float) -> bool:
        """Whether a retry after ``delay`` would start at or past ``deadline``."""
        return deadline is not None and now + delay >= deadline

    def poll_delay(
        self, scheduled: float, *, retry_after: float | None, remaining: float | None
    ) -> float | None:
        """The pause before the next poll: the schedule's ``scheduled`` delay, raised to the
        server's ``Retry-After`` (capped), cut at the deadline; ``None`` once it has passed."""
        if remaining is not None and remaining <= 0:
            return None
        if retry_after is not None:
            retry_after = min(retry_after, self.max_retry_after)
        return bounded_delay(scheduled, retry_after=retry_after, remaining=remaining)
