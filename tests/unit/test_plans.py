"""The sans-I/O core driven step by step: no sockets, no sleeps, no time but a number.

Each case gives a plan, the answers a driver would send back (an exception is thrown in at the
step that asked for it), the steps the plan must yield, and what it must return or raise.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, cast

import httpx
import pytest
from cometapi_replicate_api.models import Prediction, PredictionRequest
from cometapi_replicate_api.types import Response

from cometapi_replicate import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    PredictionFailedError,
    ResponseValidationError,
    WaitTimeoutError,
)
from cometapi_replicate import _plans as plans
from cometapi_replicate._plans import (
    CreatePrediction,
    Emit,
    GetPrediction,
    Plan,
    Reply,
    Sleep,
    Step,
)
from cometapi_replicate._schedule import BLIND_CAP
from cometapi_replicate._secret import Secret
from cometapi_replicate._timing import Timing

from ..conftest import KEY, FakeClock, prediction_body

ENVELOPE = {"error": {"message": "busy", "code": "upstream_error"}}


OUTPUT = ["https://files.example/out-0.png"]


def body_of(status: str, **extra: Any) -> dict[str, Any]:
    """A prediction's body; one that succeeded has its output."""
    return prediction_body(status, **({"output": OUTPUT} if status == "succeeded" else {}), **extra)


def ok(status: str = "processing", retry_after: str | None = None, **extra: Any) -> Reply:
    """A 200 with a prediction, as the generated endpoint returns it."""
    body = body_of(status, **extra)
    headers = {"retry-after": retry_after} if retry_after else {}
    parsed = Prediction.from_dict(body)
    return Reply(Response(HTTPStatus(200), json.dumps(body).encode(), headers, parsed))


def err(status: int, body: Any = ENVELOPE, **headers: str) -> Reply:
    return Reply(Response(HTTPStatus(status), json.dumps(body).encode(), headers, None))


def state(status: str, **extra: Any) -> Prediction:
    return Prediction.from_dict(body_of(status, **extra))


def context(clock: FakeClock, max_retries: int = 2) -> plans.Context:
    """A context whose backoff is its lower bound: 0.25 s, 0.5 s, 1 s, ... (no jitter)."""
    timing = Timing(max_retries=max_retries, random=lambda: 0.0)
    return plans.Context(timing=timing, secret=Secret(KEY), clock=clock)


@dataclass
class Walk:
    steps: list[Step] = field(default_factory=list)
    result: object = None
    error: BaseException | None = None


def walk(plan: Plan[Any], answers: Iterable[object], clock: FakeClock, exact: bool = True) -> Walk:
    """Drive ``plan`` as a driver does: each call gets the next answer (an exception is thrown
    in), a ``Sleep`` advances the clock, an ``Emit`` is recorded."""
    pending = iter(answers)
    out = Walk()
    answer: object = None
    throw: Exception | None = None
    while True:
        try:
            step = plan.throw(throw) if throw is not None else plan.send(answer)
        except StopIteration as stop:
            out.result = stop.value
            break
        except Exception as exc:
            out.error = exc
            break
        out.steps.append(step)
        answer, throw = None, None
        if isinstance(step, Sleep):
            clock.now += step.seconds
        elif not isinstance(step, Emit):
            item = next(pending, StopIteration)
            assert item is not StopIteration, f"no answer scripted for {step}"
            if isinstance(item, Exception):
                throw = item
            else:
                answer = item
    assert not exact or next(pending, None) is None, "every scripted answer was asked for"
    return out


GET = GetPrediction("pred1")


def budgeted(seconds: float) -> GetPrediction:
    """A poll of a wait with a deadline: its budget is the time left."""
    return GetPrediction("pred1", budget=seconds)


PlanFactory = Callable[[plans.Context], Plan[Any]]


def get(ctx: plans.Context) -> Plan[Prediction]:
    return plans.get("pred1", ctx)


def create(ctx: plans.Context) -> Plan[Prediction]:
    return plans.create("o/m", {"prompt": "x"}, ctx)


def watch(**kwargs: Any) -> PlanFactory:
    def factory(ctx: plans.Context) -> Plan[Prediction]:
        start = kwargs.pop("start", "pred1")
        return plans.watch(start, ctx, **kwargs)

    return factory


CREATE = CreatePrediction("o", "m", PredictionRequest.from_dict({"input": {"prompt": "x"}}))
FIXED = {"poll_interval": 1.0}

CASES: list[tuple[str, PlanFactory, list[object], list[Step], object]] = [
    ("get: one call", get, [ok()], [GET], "processing"),
    ("get: 503 is retried", get, [err(503), ok()], [GET, Sleep(0.25), GET], "processing"),
    (
        "get: backoff doubles, then the last error",
        get,
        [err(502), err(502), err(502)],
        [GET, Sleep(0.25), GET, Sleep(0.5), GET],
        InternalServerError,
    ),
    ("get: 404 is final", get, [err(404)], [GET], NotFoundError),
    (
        "get: Retry-After raises the pause",
        get,
        [err(429, **{"retry-after": "3"}), ok()],
        [GET, Sleep(3.0), GET],
        "processing",
    ),
    (
        "get: a dropped connection is retried",
        get,
        [httpx.ConnectError("refused"), ok("succeeded")],
        [GET, Sleep(0.25), GET],
        "succeeded",
    ),
    (
        "get: timeouts map to APITimeoutError",
        get,
        [httpx.ReadTimeout("slow")] * 3,
        [GET, Sleep(0.25), GET, Sleep(0.5), GET],
        APITimeoutError,
    ),
    ("get: a 200 without a body", get, [err(200)], [GET], ResponseValidationError),
    (
        "get: a body that is not JSON",
        get,
        [json.JSONDecodeError("x", "", 0)],
        [GET],
        ResponseValidationError,
    ),
    ("create: one call", create, [ok("starting")], [CREATE], "starting"),
    ("create: a 502 may have created it", create, [err(502)], [CREATE], InternalServerError),
    (
        "create: 429 is safe to repeat",
        create,
        [err(429), ok("starting")],
        [CREATE, Sleep(0.25), CREATE],
        "starting",
    ),
    (
        "create: not connected is safe to repeat",
        create,
        [httpx.ConnectError("refused"), ok("starting")],
        [CREATE, Sleep(0.25), CREATE],
        "starting",
    ),
    (
        "create: a read timeout may have created it",
        create,
        [httpx.ReadTimeout("slow")],
        [CREATE],
        APITimeoutError,
    ),
    (
        "watch: emits changes only, sleeps by the schedule",
        watch(**FIXED),
        [ok(), ok(), ok("succeeded")],
        [
            GET,
            Emit(state("processing")),
            Sleep(1.0),
            GET,
            Sleep(1.0),
            GET,
            Emit(state("succeeded")),
        ],
        "succeeded",
    ),
    (
        "watch: a stale start is not reported again",
        watch(start=state("processing"), **FIXED),
        [ok(), ok("succeeded")],
        [GET, Sleep(1.0), GET, Emit(state("succeeded"))],
        "succeeded",
    ),
    ("watch: an ended start needs no call", watch(start=state("failed")), [], [], "failed"),
    (
        "watch: streaming an ended start emits it",
        watch(start=state("failed"), stream=True),
        [],
        [Emit(state("failed"))],
        "failed",
    ),
    (
        "watch: Retry-After on a poll raises the pause",
        watch(**FIXED),
        [ok(retry_after="12"), ok("succeeded")],
        [GET, Emit(state("processing")), Sleep(12.0), GET, Emit(state("succeeded"))],
        "succeeded",
    ),
    (
        "watch: the deadline cuts the pause, then a last look",
        watch(timeout=2.5, **FIXED),
        [ok(), ok(), ok(), ok()],
        [
            budgeted(2.5),
            Emit(state("processing")),
            Sleep(1.0),
            budgeted(1.5),
            Sleep(1.0),
            budgeted(1.0),  # never less than min_request: a last look is always taken
            Sleep(0.5),
            budgeted(1.0),
        ],
        WaitTimeoutError,
    ),
    (
        "watch: a failing poll is retried beyond max_retries",
        watch(**FIXED),
        [ok(), err(503), err(503), err(503), err(503), ok("succeeded")],
        [
            GET,
            Emit(state("processing")),
            Sleep(1.0),
            GET,
            Sleep(0.25),
            GET,
            Sleep(0.5),
            GET,
            Sleep(1.0),
            GET,
            Sleep(2.0),
            GET,
            Emit(state("succeeded")),
        ],
        "succeeded",
    ),
    (
        "watch: a failure the deadline leaves no time to retry ends in a wait timeout",
        watch(timeout=1.1, **FIXED),
        [ok(), err(503)],
        [budgeted(1.1), Emit(state("processing")), Sleep(1.0), budgeted(1.0)],
        WaitTimeoutError,
    ),
    ("watch: a permanent error ends it", watch(**FIXED), [err(404)], [GET], NotFoundError),
]


@pytest.mark.parametrize(
    ("plan", "answers", "steps", "outcome"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan_step_by_step(
    plan: PlanFactory, answers: list[object], steps: list[Step], outcome: object
) -> None:
    clock = FakeClock()
    walked = walk(plan(context(clock)), answers, clock)
    assert walked.steps == steps
    if isinstance(outcome, type):
        assert isinstance(walked.error, outcome), walked.error
    else:
        assert walked.error is None, walked.error
        assert isinstance(walked.result, Prediction) and walked.result.status == outcome


def test_a_mapped_error_keeps_its_cause() -> None:
    clock = FakeClock()
    refused = httpx.ConnectError("refused")
    walked = walk(plans.get("pred1", context(clock, max_retries=0)), [refused], clock)
    assert isinstance(walked.error, APIConnectionError)
    assert walked.error.__cause__ is refused


def test_a_persistent_poll_failure_gives_up_after_the_grace() -> None:
    clock = FakeClock()
    ctx = context(clock)
    walked = walk(plans.watch("pred1", ctx), itertools.repeat(err(503)), clock, exact=False)
    assert isinstance(walked.error, InternalServerError)
    assert ctx.timing.failure_grace <= clock.now < ctx.timing.failure_grace + ctx.timing.maximum


def test_run_reports_the_created_prediction_once_then_the_changes() -> None:
    clock = FakeClock()
    ctx = context(clock)
    walked = walk(
        plans.run("o/m", {"prompt": "x"}, ctx, poll_interval=1.0),
        [ok("starting"), ok("starting"), ok("failed", error="boom")],
        clock,
    )
    emitted = [s.prediction.status for s in walked.steps if isinstance(s, Emit)]
    assert emitted == ["starting", "failed"]
    assert isinstance(walked.error, PredictionFailedError)


@pytest.mark.parametrize(
    ("make_plan", "error"),
    [
        (lambda ctx: plans.get("a/b", ctx), ValueError),
        (lambda ctx: plans.watch("pred1", ctx, timeout=-1), ValueError),
        (lambda ctx: plans.watch("pred1", ctx, poll_interval=0.01), ValueError),
        (lambda ctx: plans.create("not-a-model", {}, ctx), ValueError),
        (lambda ctx: plans.create("o/m", cast(Any, ["not", "a", "mapping"]), ctx), TypeError),
    ],
)
def test_bad_arguments_fail_before_the_first_step(
    make_plan: PlanFactory, error: type[Exception]
) -> None:
    """Before the first step: ``create`` even when its plan is made (so a batch tells a
    failure before sending from one of the request)."""
    clock = FakeClock()
    raised: list[object] = []
    try:
        walked = walk(make_plan(context(clock)), [], clock)
    except error as exc:  # create: already when its plan is made
        raised.append(exc)
    else:
        assert walked.steps == []
        raised.append(walked.error)
    assert isinstance(raised[0], error)


def test_next_emit_stops_at_each_update_and_forwards_failures() -> None:
    clock = FakeClock()
    plan = plans.watch("pred1", context(clock), poll_interval=1.0)
    first = walk(plans.next_emit(plan), [httpx.ConnectError("refused"), ok()], clock)
    assert first.steps == [GET, Sleep(0.25), GET] and first.result == state("processing")
    second = walk(plans.next_emit(plan), [ok("succeeded")], clock)
    assert second.steps == [Sleep(1.0), GET] and second.result == state("succeeded")
    assert walk(plans.next_emit(plan), [], clock).result is None


@pytest.mark.parametrize(
    ("age", "pauses"),
    [(0.0, [0.5, 0.5, 0.5]), (600.0, [2 * BLIND_CAP] * 3), (None, [0.5, 0.5, 0.5])],
)
def test_a_wait_paces_its_polls_by_the_predictions_own_age(
    age: float | None, pauses: list[float]
) -> None:
    """A prediction ten minutes old is not polled as if it had just begun (its ``created_at``
    says how old it is); without a usable ``created_at``, its age is the wait's."""
    clock = FakeClock()
    created = "yesterday" if age is None else datetime.fromtimestamp(clock.time() - age, UTC)
    stamp = {"created_at": created if isinstance(created, str) else created.isoformat()}
    answers = [ok(**stamp)] * 3 + [ok("succeeded", **stamp)]
    steps = walk(plans.watch("pred1", context(clock)), answers, clock).steps
    assert [s.seconds for s in steps if isinstance(s, Sleep)] == pytest.approx(pauses)
