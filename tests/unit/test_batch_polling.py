"""What a batch's polling costs, on a simulated clock: requests per prediction, detection
delay, and memory as the batch grows. The server answers instantly; no sockets, no sleeps."""

from __future__ import annotations

import gc
import random
import statistics
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from cometapi_replicate import Prediction
from cometapi_replicate._batch.effects import CreateRequest, Finish, PollRequest
from cometapi_replicate._batch.scheduler import BatchOptions, BatchScheduler
from cometapi_replicate._progress import parse_progress
from cometapi_replicate._schedule import AdaptiveSchedule
from cometapi_replicate.testing.sandbox import _tqdm_logs

EPOCH = 1_800_000_000.0


@dataclass(frozen=True)
class Job:
    queue: float
    run: float
    progress: bool


def workload(count: int, seed: int = 7) -> list[Job]:
    """The benchmark's workload (``make bench-batch``): queue 0.1-1 s, run 1-10 s, half with
    tqdm progress (20 steps)."""
    rng = random.Random(seed)
    return [Job(rng.uniform(0.1, 1.0), rng.uniform(1.0, 10.0), i % 2 == 0) for i in range(count)]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(EPOCH + seconds, UTC).isoformat()


def state(job: Job, created: float, now: float) -> Prediction:
    """The prediction at ``now`` as the sandbox shows it (same logs, same timestamps)."""
    age = now - created
    status, ran = "starting", 0.0
    if age >= job.queue + job.run:
        status, ran = "succeeded", job.run
    elif age >= job.queue:
        status, ran = "processing", age - job.queue
    return Prediction.from_dict(
        {
            "id": f"p{created}",
            "status": status,
            "output": ["https://files.example/out-0.png"] if status == "succeeded" else None,
            "logs": _tqdm_logs(ran, job.run, 20, job.progress),
            "created_at": _iso(created),
            "started_at": _iso(created + job.queue) if status != "starting" else None,
            "completed_at": _iso(created + job.queue + job.run) if ran >= job.run else None,
        }
    )


@dataclass
class Run:
    gets: list[int]
    delays: list[float] = field(default_factory=list)

    def per_prediction(self, jobs: list[Job], progress: bool, skip: int = 0) -> float:
        """GET requests per prediction of the items (after the first ``skip``) with or
        without progress."""
        pairs = list(zip(self.gets, jobs, strict=True))[skip:]
        return statistics.mean(gets for gets, job in pairs if job.progress == progress)


def drive(sched: BatchScheduler, jobs: list[Job]) -> Run:
    """Every item of ``jobs`` through ``sched`` until the batch is over."""
    run, created, now, taken = Run([0] * len(jobs)), [0.0] * len(jobs), 0.0, 0
    while taken < len(jobs) or not sched.idle:
        while taken < len(jobs) and sched.free_slots() > 0:
            sched.admit(str(taken), {"n": taken}, None, now)
            taken += 1
        for step in sched.due(now):
            if isinstance(step, CreateRequest):
                index = int(step.key)
                created[index] = now
                effects = sched.created(step.key, state(jobs[index], now, now), now)
            elif isinstance(step, PollRequest):
                index = int(step.key)
                run.gets[index] += 1
                effects = sched.polled(step.key, state(jobs[index], created[index], now), now)
            else:
                continue
            if any(isinstance(e, Finish) for e in effects):
                job = jobs[index]
                run.delays.append(now - created[index] - job.queue - job.run)
        wakeup = sched.next_wakeup()
        now = max(now, wakeup) if wakeup is not None else now
    return run


def scheduler(concurrency: int) -> BatchScheduler:
    options = BatchOptions(concurrency=concurrency, rate=None, max_requests=10**6)
    return BatchScheduler(options, wall_clock=lambda: EPOCH)


def one_by_one_run(jobs: list[Job]) -> Run:
    """Each prediction waited on alone with ``wait``'s adaptive schedule, as ``wait`` does:
    the first poll at once, then the schedule's delays."""
    run = Run([])
    for job in jobs:
        schedule, now, gets = AdaptiveSchedule(), 0.0, 0
        while True:
            gets += 1
            seen = state(job, 0.0, now)
            if seen.status == "succeeded":
                break
            logs = seen.logs if isinstance(seen.logs, str) else None
            schedule.observe(now, seen.status, parse_progress(logs))
            now += schedule.next_delay(now)
        run.gets.append(gets)
        run.delays.append(now - job.queue - job.run)
    return run


JOBS = workload(600)
CONCURRENCY = 100


@pytest.fixture(scope="module")
def runs() -> tuple[Run, Run]:
    return drive(scheduler(CONCURRENCY), JOBS), one_by_one_run(JOBS)


def test_a_batch_polls_far_less_than_waiting_on_each_prediction_alone_for_a_little_delay(
    runs: tuple[Run, Run],
) -> None:
    """``make bench-batch``'s trade, on an ideal server: about 60% fewer requests per
    prediction for at most 150 ms more median delay. Over real sockets, waits one by one lose
    much more than that to the client's load (the README's table), the batch's one scheduler
    does not."""
    batch, alone = runs
    assert len(batch.delays) == len(JOBS)
    assert min(batch.delays) >= 0.0
    for progress in (True, False):
        assert batch.per_prediction(JOBS, progress) < alone.per_prediction(JOBS, progress)
    assert statistics.mean(batch.gets) <= 0.45 * statistics.mean(alone.gets)
    assert statistics.median(batch.delays) <= statistics.median(alone.delays) + 0.15
    assert _p95(batch.delays) <= 2.0


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _instant(count: int) -> list[Job]:
    return [Job(0.0, 0.01 * (n % 7), False) for n in range(count)]


def _held_after(count: int) -> int:
    """Bytes the scheduler holds after ``count`` items went through it and ended."""
    jobs = [Job(0.0, 0.5 * (n % 7), False) for n in range(count)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sched = scheduler(50)
        run = drive(sched, jobs)
        del run
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert sched.summary().done == count
    assert sched.next_wakeup() is None  # no stale poll, create or download left queued
    return held


def test_the_scheduler_holds_no_more_after_many_items_than_after_a_few() -> None:
    few, many = _held_after(200), _held_after(2000)
    # A record, heap entry or input kept per ended item would be 1,800 more of them: hundreds
    # of kilobytes. What the batch learns is a bounded window of recent durations.
    assert many - few < 48 * 1024, (few, many)
