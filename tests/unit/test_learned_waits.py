"""Blind waits that learn: a client remembers how long each model's predictions took, and the
next waits on that model without progress are aimed by it (pure logic, simulated clock)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from cometapi_replicate_api.types import Response

from cometapi_replicate import Prediction
from cometapi_replicate import _plans as plans
from cometapi_replicate._plans import Reply, Sleep
from cometapi_replicate._schedule import (
    DENSE_CAP,
    KEPT,
    LEARNED_CAP,
    MIN_LEARNED,
    MODELS,
    SKIP_SHARE,
    AdaptiveSchedule,
    Durations,
    FixedSchedule,
    learned_pause,
)
from tools.polling_sim import Arrival, SimPrediction, run_together, split

from ..conftest import FakeClock
from .test_plans import context, walk


def pauses(schedule: AdaptiveSchedule, until: float) -> list[tuple[float, float]]:
    """(age, pause) of each poll of a prediction that is still running at ``until``."""
    now, seen = 0.0, []
    while now < until:
        schedule.observe(now, "processing", None)
        pause = schedule.next_delay(now)
        seen.append((now, pause))
        now += pause
    return seen


def test_with_no_history_the_schedule_is_todays_exactly() -> None:
    today = pauses(AdaptiveSchedule(), 300)
    for known in ((), (10.0,) * (MIN_LEARNED - 1)):
        schedule = AdaptiveSchedule()
        schedule.learn(known)
        assert pauses(schedule, 300) == today
    assert learned_pause(5.0, ()) is None


def test_polls_little_can_end_before_are_skipped_and_the_first_ends_are_met() -> None:
    """A model whose predictions take 30-40 s: no poll every half second for 30 s."""
    known = tuple(30.0 + i * 0.5 for i in range(20))
    schedule = AdaptiveSchedule()
    schedule.learn(known)
    seen = pauses(schedule, 45)
    before = [p for age, p in seen if age < 28]
    assert before and all(p == LEARNED_CAP for p in before)
    ages = [age for age, _ in seen]
    assert any(30.0 <= age <= 30.5 for age in ages), "a poll lands on the first likely end"
    during = [p for age, p in seen if 30 <= age <= 37]
    assert during and max(during) <= DENSE_CAP, "dense where ends are likely"
    today = pauses(AdaptiveSchedule(), 45)
    assert len(seen) < 0.7 * len(today)


def test_no_pause_is_longer_than_two_seconds_whatever_the_history() -> None:
    rng = random.Random(3)
    for _ in range(200):
        known = tuple(sorted(rng.uniform(0.1, 900) ** rng.choice((1, 0.5)) for _ in range(KEPT)))
        for age in (0.0, 0.4, 3.0, 29.0, 100.0, 500.0, 1000.0):
            pause = learned_pause(age, known)
            assert pause is None or 0 < pause <= LEARNED_CAP
    schedule = AdaptiveSchedule()
    schedule.learn((600.0,) * KEPT)  # far longer than any wait below: pauses stretch, to 2 s
    assert max(p for _, p in pauses(schedule, 700)) <= LEARNED_CAP


def test_one_outlier_does_not_move_the_schedule() -> None:
    """One prediction that ended after a second among many of half a minute (a failed input,
    a cached result) does not bring back the half-second polls of the first 30 s; one that
    took ten minutes does not stretch the pauses where the others end."""
    usual = [30.0 + i for i in range(KEPT - 1)]
    plain, short, long = AdaptiveSchedule(), AdaptiveSchedule(), AdaptiveSchedule()
    plain.learn(tuple(sorted([*usual, 31.0])))
    short.learn(tuple(sorted([*usual, 1.0])))
    long.learn(tuple(sorted([*usual, 600.0])))

    def skipped(schedule: AdaptiveSchedule) -> list[tuple[float, float]]:
        return [(a, p) for a, p in pauses(schedule, 60) if a < 30]

    assert skipped(short) == skipped(plain)
    assert {p for _, p in skipped(short)} == {LEARNED_CAP}
    first = long.known[int(SKIP_SHARE * (KEPT - 1))]
    where_they_end = [p for a, p in pauses(long, 45) if first <= a <= 45]
    assert where_they_end and max(where_they_end) <= DENSE_CAP


def test_memory_is_a_few_numbers_per_model_and_a_bounded_number_of_models() -> None:
    durations = Durations()
    for n in range(10 * KEPT):
        durations.record("owner/model", float(n))
    assert durations.of("owner/model") == tuple(float(n) for n in range(9 * KEPT, 10 * KEPT))
    for m in range(3 * MODELS):
        durations.record(f"owner/model-{m}", 1.0)
    assert len(durations) == MODELS
    assert durations.of("owner/model-0") == (), "the model unused longest is forgotten"
    assert durations.of(f"owner/model-{3 * MODELS - 1}") == (1.0,)
    for bad in (float("nan"), -1.0, float("inf")):
        durations.record("owner/odd", bad)
    assert durations.of("owner/odd") == ()


def _reply(status: str, created: str, completed: str | None = None) -> Reply:
    body = {
        "id": "pred1",
        "model": "owner/model",
        "status": status,
        "output": ["https://files.example/out.png"] if status == "succeeded" else None,
        "created_at": created,
        **({"completed_at": completed} if completed else {}),
    }
    parsed = Prediction.from_dict(body)
    return Reply(Response(HTTPStatus(200), json.dumps(body).encode(), {}, parsed))


def test_a_wait_remembers_its_models_duration_and_the_next_wait_uses_it() -> None:
    clock = FakeClock()
    ctx = context(clock)
    created = "2026-01-01T00:00:00+00:00"
    for second in range(MIN_LEARNED):  # five waits of predictions that took 20-24 s
        done = f"2026-01-01T00:00:{20 + second:02d}+00:00"
        walk(plans.watch("pred1", ctx), [_reply("succeeded", created, done)], clock)
    assert ctx.durations.of("owner/model") == (20.0, 21.0, 22.0, 23.0, 24.0)
    # A failed or canceled prediction, or one without timestamps, teaches nothing.
    walk(plans.watch("pred1", ctx), [_reply("failed", created, "2026-01-01T00:00:01Z")], clock)
    walk(plans.watch("pred1", ctx), [_reply("succeeded", "yesterday", None)], clock)
    assert len(ctx.durations.of("owner/model")) == MIN_LEARNED
    # The next blind wait on the model, of a prediction just created: it sleeps 2 s at a time.
    fresh = datetime.fromtimestamp(clock.time(), UTC).isoformat()
    steps = walk(plans.watch("pred1", ctx), [_reply("processing", fresh)] * 3 + [
        _reply("succeeded", fresh, fresh)], clock).steps  # fmt: skip
    sleeps = [s.seconds for s in steps if isinstance(s, Sleep)]
    assert sleeps[:3] == pytest.approx([LEARNED_CAP] * 3, abs=0.01)
    # Another client knows nothing: today's first pauses (half a second).
    other_clock = FakeClock()
    other = context(other_clock)
    steps = walk(plans.watch("pred1", other), [_reply("processing", fresh)] * 2 + [
        _reply("succeeded", fresh, fresh)], other_clock).steps  # fmt: skip
    assert next(s.seconds for s in steps if isinstance(s, Sleep)) < 1.0


def test_a_fixed_poll_interval_is_not_changed_by_history() -> None:
    schedule = FixedSchedule(0.5)
    schedule.learn((30.0,) * KEPT)
    assert schedule.next_delay(3.0) == 0.5


def test_on_a_stream_of_waits_learning_saves_polls_without_losing_the_delay_bound() -> None:
    """The bench's waits, simulated: predictions of one model arriving over 25 s on one
    client. Without progress, learning costs fewer polls than today's schedule, and no end is
    seen more than 2 s late."""
    rng = random.Random(15)
    arrivals = [
        Arrival(
            rng.uniform(0, 25),
            SimPrediction(i, rng.uniform(0.2, 2.0) * 0.4, 0.4 * 2 * 60 ** rng.random()),
        )
        for i in range(300)
    ]
    learned = split(run_together(arrivals, lambda _: AdaptiveSchedule()))["without progress"]
    today = split(run_together(arrivals, lambda _: AdaptiveSchedule(), learn=False))
    assert learned.requests < today["without progress"].requests
    assert learned.max_delay <= LEARNED_CAP
