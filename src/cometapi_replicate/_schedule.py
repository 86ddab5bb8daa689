"""When to poll next: pure decisions, no I/O, time passed in by the caller.

A schedule sees each poll's result through :meth:`observe` and answers :meth:`next_delay`.
Times are seconds since the wait began (the first poll is at 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ._progress import Progress

__all__ = ["AdaptiveSchedule", "FixedSchedule", "Schedule", "blind_cap", "polling_schedule"]

FLOOR = 0.25
"""No schedule polls faster than this (seconds)."""
CAP = 30.0
"""No schedule sleeps longer than this between polls (seconds)."""
BLIND_CAP = 1.0
"""Without progress, no pause longer than this while the prediction is under two minutes old;
it grows with the age from there, to ``2 * BLIND_CAP`` at four minutes (seconds)."""


class Schedule(Protocol):
    def observe(self, now: float, status: str, progress: Progress | None) -> None:
        """Record what a poll at ``now`` saw."""

    def next_delay(self, now: float) -> float:
        """Seconds to sleep before the next poll."""

    def aged(self, seconds: float) -> None:
        """The prediction was already ``seconds`` old at the first poll."""


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


@dataclass
class AdaptiveSchedule:
    """Poll rarely while the end is far and often when it is near.

    Without progress the pause grows with the prediction's age (``growth`` times it), from
    ``blind_floor`` to :func:`blind_cap`: a short prediction is seen soon after its end, and no
    end is seen more than 1 s late (2 s once the prediction is four minutes old). With tqdm
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
        # What to do knowing nothing but the prediction's age:
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
