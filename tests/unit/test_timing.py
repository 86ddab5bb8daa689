"""Every pause, as a table: (attempt, failure, Retry-After, time failing, time left) -> decision.

``random=0`` makes the backoff its lower bound: 0.25, 0.5, 1, 2, 4, 4, ... seconds.
"""

from __future__ import annotations

import httpx
import pytest

from cometapi_replicate._errors import APIConnectionError, APITimeoutError, CometAPIError
from cometapi_replicate._timing import Timing, is_congestion

TIMING = Timing(max_retries=2, random=lambda: 0.0)
GRACE = TIMING.failure_grace


@pytest.mark.parametrize(
    ("attempt", "retryable", "retry_after", "failing_for", "remaining", "expected"),
    [
        # a call: max_retries retries, backoff doubling
        (0, True, None, None, None, 0.25),
        (1, True, None, None, None, 0.5),
        (2, True, None, None, None, None),  # out of retries
        (0, False, None, None, None, None),  # not worth another try
        (0, True, 7.0, None, None, 7.0),  # the server asks for more than the backoff
        (0, True, 0.1, None, None, 0.25),  # ... or for less: the backoff stands
        (0, True, 86_400.0, None, None, 60.0),  # Retry-After is capped
        (0, True, None, None, 0.3, 0.25),  # fits before the deadline
        (0, True, None, None, 0.25, None),  # would end at the deadline: give up
        (0, True, 7.0, None, 5.0, None),  # the server's pause would pass the deadline
        # a poll: failure_grace seconds of failures, whatever max_retries says
        (5, True, None, 10.0, None, 4.0),
        (50, True, None, GRACE - 1, None, 4.0),
        (5000, True, None, GRACE - 1, None, 4.0),  # no overflow, however many
        (5, True, None, GRACE, None, None),
        (0, False, None, 0.0, None, None),
        (3, True, None, 10.0, 1.0, None),
    ],
)
def test_retry_delay(
    attempt: int,
    retryable: bool,
    retry_after: float | None,
    failing_for: float | None,
    remaining: float | None,
    expected: float | None,
) -> None:
    decision = TIMING.retry_delay(
        attempt,
        retryable=retryable,
        retry_after=retry_after,
        failing_for=failing_for,
        remaining=remaining,
    )
    assert decision == expected


@pytest.mark.parametrize(
    ("scheduled", "retry_after", "remaining", "expected"),
    [
        (2.0, None, None, 2.0),
        (2.0, 5.0, None, 5.0),  # the server asks to wait longer
        (2.0, 1.0, None, 2.0),
        (2.0, 600.0, None, 60.0),  # capped
        (2.0, None, 0.5, 0.5),  # a last look at the deadline
        (2.0, 5.0, 3.0, 3.0),
        (2.0, None, 0.0, None),  # the deadline has passed
        (2.0, None, -1.0, None),
    ],
)
def test_poll_delay(
    scheduled: float, retry_after: float | None, remaining: float | None, expected: float | None
) -> None:
    assert TIMING.poll_delay(scheduled, retry_after=retry_after, remaining=remaining) == expected


def test_jitter_stays_within_half_and_full_backoff() -> None:
    high = Timing(random=lambda: 1.0)
    assert [high.backoff(a) for a in (0, 1, 4, 100)] == [0.5, 1.0, 8.0, 8.0]


@pytest.mark.parametrize(
    ("attempt", "failing_for", "congested", "expected"),
    [
        # the client's own congestion (PoolTimeout) has a call's budget, even in a poll
        (0, None, True, 0.25),
        (1, 10.0, True, 0.5),
        (2, 10.0, True, None),  # a poll gives up after max_retries, not after failure_grace
        (2, 10.0, False, 1.0),  # ... where a server's failure is ridden out
        (5, 10.0, True, None),  # failures in a row of any kind count
    ],
)
def test_congestion_is_not_ridden_out_for_the_grace(
    attempt: int, failing_for: float | None, congested: bool, expected: float | None
) -> None:
    decision = TIMING.retry_delay(
        attempt, retryable=True, retry_after=None, failing_for=failing_for, congested=congested
    )
    assert decision == expected


def test_only_a_pool_timeout_is_congestion() -> None:
    def caused(error: CometAPIError, cause: Exception) -> CometAPIError:
        error.__cause__ = cause
        return error

    pool = httpx.PoolTimeout("no connection available")
    assert is_congestion(caused(APITimeoutError("timed out"), pool))
    assert not is_congestion(caused(APITimeoutError("timed out"), httpx.ReadTimeout("slow")))
    assert not is_congestion(caused(APIConnectionError("refused"), httpx.ConnectError("no")))
    assert not is_congestion(APITimeoutError("timed out"))
