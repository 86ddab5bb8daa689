"""A batch's records: where each item is (the journal's ``Record``), how it ended
(``BatchResult``, ``BatchOutcome``) and the counts so far (``BatchSummary``). Pure data, below
the scheduler and the journal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from cometapi_replicate_api.models import Prediction

__all__ = ["BatchOutcome", "BatchResult", "BatchSummary", "Record", "Stage"]


class Stage(StrEnum):
    """Where an item is, as the journal records it."""

    PENDING = "pending"
    """Nothing created: never tried, or a create that provably created nothing."""
    CREATING = "creating"
    """A create was (about to be) sent and no answer is recorded: *unknown* on resume."""
    CREATED = "created"
    """The prediction exists (id recorded) and was not seen ending."""
    ENDED = "ended"
    """The prediction ended (status, output, error recorded); files not saved."""
    SAVED = "saved"
    """The prediction succeeded and its files are saved."""


class BatchOutcome(StrEnum):
    """How an item ended, for the summary."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"
    UNKNOWN = "unknown"
    ERROR = "error"


@dataclass(frozen=True)
class Record:
    """One item as the journal stores it."""

    key: str
    input_hash: str
    stage: Stage = Stage.PENDING
    creates: int = 0
    """Create requests sent for this key, over all runs."""
    prediction_id: str | None = None
    status: str | None = None
    output: Any = None
    error: str | None = None
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchResult:
    """One item's end: ``status`` is the prediction's (``"unknown"`` when a create's answer was
    lost, ``None`` when nothing was created); ``resumed`` when an earlier run finished it."""

    key: str
    id: str | None
    status: str | None
    outcome: BatchOutcome
    output: Any = None
    files: tuple[Path, ...] = ()
    error: str | None = None
    resumed: bool = False
    prediction: Prediction | None = field(default=None, repr=False, compare=False)
    """The last state seen in this run (``None`` for a resumed item)."""

    @property
    def ok(self) -> bool:
        """The prediction succeeded (and, with ``download``, its files are saved)."""
        return self.outcome is BatchOutcome.SUCCEEDED

    def to_json(self) -> dict[str, Any]:
        """The manifest line: key, id, status, outcome, files, output, error, resumed."""
        return {
            "key": self.key,
            "id": self.id,
            "status": self.status,
            "outcome": str(self.outcome),
            "files": [str(p) for p in self.files],
            "output": self.output,
            "error": self.error,
            "resumed": self.resumed,
        }


@dataclass(frozen=True)
class BatchSummary:
    """Counts so far: each outcome, items in flight and waiting, finishes per minute."""

    counts: Mapping[BatchOutcome, int]
    """Items ended so far, by outcome (an outcome no item has had may be absent)."""
    in_flight: int
    """Items created (or being created) and not yet ended."""
    waiting: int
    """Items read and not yet started."""
    resumed: int
    """Items that an earlier run of the journal had finished."""
    elapsed: float
    """Seconds since the batch began."""
    per_minute: float
    """Items ended per minute so far."""

    @property
    def done(self) -> int:
        """Items ended so far, whatever their outcome."""
        return sum(self.counts.values())

    @property
    def succeeded(self) -> int:
        """Items that succeeded."""
        return self.counts.get(BatchOutcome.SUCCEEDED, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(BatchOutcome.FAILED, 0)

    @property
    def canceled(self) -> int:
        """Canceled or aborted."""
        return self.counts.get(BatchOutcome.CANCELED, 0)

    @property
    def timed_out(self) -> int:
        return self.counts.get(BatchOutcome.TIMED_OUT, 0)

    @property
    def unknown(self) -> int:
        """Creates sent and never answered: they may exist and be billed."""
        return self.counts.get(BatchOutcome.UNKNOWN, 0)

    @property
    def error(self) -> int:
        """Items ended by an error: a create refused with a 4xx, polls or a download that kept
        failing, a status that is not a prediction's."""
        return self.counts.get(BatchOutcome.ERROR, 0)

    @property
    def not_succeeded(self) -> int:
        """Items ended with any other outcome than ``succeeded``."""
        return self.done - self.succeeded

    @property
    def ok(self) -> bool:
        """Every item finished so far succeeded."""
        return self.not_succeeded == 0

    def __str__(self) -> str:
        parts = [f"{self.counts.get(o, 0)} {o.value.replace('_', ' ')}" for o in BatchOutcome]
        return f"{self.done} items: " + ", ".join(parts)
