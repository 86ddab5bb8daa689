"""What the clients do, as plans: generators that yield steps and never touch the network.

A driver (sync or async, in ``client.py``) performs each step and sends the result back:
``Call`` -> the generated endpoint's response or the exception it raised; ``Sleep`` -> None;
``Emit`` -> None (the driver hands the prediction to the caller). Every decision (retrying,
error mapping, the poll schedule, deadlines) lives here, once, for both drivers.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import httpx
from cometapi_replicate_api.models import Prediction, PredictionRequest
from cometapi_replicate_api.types import Response

from .errors import (
    APIConnectionError,
    APITimeoutError,
    CometAPIError,
    ResponseValidationError,
    WaitTimeoutError,
    redact,
    status_error,
)
from .inputs import encode_input, split_model
from .progress import parse_progress
from .retry import RetryPolicy, is_transient, parse_retry_after, safe_to_repeat_create
from .schedule import Schedule, bounded_delay
from .status import is_terminal, normalize_status, raise_for_failure

logger = logging.getLogger("cometapi_replicate")

T = TypeVar("T")

MAX_ID_LENGTH = 128
_BAD_ID = re.compile(r"[/?#%\\\s\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Call:
    """Call the generated endpoint ``operation`` with ``kwargs``."""

    operation: Literal["get", "create", "fetch"]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit:
    prediction: Prediction


Step = Call | Sleep | Emit
Plan = Generator[Step, Any, T]


@dataclass
class Context:
    """What every plan needs: the retry policy, a clock, and the secret to keep out of errors."""

    retry: RetryPolicy
    secret: str | None
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = field(default=time.time, repr=False)
    failure_grace: float = 300.0
    """How long a wait rides out failures that are each worth retrying (seconds)."""


def validate_prediction_id(prediction_id: object) -> str:
    """The id if it is safe to put in a URL path; ``ValueError`` otherwise (nothing is sent)."""
    if not isinstance(prediction_id, str):
        raise ValueError(f"a prediction id is a string, not {type(prediction_id).__name__}")
    if prediction_id in ("", ".", "..") or _BAD_ID.search(prediction_id):
        raise ValueError(f"not a prediction id: {prediction_id[:MAX_ID_LENGTH]!r}")
    if len(prediction_id) > MAX_ID_LENGTH:
        raise ValueError(f"a prediction id has at most {MAX_ID_LENGTH} characters")
    return prediction_id


def to_prediction(outcome: object, ctx: Context) -> tuple[Prediction, float | None]:
    """The prediction in a call's outcome and the server's Retry-After, or the mapped error."""
    outcome = check_outcome(outcome, ctx)
    if not isinstance(outcome, Response):
        raise TypeError(f"unexpected outcome {outcome!r}")
    if outcome.status_code // 100 != 2:
        raise status_error(outcome.status_code, outcome.headers, outcome.content, secret=ctx.secret)
    prediction = outcome.parsed
    if not isinstance(prediction, Prediction):
        raise ResponseValidationError(f"HTTP {outcome.status_code} without a prediction body")
    if not isinstance(prediction.id, str) or not isinstance(prediction.status, str):
        raise ResponseValidationError("the response is not a prediction: id or status missing")
    return prediction, parse_retry_after(outcome.headers, ctx.wall_clock())


def check_outcome(outcome: T, ctx: Context) -> T:
    """``outcome`` unless it is an exception, which is raised as one of ours."""
    if isinstance(outcome, CometAPIError):
        raise outcome
    if isinstance(outcome, BaseException):
        raise _map_exception(outcome, ctx) from outcome
    return outcome


def _map_exception(exc: BaseException, ctx: Context) -> CometAPIError:
    text = redact(str(exc) or type(exc).__name__, ctx.secret)
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out: {text}")
    if isinstance(exc, httpx.HTTPError):
        return APIConnectionError(f"connection error: {text}")
    if isinstance(exc, json.JSONDecodeError):
        return ResponseValidationError("the response body is not JSON")
    if isinstance(exc, KeyError | TypeError | ValueError | AttributeError):
        return ResponseValidationError(f"the response body is not a prediction ({text})")
    raise exc


def request(
    call: Call,
    ctx: Context,
    parse: Callable[[Any, Context], T],
    *,
    retryable: Callable[[CometAPIError], bool] = is_transient,
    deadline: float | None = None,
) -> Plan[T]:
    """One call with retries of the failures ``retryable`` accepts, up to the policy's count."""
    attempt = 0
    while True:
        outcome = yield call
        try:
            return parse(outcome, ctx)
        except CometAPIError as error:
            if attempt >= ctx.retry.max_retries or not retryable(error):
                raise
            delay = ctx.retry.delay(attempt, _retry_after(error, ctx))
            if deadline is not None and ctx.clock() + delay >= deadline:
                raise
            attempt += 1
            logger.debug("retry %d of %s in %.2fs after: %s", attempt, call.operation, delay, error)
            yield Sleep(delay)


def _retry_after(error: CometAPIError, ctx: Context) -> float | None:
    headers = getattr(error, "headers", None)
    return parse_retry_after(headers, ctx.wall_clock()) if headers else None


def get(prediction_id: str, ctx: Context) -> Plan[Prediction]:
    call = Call("get", {"id": validate_prediction_id(prediction_id)})
    prediction, _ = yield from request(call, ctx, to_prediction)
    return prediction


def create(model: str, model_input: Mapping[str, Any], ctx: Context) -> Plan[Prediction]:
    """Create a prediction. Not idempotent: repeated only if it cannot have reached the server."""
    owner, name = split_model(model)
    if not isinstance(model_input, Mapping):
        raise TypeError("input must be a mapping of the model's input names to values")
    body = PredictionRequest.from_dict({"input": encode_input(model_input)})
    call = Call("create", {"model_owner": owner, "model_name": name, "body": body})
    prediction, _ = yield from request(call, ctx, to_prediction, retryable=safe_to_repeat_create)
    logger.debug("created prediction %s of %s", prediction.id, model)
    return prediction


def run(
    model: str,
    model_input: Mapping[str, Any],
    ctx: Context,
    schedule: Schedule,
    timeout: float | None,
) -> Plan[Prediction]:
    """Create, wait (``timeout`` bounds the wait), and return the prediction if it succeeded."""
    prediction = yield from create(model, model_input, ctx)
    final = yield from watch(prediction, ctx, schedule, timeout=timeout)
    return raise_for_failure(final)


def fetch(source: str, destination: Path, overwrite: bool, ctx: Context) -> Plan[Path]:
    """Download one output (the driver streams it), retrying transient failures like a GET."""
    call = Call("fetch", {"url": source, "destination": destination, "overwrite": overwrite})
    path: Path = yield from request(call, ctx, _path)
    return path


def _path(outcome: object, ctx: Context) -> Path:
    path = check_outcome(outcome, ctx)
    if not isinstance(path, Path):
        raise TypeError(f"unexpected outcome {path!r}")
    return path


def _fingerprint(p: Prediction) -> tuple[object, ...]:
    return (p.status, p.logs, p.output, p.error)


def watch(
    start: Prediction | str,
    ctx: Context,
    schedule: Schedule,
    *,
    timeout: float | None = None,
) -> Plan[Prediction]:
    """Poll until the prediction ends, emitting it each time it changes; return the last state.

    Transient failures are ridden out for ``ctx.failure_grace`` seconds (each poll's own
    retries included); the last error ends the wait when they persist or the deadline passes.
    """
    began = ctx.clock()
    deadline = None if timeout is None else began + timeout
    seen: tuple[object, ...] | None = None
    if isinstance(start, Prediction):
        prediction_id, latest = validate_prediction_id(start.id), start
        seen = _fingerprint(start)
        yield Emit(start)
        if is_terminal(start):
            return start
    else:
        prediction_id, latest = validate_prediction_id(start), None
    call = Call("get", {"id": prediction_id})
    warned: set[str] = set()
    failing_since: float | None = None
    failures = 0
    while True:
        retry_after: float | None
        try:
            latest, retry_after = yield from request(call, ctx, to_prediction, deadline=deadline)
        except CometAPIError as error:
            now = ctx.clock()
            failing_since = now if failing_since is None else failing_since
            if not is_transient(error) or now - failing_since >= ctx.failure_grace:
                raise
            retry_after = _retry_after(error, ctx)
            delay = ctx.retry.delay(min(failures, 6), retry_after)
            failures += 1
            if deadline is not None and now + delay >= deadline:
                raise
            logger.debug(
                "poll of %s failed, polling again in %.2fs: %s", prediction_id, delay, error
            )
            yield Sleep(delay)
            continue
        failing_since, failures = None, 0
        if _fingerprint(latest) != seen:
            seen = _fingerprint(latest)
            yield Emit(latest)
        if is_terminal(latest):
            return latest
        if normalize_status(latest.status) is None and latest.status not in warned:
            warned.add(latest.status)
            logger.warning(
                "prediction %s has unknown status %r; waiting on", prediction_id, latest.status
            )
        now = ctx.clock()
        if deadline is not None and now >= deadline:
            raise WaitTimeoutError(
                f"prediction {prediction_id} still {latest.status} after {timeout:g}s", latest
            )
        schedule.observe(now - began, latest.status, parse_progress(_text(latest.logs)))
        delay = bounded_delay(
            schedule.next_delay(now - began),
            retry_after=None
            if retry_after is None
            else min(retry_after, ctx.retry.max_retry_after),
            remaining=None if deadline is None else deadline - now,
        )
        logger.debug("prediction %s is %s; next poll in %.2fs", prediction_id, latest.status, delay)
        yield Sleep(delay)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Done(Generic[T]):
    """What a driver yields last: the plan's return value."""

    value: T
