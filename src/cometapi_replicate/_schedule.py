"""When to poll next: pure decisions, no I/O, time passed in by the caller.

A schedule sees each poll's result through :meth:`observe` and answers :meth:`next_delay`.
Times are seconds since the wait began (the first poll is at 0). :class:`Durations` is what a
client remembers of each model's finished predictions, for the blind waits that follow.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ._progress import Progress

__all__ = [
    "AdaptiveSchedule",
    "Durations",
    "FixedSchedule",
    "Schedule",
    "blind_cap",
    "learned_pause",
    "polling_schedule",
]

FLOOR = 0.25
"""No schedule polls faster than this (seconds)."""
CAP = 30.0
"""No schedule sleeps longer than this between polls (seconds)."""
BLIND_CAP = 1.0
"""Without progress, no pause longer than this while the prediction is under two minutes old;
it grows with the age from there, to ``2 * BLIND_CAP`` at four minutes (seconds)."""

KEPT = 24
"""Durations a client keeps per model: the most recent ones."""
MODELS = 64
"""Models a client keeps durations for; the one unused longest is forgotten first."""
MIN_LEARNED = 5
"""Finished predictions of a model needed before their durations shape a blind wait."""
SKIP_SHARE = 0.1
"""Before the age by which this share of a model's known durations had ended, little can end:
the blind pause stretches to ``LEARNED_CAP`` (a low quantile, so one outlier moves nothing)."""
LEARNED_CAP = 2.0
"""The longest blind pause a model's history allows: no end is seen more than this late."""
DENSE_CAP = 0.9
"""The longest blind pause at an age where the model's predictions are seen to end: under the
age rule's 1 s, so that where most ends are, learning spends no delay for its fewer polls."""
DENSE_FLOOR = 0.5
"""The shortest blind pause there (the age rule's shortest)."""
LIKELY_SHARE = 0.25
"""The likely duration of a prediction of some age: this quantile of the known durations
longer than the age (a low one: a prediction that may end soon is polled as one that will)."""
LIKELY_FRACTION = 0.25
"""Where ends are likely, the blind pause is this share of the likely duration."""


class Durations:
    """Seconds from creation to success of each model's latest predictions, as a client saw
    them finish: at most ``KEPT`` numbers for each of at most ``MODELS`` models, in memory only.
    Safe to share between threads."""

    def __init__(self, kept: int = KEPT, models: int = MODELS) -> None:
        self._kept, self._models = kept, models
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._sorted: dict[str, tuple[float, ...]] = {}
        self._lock = threading.Lock()

    def record(self, model: str, seconds: float) -> None:
        """A prediction of ``model`` succeeded ``seconds`` after it was created."""
        if not seconds >= 0 or seconds == float("inf"):  # NaN too
            return
        with self._lock:
            durations = self._seen.pop(model, None)
            if durations is None:
                durations = deque(maxlen=self._kept)
                if len(self._seen) >= self._models:
                    forgotten, _ = self._seen.popitem(last=False)
                    self._sorted.pop(forgotten, None)
            durations.append(seconds)
            self._seen[model] = durations
            self._sorted.pop(model, None)

    def of(self, model: str) -> tuple[float, ...]:
        """The durations known for ``model``, shortest first (empty when none)."""
        with self._lock:
            known = self._sorted.get(model)
            if known is None:
                known = self._sorted[model] = tuple(sorted(self._seen.get(model, ())))
                if not known:
                    del self._sorted[model]
            return known

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


def learned_pause(age: float, known: Sequence[float], floor: float = FLOOR) -> float | None:
    """The blind pause at ``age`` for a prediction of a model whose finished predictions took
    ``known`` seconds (shortest first); ``None``: they say nothing (too few of them, or the
    prediction is older than nearly all), and the age-based pause holds.

    Before the first ends (``SKIP_SHARE``) the pause stretches up to ``LEARNED_CAP``, landing
    on them; from there it is a quarter of the likely duration (``LIKELY_SHARE``,
    ``LIKELY_FRACTION``), between ``DENSE_FLOOR`` and ``DENSE_CAP``."""
    if len(known) < MIN_LEARNED:
        return None
    first = known[int(SKIP_SHARE * (len(known) - 1))]
    if age < first:
        return min(max(first - age, floor), LEARNED_CAP)
    after = bisect.bisect_right(known, age)
    rest = len(known) - after
    if rest < MIN_LEARNED:
        return None
    likely = known[after + int(LIKELY_SHARE * (rest - 1))]
    return min(max(LIKELY_FRACTION * likely, DENSE_FLOOR), DENSE_CAP)


class Schedule(Protocol):
    def observe(self, now: float, status: str, progress: Progress | None) -> None:
        """Record what a poll at ``now`` saw."""

    def next_delay(self, now: float) -> float:
        """Seconds to sleep before the next poll."""

    def aged(self, seconds: float) -> None:
        """The prediction was already ``seconds`` old at the first poll."""

    def learn(self, known: tuple[float, ...]) -> None:
        """The durations of the model's finished predictions, shortest first."""


@dataclass
class FixedSchedule:
    """Poll every ``interval`` seconds."""

    interval: float

    def observe(self, now: float, status: str, progress: Progress | None) -> None:
        pass

    def next_delay(self, now: float) -> float:
        return self.interval

    def aged(self, seconds: float) -> None:
        pass

    def learn(self, known: tuple[float, ...]) -> None:
        pass


@dataclass
class AdaptiveSchedule:
    """Poll rarely while the end is far and often when it is near.

    Without progress the pause grows with the prediction's age (``growth`` times it), from
    ``blind_floor`` to :func:`blind_cap`: a short prediction is seen soon after its end, and no
    end is seen more than 1 s late (2 s once the prediction is four minutes old). When the
    durations of the model's earlier predictions are ``known``, they aim the pause instead
    (:func:`learned_pause`; never over 2 s). With tqdm
    progress in the logs, the end time is estimated from the progress samples and the next poll
    is aimed at it: first partway (to refine the estimate, never sleeping more than ``lead``
    times the age), then just past it.
    """

    floor: float = FLOOR
    cap: float = CAP
    growth: float = 0.1
    blind_floor: float = 0.5
    lead: float = 0.5
    approach: float = 0.7
    margin: float = 0.05
    known: tuple[float, ...] = ()
    """Durations of the model's finished predictions (see :class:`Durations`), shortest first:
    without progress they aim the pause (:func:`learned_pause`); empty, the age alone does."""
    _age_at_start: float = 0.0
    _last_starting: float = 0.0
    _processing_since: float | None = None
    _samples: list[tuple[float, float]] = field(default_factory=list)

    def observe(self, now: float, status: str, progress: Progress | None) -> None:
        if status == "starting":
            self._last_starting = now
        elif status == "processing" and self._processing_since is None:
            self._processing_since = now
        if progress is None or progress.percentage <= 0:
            return
        # Mid-point of the step the line reports: "9/20" means somewhere in [9/20, 10/20).
        half_step = 0.5 / progress.total if progress.total else 0.005
        fraction = min(1.0, progress.percentage + half_step)
        if not self._samples or fraction > self._samples[-1][1]:
            self._samples.append((now, fraction))

    def learn(self, known: tuple[float, ...]) -> None:
        self.known = known

    def started(self, at: float) -> None:
        """Processing began at ``at`` (the server's word): the estimate needs no guess of it."""
        self._last_starting = self._processing_since = at

    def aged(self, seconds: float) -> None:
        """The prediction was already ``seconds`` old at the first poll (by the server's
        ``created_at``): the blind pause follows its age, not the wait's."""
        self._age_at_start = max(seconds, 0.0)

    def estimated_end(self) -> float | None:
        """When the prediction should finish, from its progress; ``None`` without progress."""
        if not self._samples:
            return None
        t_last, f_last = self._samples[-1]
        if len(self._samples) > 1:
            t_first, f_first = self._samples[0]
            duration = (t_last - t_first) / (f_last - f_first)
        else:
            seen = self._processing_since if self._processing_since is not None else t_last
            started = (self._last_starting + seen) / 2
            duration = max(t_last - started, 0.0) / f_last
        return t_last + (1.0 - f_last) * duration

    def next_delay(self, now: float) -> float:
        age = now + self._age_at_start
        # What to do knowing nothing but the prediction's age, and its model's durations:
        blind = learned_pause(age, self.known, self.floor)
        if blind is None:
            blind = min(max(self.growth * age, self.blind_floor), blind_cap(age))
        end = self.estimated_end()
        if end is None:
            delay = blind
        elif end > now:
            partway = (end - now) * self.approach
            if partway > 2 * self.floor:  # an estimate far off may be wrong: stay near the age
                delay = min(partway, max(self.lead * age, blind))
            else:
                delay = end - now + self.margin
        else:  # overdue: the estimate was wrong; back off from it, never slower than blind
            delay = min(blind, now - end)
        return min(max(delay, self.floor), self.cap)


def blind_cap(age: float) -> float:
    """The longest pause without progress for a prediction ``age`` seconds old."""
    return BLIND_CAP * min(max(age / 120.0, 1.0), 2.0)


def polling_schedule(poll_interval: float | None) -> Schedule:
    """The adaptive schedule, or a fixed one of ``poll_interval`` seconds (at least ``FLOOR``)."""
    if poll_interval is None:
        return AdaptiveSchedule()
    if not poll_interval >= FLOOR:  # NaN too
        raise ValueError(f"poll_interval must be at least {FLOOR} seconds")
    return FixedSchedule(poll_interval)
