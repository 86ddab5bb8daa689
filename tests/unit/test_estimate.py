"""The progress a display shows between polls: pure, on a simulated clock."""

from __future__ import annotations

import io

import pytest

from cometapi_replicate import Prediction, Progress
from cometapi_replicate._cli.estimate import CEILING, ProgressEstimate, format_eta
from cometapi_replicate._cli.main import Display

from ..conftest import FakeClock, prediction_body


def steps(current: int, total: int = 20) -> Progress:
    return Progress(current / total, current, total)


@pytest.fixture
def estimate() -> ProgressEstimate:
    """Created at 0, 5/20 at 10 s, 10/20 at 20 s: the schedule's end estimate is 39 s."""
    est = ProgressEstimate()
    est.observe(0.0, "starting", None)
    est.observe(10.0, "processing", steps(5))
    est.observe(20.0, "processing", steps(10))
    return est


def test_between_polls_it_advances_at_the_estimated_rate(estimate: ProgressEstimate) -> None:
    assert estimate.estimated_end() == pytest.approx(39.0)
    assert estimate.fraction(20.0) == 0.5, "at the poll: the truth"
    # From 0.5 at 20 s to 1.0 at the estimated 39 s.
    assert estimate.fraction(25.0) == pytest.approx(0.5 + 0.5 * 5 / 19)
    assert estimate.is_estimate(25.0) and not estimate.is_estimate(20.0)
    assert estimate.remaining(25.0) == pytest.approx(14.0)
    shown = [estimate.fraction(20.0 + t / 10) for t in range(300)]
    assert None not in shown, "after the first polls there is always an estimate"
    known = [f for f in shown if f is not None]
    assert known == sorted(known), "never moves backwards between polls"


def test_it_never_claims_the_end(estimate: ProgressEstimate) -> None:
    assert estimate.fraction(38.9) == CEILING
    assert estimate.fraction(1000.0) == CEILING, "overdue: it waits below 100% for a poll"
    assert estimate.remaining(1000.0) == 0.0


def test_each_poll_snaps_it_to_the_truth(estimate: ProgressEstimate) -> None:
    assert estimate.fraction(30.0) == pytest.approx(0.5 + 0.5 * 10 / 19)  # ~0.76 estimated
    estimate.observe(30.0, "processing", steps(12))  # slower than estimated
    assert estimate.fraction(30.0) == 0.6
    assert not estimate.is_estimate(30.0)
    later = estimate.fraction(31.0)
    assert later is not None and 0.6 < later < 0.7
    estimate.observe(32.0, "succeeded", steps(20))
    assert estimate.fraction(32.0) == estimate.fraction(99.0) == 1.0
    assert estimate.remaining(40.0) is None and not estimate.is_estimate(40.0)


def test_a_failed_prediction_stops_where_the_poll_saw_it(estimate: ProgressEstimate) -> None:
    estimate.observe(25.0, "failed", None)
    assert estimate.fraction(25.0) == estimate.fraction(60.0) == 0.5
    assert estimate.remaining(30.0) is None


def test_without_progress_nothing_is_invented() -> None:
    estimate = ProgressEstimate()
    estimate.observe(0.0, "starting", None)
    estimate.observe(5.0, "processing", None)
    assert estimate.fraction(10.0) is None and estimate.remaining(10.0) is None


def test_one_sample_estimates_from_the_start_time() -> None:
    estimate = ProgressEstimate()
    estimate.observe(0.0, "starting", None)
    estimate.observe(4.0, "processing", steps(2, 10))
    # Started about 2 s (between the last "starting" and the first "processing"), 25% (the
    # middle of step 3 of 10) in 2 s: 8 s in all, so the end is at 10 s.
    assert estimate.estimated_end() == pytest.approx(10.0)
    assert estimate.fraction(7.0) == pytest.approx(0.2 + 0.8 * 3 / 6)


def test_a_wait_that_begins_mid_run_waits_for_a_rate() -> None:
    estimate = ProgressEstimate()
    estimate.observe(0.0, "processing", steps(9))  # no start time known: no rate yet
    assert estimate.fraction(5.0) == 0.45 and estimate.remaining(5.0) is None
    estimate.observe(5.0, "processing", steps(13))
    assert estimate.remaining(5.0) is not None
    after = estimate.fraction(6.0)
    assert after is not None and after > 0.65


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.2, "~0s"), (42.4, "~42s"), (185, "~3m05s"), (3720, "~1h02m")]
)
def test_format_eta(seconds: float, text: str) -> None:
    assert format_eta(seconds) == text


def state(status: str, logs: str | None = None) -> Prediction:
    return Prediction.from_dict(prediction_body(status, logs=logs))


def tqdm(current: int, total: int = 20) -> str:
    return f"{current * 100 // total}%|##   | {current}/{total} [00:01<00:03, 5.0it/s]\n"


def test_plain_lines_show_the_eta_on_the_display_clock(clock: FakeClock) -> None:
    out = io.StringIO()
    display = Display(out, quiet=False, clock=clock)
    display.update(state("starting"))
    clock.now = 10.0
    display.update(state("processing", tqdm(5)))
    clock.now = 20.0
    display.update(state("processing", tqdm(10)))
    assert display.shown().fraction == 0.5
    clock.now = 25.0
    shown = display.shown()
    assert shown.estimated and shown.fraction == pytest.approx(0.5 + 0.5 * 5 / 19)
    assert shown.remaining == pytest.approx(14.0)
    clock.now = 40.0
    display.update(state("succeeded", tqdm(20)))
    lines = out.getvalue().splitlines()
    assert lines == [
        "pred1: starting [0s]",
        "pred1: processing 25% (5/20), eta ~13s [10s]",  # one sample: from the start
        "pred1: processing 50% (10/20), eta ~19s [20s]",
        "pred1: succeeded 100% (20/20) [40s]",
    ]


def test_quiet_shows_nothing(clock: FakeClock) -> None:
    out = io.StringIO()
    display = Display(out, quiet=True, clock=clock)
    display.update(state("processing", tqdm(5)))
    assert out.getvalue() == ""
