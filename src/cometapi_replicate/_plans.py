"""What the clients do, as plans: generators that yield typed steps and never touch the network.

A driver (sync or async, in ``_client.py``) performs each step and sends back its answer:

==================== ====================================================================
step                 answer
==================== ====================================================================
``GetPrediction``    a ``Reply``: the raw response (any status), body cut past the size cap
``CreatePrediction`` a ``Reply``: the raw response (any status), body cut past the size cap
``Sleep``            ``None`` once the pause is over
``Emit``             ``None`` once the caller has been handed the prediction
==================== ====================================================================

A step that fails is thrown into the plan (``plan.throw(exc)``) at the ``yield`` that asked for
it; the plan maps, retries or raises it. What the plan returns comes back to the driver through
``StopIteration``, as with any generator. Every decision (error mapping, retries, the poll
schedule, deadlines) lives here and in ``timing.py``, once, for both drivers; what a server
sends is read in ``responses.py``. A call's ``budget`` is the most seconds the whole request
(connect, send, the whole body) may take: the driver ends it then, whatever the server does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import httpx

from ._clock import Clock
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    CometAPIError,
    ResponseValidationError,
    WaitTimeoutError,
    redact,
)
from ._inputs import TypedInput, encode_input, split_model, validate_prediction_id
from ._models import check_input, plain_input, sendable
from ._progress import parse_progress
from ._responses import MAX_RESPONSE_BYTES, parse_retry_after, read_prediction_body, server_time
from ._responses import Reply as Reply  # what drivers answer API calls with
from ._schedule import Durations, polling_schedule
from ._secret import Secret
from ._status import (
    PredictionStatus,
    awaiting_output,
    is_prediction,
    is_terminal,
    normalize_status,
    raise_for_failure,
)
from ._timing import Timing, is_congestion, is_transient, safe_to_repeat_create

if TYPE_CHECKING:  # at run time the generated models are imported on first use
    from cometapi_replicate_api.models import Prediction, PredictionRequest

logger = logging.getLogger("cometapi_replicate")

T = TypeVar("T")


# Steps are named tuples: immutable like frozen dataclasses, at a tenth of the import time
# (``import cometapi_replicate`` makes these classes; a driver tells them apart by class).


class GetPrediction(NamedTuple):
    """Read a prediction (``GET /predictions/{id}``)."""

    prediction_id: str
    budget: float | None = None


class CreatePrediction(NamedTuple):
    """Start a prediction (``POST /models/{owner}/{name}/predictions``)."""

    owner: str
    name: str
    body: PredictionRequest
    budget: float | None = None


class Sleep(NamedTuple):
    seconds: float


class Emit(NamedTuple):
    """Hand the caller a state of the prediction it has not seen."""

    prediction: Prediction


Call = GetPrediction | CreatePrediction
Step = Call | Sleep | Emit
Plan = Generator[Step, Any, T]


@dataclass(frozen=True)
class Context:
    """What every plan needs: the timing policy, the clock, and the secret to keep out of errors."""

    timing: Timing
    secret: Secret | None
    clock: Clock = field(default_factory=Clock)
    max_response_bytes: int = MAX_RESPONSE_BYTES
    durations: Durations = field(default_factory=Durations, compare=False)
    """How long each model's predictions took, as this client saw them succeed: later blind
    waits on the model are aimed by them (in memory only, a few numbers per model)."""


class DeadlinePassed(Exception):
    """A wait's deadline came while its poll was failing; the failure is the cause."""


def read_prediction(reply: Reply, call: Call, ctx: Context) -> tuple[Prediction, float | None]:
    """The prediction answering ``call`` and the Retry-After the reply asks for, or the
    mapped error (a GET answered with another prediction is one)."""
    prediction = read_prediction_body(
        reply,
        secret=ctx.secret,
        limit=ctx.max_response_bytes,
        asked_for=call.prediction_id if isinstance(call, GetPrediction) else None,
    )
    return prediction, parse_retry_after(reply.response.headers, ctx.clock.time())


def translate(exc: Exception, ctx: Context) -> CometAPIError | None:
    """The SDK's error for what performing a step raised (caused by it); ``None``: let it
    through unchanged (``OSError`` from the filesystem, or a programming error)."""
    if isinstance(exc, CometAPIError):
        return exc
    error = _translate(exc, ctx)
    if error is not None:
        error.__cause__ = exc
    return error


def _translate(exc: Exception, ctx: Context) -> CometAPIError | None:
    text = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, ctx.secret)
    if isinstance(exc, httpx.PoolTimeout):
        return APITimeoutError(f"no free connection in the client's pool in time ({text})")
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out ({text})")
    if isinstance(exc, httpx.HTTPError):
        return APIConnectionError(f"connection error ({text})")
    if isinstance(exc, json.JSONDecodeError):
        return ResponseValidationError("the response body is not JSON")
    if isinstance(exc, KeyError | TypeError | ValueError | AttributeError):
        return ResponseValidationError(f"the response body is not a prediction ({text})")
    return None


def call_with_retries(
    call: Call,
    ctx: Context,
    *,
    retryable: Callable[[CometAPIError], bool] = is_transient,
    deadline: float | None = None,
    polling: bool = False,
) -> Plan[tuple[Prediction, float | None]]:
    """Perform ``call`` and read its answer, trying again while ``ctx.timing`` allows.

    A call is retried ``max_retries`` times; a poll (``polling``) for ``failure_grace`` seconds
    of failures in a row; never past ``deadline`` (``ctx.clock.monotonic()`` time): each
    request's budget is cut to the time left, and a retryable failure that the deadline
    leaves no time to retry raises :class:`DeadlinePassed` (caused by the error).
    """
    attempt, failing_since = 0, None
    while True:
        try:
            return read_prediction((yield _budgeted(call, ctx, deadline)), call, ctx)
        except Exception as exc:
            error = translate(exc, ctx)
            if error is None:
                raise
            now = ctx.clock.monotonic()
            failing_since = now if failing_since is None else failing_since
            headers = error.headers if isinstance(error, APIStatusError) else {}
            delay = ctx.timing.retry_delay(
                attempt,
                retryable=retryable(error),
                retry_after=parse_retry_after(headers, ctx.clock.time()),
                failing_for=now - failing_since if polling else None,
                congested=is_congestion(error),
            )
            if delay is not None and ctx.timing.out_of_time(delay, deadline, now):
                raise DeadlinePassed from error
            if delay is None:
                if error is exc:
                    raise
                raise error from exc
        attempt += 1
        logger.debug("retry %d of %s in %.2fs after: %s", attempt, _name(call), delay, error)
        yield Sleep(delay)


def _budgeted(call: Call, ctx: Context, deadline: float | None) -> Call:
    remaining = None if deadline is None else deadline - ctx.clock.monotonic()
    return call._replace(budget=ctx.timing.request_budget(remaining))


def _name(call: Call) -> str:
    return type(call).__name__


def get(prediction_id: str, ctx: Context) -> Plan[Prediction]:
    call = GetPrediction(validate_prediction_id(prediction_id))
    prediction, _ = yield from call_with_retries(call, ctx)
    return prediction


def create(
    model: str,
    model_input: Mapping[str, Any] | TypedInput,
    ctx: Context,
    *,
    validate: bool = True,
) -> Plan[Prediction]:
    """Create a prediction. Not idempotent: repeated only if it cannot have reached the server.

    A model with a vendored document has its input checked first (unless not ``validate``):
    :class:`InvalidInputError` before anything is sent; an optional input given as ``None`` is
    left out. Everything up to the request runs when this is called, not when the plan is
    driven, so a failure there is told apart from one of the request (see ``_batch``)."""
    owner, name = split_model(model)
    try:
        model_input = plain_input(model, model_input)
    except RecursionError:
        raise ValueError("input is not JSON: it contains itself") from None
    if validate:
        check_input(model, model_input)
    model_input = sendable(model, model_input)
    try:
        encoded = encode_input(model_input)
    except RecursionError:
        raise ValueError("input is not JSON: it contains itself") from None
    try:  # here, not later as a "bad response" to a request never sent
        json.dumps(encoded, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"input is not JSON: {exc}") from None
    from cometapi_replicate_api.models import PredictionRequest

    body = PredictionRequest.from_dict({"input": encoded})
    return _send_create(owner, name, body, ctx)


def _send_create(owner: str, name: str, body: Any, ctx: Context) -> Plan[Prediction]:
    prediction, _ = yield from call_with_retries(
        CreatePrediction(owner, name, body),
        ctx,
        retryable=safe_to_repeat_create,
    )
    logger.debug("created prediction %s of %s/%s", prediction.id, owner, name)
    return prediction


def run(
    model: str,
    model_input: Mapping[str, Any] | TypedInput,
    ctx: Context,
    *,
    timeout: float | None = None,
    poll_interval: float | None = None,
    validate: bool = True,
) -> Plan[Prediction]:
    """Create, report, wait (``timeout`` bounds the wait), and return the prediction if it
    succeeded."""
    _check_timeout(timeout)
    prediction = yield from create(model, model_input, ctx, validate=validate)
    if not awaiting_output(prediction):  # as ``watch``: a state without its output is held
        yield Emit(prediction)
    final = yield from watch(prediction, ctx, timeout=timeout, poll_interval=poll_interval)
    return raise_for_failure(final)


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and not timeout >= 0:  # NaN too: it would mean no limit
        raise ValueError("timeout must be 0 or more seconds, or None for no limit")


def _fingerprint(p: Prediction) -> tuple[object, ...]:
    return (p.status, p.logs, p.output, p.error)


def _logs(p: Prediction) -> str | None:
    return p.logs if isinstance(p.logs, str) else None


def watch(
    start: Prediction | str,
    ctx: Context,
    *,
    timeout: float | None = None,
    poll_interval: float | None = None,
    stream: bool = False,
) -> Plan[Prediction]:
    """Poll until the prediction ends, emitting each state the caller has not seen (not
    ``start`` itself, unless ``stream`` and it has already ended); return the last state.

    A prediction ``succeeded`` without output yet (:func:`awaiting_output`) is polled on for
    ``ctx.timing.output_grace`` seconds (never past ``timeout``), then returned as it is; that
    state is not emitted unless it is the one returned. The grace is given once per wait: a
    server that goes back to ``processing`` does not restart it. A poll that fails during it
    returns the state already seen instead of raising."""
    _check_timeout(timeout)
    schedule = polling_schedule(poll_interval)
    began = ctx.clock.monotonic()
    deadline = None if timeout is None else began + timeout
    given = start if is_prediction(start) else None
    prediction_id = validate_prediction_id(start.id if is_prediction(start) else start)
    ended = given is not None and is_terminal(given)
    if given is not None and ended and not awaiting_output(given):
        if stream:
            yield Emit(given)
        return given
    seen = _fingerprint(given) if given is not None and not (ended and stream) else None
    warned: set[str] = set()
    latest = given
    # When a state awaiting its output is returned as it is: set once, the first time one is seen.
    grace_ends = began + ctx.timing.output_grace if ended else None
    created: float | None = None
    while True:
        held = latest if latest is not None and awaiting_output(latest) else None
        try:
            latest, retry_after = yield from call_with_retries(
                GetPrediction(prediction_id),
                ctx,
                deadline=_earliest(deadline, grace_ends) if held else deadline,
                polling=True,
            )
        except (DeadlinePassed, CometAPIError) as failed:
            if held is not None:  # the grace or the timeout is over, or the poll failed
                if _fingerprint(held) != seen:
                    yield Emit(held)
                return held
            if not isinstance(failed, DeadlinePassed):
                raise
            last = f"still {latest.status}" if latest is not None else "no answer"
            raise WaitTimeoutError(  # maybe before the deadline: no retry fits before it
                f"prediction {prediction_id}: {last}, and its {timeout:g}s timeout leaves no "
                f"time to try again ({failed.__cause__})",
                latest,
            ) from failed.__cause__
        now = ctx.clock.monotonic()
        awaiting = awaiting_output(latest)
        if awaiting and grace_ends is None:
            grace_ends = now + ctx.timing.output_grace
        ends = _earliest(deadline, grace_ends) if awaiting else deadline
        holding = awaiting and (ends is None or now < ends)
        if _fingerprint(latest) != seen and not holding:
            seen = _fingerprint(latest)
            yield Emit(latest)
        if is_terminal(latest) and not holding:
            learn_duration(latest, ctx.durations)
            return latest
        if normalize_status(latest.status) is None and latest.status not in warned:
            warned.add(latest.status)
            logger.warning(
                "prediction %s has unknown status %r; waiting on", prediction_id, latest.status
            )
        if created is None and (created := server_time(latest.created_at)) is not None:
            schedule.aged(ctx.clock.time() - created - (now - began))  # its age at the first poll
        if isinstance(latest.model, str):  # each poll: others' waits may have ended meanwhile
            schedule.learn(ctx.durations.of(latest.model))
        schedule.observe(now - began, latest.status, parse_progress(_logs(latest)))
        delay = ctx.timing.poll_delay(
            schedule.next_delay(now - began),
            retry_after=retry_after,
            remaining=None if ends is None else ends - now,
        )
        if delay is None:
            raise WaitTimeoutError(
                f"prediction {prediction_id} still {latest.status} after {timeout:g}s", latest
            )
        logger.debug("prediction %s is %s; next poll in %.2fs", prediction_id, latest.status, delay)
        yield Sleep(delay)


def learn_duration(prediction: Prediction, durations: Durations) -> None:
    """Remember how long ``prediction`` took, by the server's timestamps, if it succeeded."""
    if normalize_status(prediction.status) is not PredictionStatus.SUCCEEDED:
        return
    start, end = server_time(prediction.created_at), server_time(prediction.completed_at)
    if isinstance(prediction.model, str) and start is not None and end is not None:
        durations.record(prediction.model, end - start)


def _earliest(*times: float | None) -> float | None:
    return min((t for t in times if t is not None), default=None)


def next_emit(plan: Plan[object]) -> Plan[Prediction | None]:
    """Carry ``plan`` on to its next ``Emit``: that prediction, or ``None`` once the plan has
    ended. A driver runs it again and again to iterate a plan's updates (``watch``)."""
    answer: object = None
    error: Exception | None = None
    while True:
        try:
            step = plan.send(answer) if error is None else plan.throw(error)
        except StopIteration:
            return None
        if isinstance(step, Emit):
            return step.prediction
        answer, error = None, None
        try:
            answer = yield step
        except Exception as exc:  # for the plan to map, retry or raise
            error = exc
