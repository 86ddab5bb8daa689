"""The poll schedule (pure, simulated clock), progress parsing and terminal-state helpers."""

from __future__ import annotations

import pytest

from cometapi_replicate import (
    TERMINAL_STATUSES,
    Prediction,
    PredictionCanceledError,
    PredictionError,
    PredictionFailedError,
    PredictionStatus,
    Progress,
    is_terminal,
    output_urls,
    parse_progress,
    raise_for_failure,
)
from cometapi_replicate._schedule import BLIND_CAP, FLOOR, AdaptiveSchedule, FixedSchedule
from cometapi_replicate._timing import Timing, bounded_delay, parse_retry_after
from tools.polling_sim import Summary, run, split, workload_tail, workload_w1

# Reference: fixed 0.5 s poll on W1 (docs/polling-workload.md).
REF_ALL_REQUESTS = 116.9
REF_PROGRESS_REQUESTS = 121.7
REF_PROGRESS_MEDIAN = 0.24


@pytest.fixture(scope="module")
def w1() -> dict[str, dict[str, Summary]]:
    workload = workload_w1()
    return {
        "adaptive": split(run(AdaptiveSchedule, workload)),
        "fixed": split(run(lambda: FixedSchedule(0.5), workload)),
    }


def test_simulation_reproduces_the_reference_fixed_poll(w1: dict[str, dict[str, Summary]]) -> None:
    fixed = w1["fixed"]
    assert fixed["all"].requests == pytest.approx(REF_ALL_REQUESTS, abs=0.05)
    assert fixed["with progress"].requests == pytest.approx(REF_PROGRESS_REQUESTS, abs=0.05)
    assert fixed["all"].median_delay == pytest.approx(0.25, abs=0.005)
    assert fixed["all"].p95_relative == pytest.approx(0.078, abs=0.001)


def test_default_schedule_meets_the_bar_on_all_of_w1(w1: dict[str, dict[str, Summary]]) -> None:
    everything = w1["adaptive"]["all"]
    assert everything.requests <= 0.35 * w1["fixed"]["all"].requests
    assert everything.median_delay <= 0.5
    assert everything.p95_relative <= 0.10


def test_default_schedule_beats_the_fixed_poll_on_both_axes_with_progress(
    w1: dict[str, dict[str, Summary]],
) -> None:
    progress = w1["adaptive"]["with progress"]
    assert progress.requests <= 0.20 * w1["fixed"]["with progress"].requests
    assert progress.median_delay < REF_PROGRESS_MEDIAN
    assert progress.median_delay < w1["fixed"]["with progress"].median_delay


def test_on_the_benchmarks_tail_workload_no_end_is_seen_late() -> None:
    """``make bench``'s tail goals, on an ideal server: the same predictions simulated."""
    workload = workload_tail()
    ours = split(run(AdaptiveSchedule, workload))
    fixed = split(run(lambda: FixedSchedule(0.5), workload))
    progress, blind = ours["with progress"], ours["without progress"]
    assert progress.p95_delay <= fixed["with progress"].p95_delay
    assert progress.requests <= 0.5 * fixed["with progress"].requests
    assert blind.p95_delay <= 2 * fixed["without progress"].p95_delay
    assert blind.requests <= 0.75 * fixed["without progress"].requests
    assert ours["all"].requests <= 0.6 * fixed["all"].requests
    assert ours["all"].max_delay <= 2.0


def test_schedule_keeps_to_floor_and_cap() -> None:
    schedule = AdaptiveSchedule()
    assert schedule.next_delay(0.0) == 2 * FLOOR
    assert schedule.next_delay(10_000.0) == 2 * BLIND_CAP
    schedule.observe(0.0, "processing", Progress(0.999, 999, 1000))
    schedule.observe(0.1, "processing", Progress(0.9995, 9995, 10000))
    assert schedule.next_delay(0.1) >= FLOOR


def test_without_progress_no_end_is_seen_more_than_a_second_late_in_two_minutes() -> None:
    schedule, now, delays = AdaptiveSchedule(), 0.0, []
    while now < 600:
        delays.append((now, schedule.next_delay(now)))
        now += delays[-1][1]
    assert max(d for t, d in delays if t < 120) == BLIND_CAP
    assert max(d for t, d in delays) == 2 * BLIND_CAP
    assert [d for t, d in delays] == sorted(d for t, d in delays), "never faster as it ages"


def test_the_blind_pause_follows_the_predictions_own_age() -> None:
    new, old = AdaptiveSchedule(), AdaptiveSchedule()
    old.aged(300.0)  # five minutes old when the wait began
    assert new.next_delay(1.0) == 2 * FLOOR
    assert old.next_delay(1.0) == 2 * BLIND_CAP


def test_schedule_aims_at_the_end_estimated_from_progress() -> None:
    schedule = AdaptiveSchedule()
    schedule.aged(20.0)  # old enough for the pause not to be held to half its age
    schedule.observe(0.0, "starting", None)
    schedule.observe(1.0, "processing", Progress(0.1, 10, 100))
    schedule.observe(2.0, "processing", Progress(0.2, 20, 100))
    end = schedule.estimated_end()
    assert end == pytest.approx(9.95)
    assert schedule.next_delay(2.0) == pytest.approx(0.7 * 7.95), "partway, to refine the estimate"
    schedule.observe(9.5, "processing", Progress(0.95, 95, 100))
    assert schedule.next_delay(9.5) == pytest.approx(0.45 + 0.05), "just past the end"


def test_a_far_estimate_never_sleeps_more_than_half_the_age() -> None:
    schedule = AdaptiveSchedule()
    schedule.observe(0.0, "processing", Progress(0.01, 1, 100))
    schedule.observe(10.0, "processing", Progress(0.02, 2, 100))  # 1,000 s to go, it says
    assert schedule.next_delay(10.0) == pytest.approx(5.0)


def test_a_start_time_from_the_server_makes_one_progress_sample_enough() -> None:
    guessed, known = AdaptiveSchedule(), AdaptiveSchedule()
    for schedule in (guessed, known):
        schedule.observe(0.0, "starting", None)
    known.started(1.5)  # processing began at 1.5 s, by the server's timestamps
    for schedule in (guessed, known):
        schedule.observe(4.0, "processing", Progress(0.245, 49, 200))  # 2.5 s of 10 s
    # Step 49 of 200 is read as its mid-point, 24.75% done.
    assert known.estimated_end() == pytest.approx(1.5 + 2.5 / 0.2475)  # 11.6 s: near 11.5
    assert guessed.estimated_end() == pytest.approx(2.0 + 2.0 / 0.2475)  # a start guessed at 2


def test_an_overdue_estimate_backs_off_instead_of_hammering() -> None:
    schedule = AdaptiveSchedule()
    schedule.observe(0.0, "processing", Progress(0.5, 5, 10))
    schedule.observe(10.0, "processing", Progress(0.9, 9, 10))
    delays = [schedule.next_delay(t) for t in (12.0, 14.0, 20.0, 100.0)]
    assert delays == sorted(delays) and delays[0] > FLOOR and delays[-1] == BLIND_CAP


def test_bounded_delay_honours_retry_after_and_never_passes_the_deadline() -> None:
    assert bounded_delay(1.0, retry_after=5.0) == 5.0
    assert bounded_delay(10.0, remaining=3.0) == 3.0
    assert bounded_delay(1.0, retry_after=5.0, remaining=2.0) == 2.0
    assert bounded_delay(1.0, remaining=-4.0) == 0.0


def test_retry_after_parsing() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after": "3"}, now) == 3.0
    assert parse_retry_after({"retry-after-ms": "250"}, now) == 0.25
    assert parse_retry_after(
        {"retry-after": "Tue, 14 Nov 2023 22:13:30 GMT"}, now
    ) == pytest.approx(10.0)
    assert parse_retry_after({"retry-after": "soon"}, now) is None
    assert parse_retry_after({}, now) is None


def test_backoff_is_exponential_with_jitter() -> None:
    low, high = Timing(random=lambda: 0.0), Timing(random=lambda: 1.0)
    assert [low.backoff(a) for a in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert [high.backoff(a) for a in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert high.delay(0, retry_after=1000.0) == 60.0


@pytest.mark.parametrize(
    ("logs", "expected"),
    [
        (None, None),
        ("", None),
        ("loading weights\nno progress here", None),
        (" 45%|####5     | 9/20 [00:02<00:03, 3.1it/s]", Progress(0.45, 9, 20)),
        ("20%|██        | 1/5 [00:00<00:01, 21.38it/s]", Progress(0.2, 1, 5)),
        ("  0%|  | 0/4\n 50%|#  | 2/4\r 75%|## | 3/4 [00:03<00:01]\nsaving", Progress(0.75, 3, 4)),
        (" 30%|###       | [00:03<00:07]", Progress(0.3)),
        ("download 100%|done\nstep 2%|x| 1/50", Progress(0.02, 1, 50)),
        ("a 40%|## | 4/10\nnot 90%| a bar", Progress(0.4, 4, 10)),
    ],
)
def test_parse_progress(logs: str | None, expected: Progress | None) -> None:
    assert parse_progress(logs) == expected


def p(status: str, **extra: object) -> Prediction:
    return Prediction.from_dict({"id": "x", "status": status, **extra})


def test_terminal_statuses() -> None:
    assert {s.value for s in TERMINAL_STATUSES} == {"succeeded", "failed", "canceled", "aborted"}
    for status in ("succeeded", "failed", "canceled", "cancelled", "aborted", "Succeeded"):
        assert is_terminal(status) and is_terminal(p(status))
    for status in ("starting", "processing", "queued", ""):
        assert not is_terminal(status)
    assert PredictionStatus("aborted") is PredictionStatus.ABORTED


def test_raise_for_failure() -> None:
    ok = p("succeeded")
    assert raise_for_failure(ok) is ok
    with pytest.raises(PredictionFailedError, match="out of memory") as failed:
        raise_for_failure(p("failed", error="out of memory"))
    assert failed.value.prediction.status == "failed"
    for status in ("canceled", "cancelled", "aborted"):
        with pytest.raises(PredictionCanceledError):
            raise_for_failure(p(status))
    with pytest.raises(PredictionError):
        raise_for_failure(p("processing"))


def test_output_urls() -> None:
    assert output_urls(p("succeeded")) == []
    assert output_urls(p("succeeded", output=None)) == []
    assert output_urls(p("succeeded", output="https://a/x.png")) == ["https://a/x.png"]
    assert output_urls(p("succeeded", output=["https://a/1", "https://a/2"])) == [
        "https://a/1",
        "https://a/2",
    ]
