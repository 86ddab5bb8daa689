"""Workload W1 of ``docs/polling-workload.md``, simulated with a virtual clock.

Used by ``make bench-polling`` and by the tests that hold the default schedule to its bar.
"""

from __future__ import annotations

import functools
import heapq
import math
import random
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cometapi_replicate._progress import parse_progress
from cometapi_replicate._schedule import AdaptiveSchedule, Durations, Schedule

STEP = 0.5


@dataclass(frozen=True)
class SimPrediction:
    index: int
    queue: float
    run: float

    @property
    def has_progress(self) -> bool:
        return self.index % 2 == 0

    @property
    def duration(self) -> float:
        return self.queue + self.run

    def state(self, t: float) -> tuple[str, str]:
        """(status, logs) as a poll at time ``t`` sees them."""
        if t < self.queue:
            return "starting", ""
        if t >= self.duration:
            return "succeeded", self.logs(self.run)
        return "processing", self.logs(t - self.queue)

    def logs(self, elapsed: float) -> str:
        if not self.has_progress:
            return ""
        lines = _tqdm_lines(math.ceil(self.run / STEP))
        return "".join(lines[: min(math.floor(elapsed / STEP), len(lines))])


@functools.cache
def _tqdm_lines(total: int) -> list[str]:
    """The lines a tqdm bar of ``total`` steps writes, one per completed step."""
    lines = []
    for current in range(1, total + 1):
        pct = 100 * current // total
        bar = ("#" * (pct // 10)).ljust(10)
        lines.append(f"{pct:3d}%|{bar}| {current}/{total} [..., 2.00it/s]\n")
    return lines


def _workload(
    count: int, seed: int, queue: tuple[float, float], run: tuple[float, float]
) -> list[SimPrediction]:
    """``count`` predictions: a uniform queue time, then a log-uniform run time, drawn in turn."""
    rng = random.Random(seed)
    low, high = math.log(run[0]), math.log(run[1])
    return [
        SimPrediction(index, rng.uniform(*queue), math.exp(rng.uniform(low, high)))
        for index in range(count)
    ]


def workload_w1(count: int = 2000, seed: int = 7) -> list[SimPrediction]:
    return _workload(count, seed, queue=(0.2, 8.0), run=(1.0, 300.0))


def workload_tail(count: int = 2000, seed: int = 15) -> list[SimPrediction]:
    """The waits of ``make bench``'s tail rows: starting 0.2-2 s, processing 2-120 s."""
    return _workload(count, seed, queue=(0.2, 2.0), run=(2.0, 120.0))


@dataclass(frozen=True)
class Outcome:
    prediction: SimPrediction
    requests: int
    delay: float

    @property
    def relative_delay(self) -> float:
        return self.delay / self.prediction.duration


def simulate(prediction: SimPrediction, schedule: Schedule) -> Outcome:
    t, requests = 0.0, 0
    while True:
        requests += 1
        status, logs = prediction.state(t)
        if status == "succeeded":
            return Outcome(prediction, requests, t - prediction.duration)
        schedule.observe(t, status, parse_progress(logs))
        t += schedule.next_delay(t)


def run(
    make_schedule: Callable[[], Schedule], predictions: Iterable[SimPrediction]
) -> list[Outcome]:
    return [simulate(p, make_schedule()) for p in predictions]


@dataclass(frozen=True)
class Summary:
    count: int
    requests: float
    median_delay: float
    p95_delay: float
    p95_relative: float
    max_delay: float


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def summarize(outcomes: list[Outcome]) -> Summary:
    delays = [o.delay for o in outcomes]
    return Summary(
        count=len(outcomes),
        requests=statistics.fmean(o.requests for o in outcomes),
        median_delay=statistics.median(delays),
        p95_delay=_p95(delays),
        p95_relative=_p95([o.relative_delay for o in outcomes]),
        max_delay=max(delays),
    )


def split(outcomes: list[Outcome]) -> dict[str, Summary]:
    return {
        "all": summarize(outcomes),
        "with progress": summarize([o for o in outcomes if o.prediction.has_progress]),
        "without progress": summarize([o for o in outcomes if not o.prediction.has_progress]),
    }


@dataclass(frozen=True)
class Arrival:
    """A prediction created at ``at`` (seconds into the run) and waited on from then."""

    at: float
    prediction: SimPrediction


def run_together(
    arrivals: Iterable[Arrival],
    make_schedule: Callable[[Durations], Schedule],
    durations: Durations | None = None,
    *,
    learn: bool = True,
) -> list[Outcome]:
    """Every wait at once on one simulated client, in time order: each success is recorded in
    ``durations`` (as a client does) the moment its wait sees it, so later polls of the others
    may use it. ``make_schedule`` gets the client's durations; a learning schedule reads them
    at each poll (``learn=False``: today's schedule, which does not)."""
    durations = Durations() if durations is None else durations
    queue: list[tuple[float, int, Arrival, Schedule, int]] = []
    for n, arrival in enumerate(arrivals):
        heapq.heappush(queue, (arrival.at, n, arrival, make_schedule(durations), 0))
    outcomes: list[tuple[int, Outcome]] = []
    while queue:
        now, n, arrival, schedule, requests = heapq.heappop(queue)
        prediction, age = arrival.prediction, now - arrival.at
        status, logs = prediction.state(age)
        if status == "succeeded":
            durations.record(MODEL, prediction.duration)
            outcomes.append((n, Outcome(prediction, requests + 1, age - prediction.duration)))
            continue
        if learn and isinstance(schedule, AdaptiveSchedule):
            schedule.known = durations.of(MODEL)
        schedule.observe(age, status, parse_progress(logs))
        heapq.heappush(queue, (now + schedule.next_delay(age), n, arrival, schedule, requests + 1))
    return [o for _, o in sorted(outcomes, key=lambda pair: pair[0])]


MODEL = "owner/model"
"""The one model of a simulated run."""
