"""What a progress display shows between polls: pure, every time passed in by the caller.

The adaptive schedule polls rarely while the end is far (that is what keeps requests low), so
a display that draws only what polls confirmed looks frozen. :class:`ProgressEstimate` advances
from the last confirmed progress at the rate the schedule's own end estimate implies, stays
below ``ceiling`` until a poll confirms the end, and snaps to the truth at each poll. It reads
only what polls returned: it never causes a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .._progress import Progress
from .._schedule import AdaptiveSchedule
from .._status import PredictionStatus, is_terminal, normalize_status

CEILING = 0.99
"""An estimate never shows more than this: only a poll can say the prediction is done."""


class Shown(NamedTuple):
    """What a display draws at one moment."""

    fraction: float | None
    """In [0, 1]; ``None``: no progress known yet."""
    estimated: bool
    """Whether ``fraction`` is more than a poll confirmed."""
    remaining: float | None
    """Estimated seconds left, or ``None``."""


@dataclass
class ProgressEstimate:
    """The progress of one prediction: confirmed by polls, estimated in between.

    Times are seconds since the watch began (the first state is seen at about 0), as in
    ``schedule.py``; feed each state seen with :meth:`observe`, ask with :meth:`fraction`.
    """

    ceiling: float = CEILING
    _end: AdaptiveSchedule = field(default_factory=AdaptiveSchedule, repr=False)
    _confirmed: float | None = None
    _since: float = 0.0
    _ended: bool = False

    def observe(self, now: float, status: str, progress: Progress | None) -> None:
        """Record the state a poll returned at ``now``: the display snaps to it."""
        self._end.observe(now, status, progress)
        self._ended = is_terminal(status)
        if normalize_status(status) is PredictionStatus.SUCCEEDED:
            self._confirmed, self._since = 1.0, now
        elif progress is not None:
            self._confirmed, self._since = progress.percentage, now

    @property
    def confirmed(self) -> float | None:
        """The fraction the last poll with progress reported; ``None`` before any."""
        return self._confirmed

    def estimated_end(self) -> float | None:
        """When the prediction should end; ``None`` when unknown, ended or without a rate."""
        if self._ended or self._confirmed is None:
            return None
        end = self._end.estimated_end()
        return end if end is not None and end > self._since else None

    def fraction(self, now: float) -> float | None:
        """What to draw at ``now``: the confirmed fraction advanced at the estimated rate
        (arriving at 1 at the estimated end), never above ``ceiling`` nor below the truth."""
        confirmed, end = self._confirmed, self.estimated_end()
        if confirmed is None or end is None or now <= self._since:
            return confirmed
        rate = (1.0 - confirmed) / (end - self._since)
        return max(confirmed, min(confirmed + rate * (now - self._since), self.ceiling))

    def is_estimate(self, now: float) -> bool:
        """Whether :meth:`fraction` at ``now`` is more than a poll confirmed."""
        shown = self.fraction(now)
        return shown is not None and self._confirmed is not None and shown > self._confirmed

    def remaining(self, now: float) -> float | None:
        """Estimated seconds left (0 once the estimated end has passed); ``None`` if unknown."""
        end = self.estimated_end()
        return None if end is None else max(end - now, 0.0)

    def shown(self, now: float) -> Shown:
        """All a display needs at ``now``."""
        return Shown(self.fraction(now), self.is_estimate(now), self.remaining(now))


def format_duration(seconds: float) -> str:
    """``"42s"``, ``"3m05s"``, ``"1h02m"``: the command line's one way of showing a duration."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def format_eta(seconds: float) -> str:
    """``"~42s"``, ``"~3m05s"``, ``"~1h02m"``: the ``~`` says it is an estimate."""
    return "~" + format_duration(seconds)
