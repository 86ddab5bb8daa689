"""Many predictions of one model: every decision of a batch, as pure code (no I/O, no clock).

``BatchScheduler`` holds the items in flight and answers, for a time ``now`` passed in by the
driver: which items to take next, which requests to send (creates paced under a rate, polls
from one timeline for all predictions, downloads), and what each answer means for its item.
It returns *effects*: ``Save`` (a journal record; the driver commits every ``Save`` of a batch
of effects before it sends that batch's requests, so the intent to create is on disk before
the create), the requests themselves, ``Finish`` (a result for the caller) and ``Abort``.
The drivers (``runner.py``) only perform them.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from cometapi_replicate_api.models import Prediction

from .._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    CometAPIError,
    PermissionDeniedError,
    RateLimitError,
)
from .._progress import parse_progress
from .._responses import server_time
from .._schedule import CAP, FLOOR, AdaptiveSchedule, Durations, blind_cap
from .._status import PredictionStatus, awaiting_output, is_terminal, normalize_status, output_urls
from .._timing import Timing, bounded_delay, is_transient, never_reached_server, parse_retry_after
from .effects import (
    Abort,
    CreateRequest,
    DownloadRequest,
    Effect,
    Finish,
    PollRequest,
    Request,
    Save,
)
from .keys import checked_input, item_folder
from .records import BatchOutcome, BatchResult, BatchSummary, Record, Stage

__all__ = ["BatchOptions", "BatchScheduler", "create_refused", "outcome_of"]

DEFAULT_CONCURRENCY = 50
DEFAULT_RATE = 500.0
"""Creates per minute: below Replicate's published limit of 600 per minute."""
LEARN_AFTER = 8
"""Finished predictions needed before their durations aim the first poll of the next ones."""
LEARNED = 256
"""How many recent durations the schedule keeps (memory stays flat however long the batch)."""
FIRST_POLL_QUANTILE = 0.3
AIM_STEP = 0.3
"""Without progress, each next poll is aimed where this share more of the learned durations
has ended (never sooner than the age-based schedule would poll)."""
MIN_GAP = 0.05
"""Seconds between creates after a 429 on an unpaced batch (then it adapts)."""
MAX_GAP = 60.0
GAP_RECOVERY = 0.98
"""Each create that is accepted shortens the gap between creates by this factor."""


@dataclass(frozen=True)
class BatchOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    """Items in flight at most (creating, running or downloading)."""
    rate: float | None = DEFAULT_RATE
    """Creates per minute at most; ``None``: unpaced."""
    timeout: float | None = None
    """Seconds to wait for each prediction in this run."""
    download: bool = False
    recreate_unknown: bool = False
    max_requests: int = 32
    """Requests in progress at once (creates, polls and downloads together)."""
    timing: Timing = field(default_factory=Timing)
    """Every pause after a failure: ``failure_grace`` bounds an item's failing polls,
    ``max_retries`` its downloads, ``max_retry_after`` a pause of the whole batch."""

    def __post_init__(self) -> None:
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise ValueError("concurrency must be a whole number of at least 1")
        if self.rate is not None and not self.rate > 0:
            raise ValueError("rate must be a positive number of creates per minute, or None")
        if self.timeout is not None and not self.timeout >= 0:  # NaN too
            raise ValueError("timeout must be 0 or more seconds, or None for no limit")
        if self.max_requests < 1:
            raise ValueError("max_requests must be at least 1")


# -- helpers -------------------------------------------------------------------------------


def outcome_of(status: str | None) -> BatchOutcome:
    known = normalize_status(status) if status is not None else None
    if known is PredictionStatus.SUCCEEDED:
        return BatchOutcome.SUCCEEDED
    if known is PredictionStatus.FAILED:
        return BatchOutcome.FAILED
    if known in (PredictionStatus.CANCELED, PredictionStatus.ABORTED):
        return BatchOutcome.CANCELED
    return BatchOutcome.ERROR


def create_refused(error: BaseException) -> bool:
    """Whether a failed create provably created nothing (so it may be sent again)."""
    if isinstance(error, ValueError | TypeError | OSError):
        return True  # raised while checking or encoding the input: nothing was sent
    if isinstance(error, APIConnectionError):
        return never_reached_server(error)
    if isinstance(error, APIStatusError):
        return 400 <= error.status_code < 500 and error.status_code != 408
    return False


def _duration(prediction: Prediction, until: str = "completed_at") -> float | None:
    """Seconds from creation to completion (or ``until`` another timestamp), by the server's
    own timestamps."""
    start, end = server_time(prediction.created_at), server_time(getattr(prediction, until, None))
    if start is None or end is None or end < start:
        return None
    return end - start


def _output_json(prediction: Prediction) -> Any:
    return prediction.to_dict().get("output")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


# -- the scheduler -------------------------------------------------------------------------


class _Phase(StrEnum):
    QUEUED = "queued"
    CREATING = "creating"
    RUNNING = "running"
    POLLING = "polling"
    SAVING = "saving"


@dataclass(eq=False)
class _Item:
    key: str
    input: Mapping[str, Any]
    record: Record
    phase: _Phase = _Phase.QUEUED
    started: float | None = None
    """When the prediction was created, or (resumed) admitted: the client's clock."""
    deadline: float | None = None
    schedule: AdaptiveSchedule = field(default_factory=AdaptiveSchedule)
    created_here: bool = False
    """Created in this run: its age and the server's timestamps share an origin."""
    polls: int = 0
    sent: float = 0.0
    """When its last create was sent."""
    token: int = 0
    failing_since: float | None = None
    failures: int = 0
    prediction: Prediction | None = None
    download_attempts: int = 0
    grace_ends: float | None = None
    """When a state awaiting its output (succeeded, output null) is taken as it is: set the
    first time the item is seen in one, never restarted (a server that goes back to
    ``processing`` gets no second grace)."""

    def holding(self) -> bool:
        """Whether its latest state awaits its output."""
        return self.prediction is not None and awaiting_output(self.prediction)

    def ends(self) -> float | None:
        """When the item stops being polled: its deadline, or, while it awaits its output, the
        end of its output grace."""
        grace = self.grace_ends if self.holding() else None
        return min((t for t in (self.deadline, grace) if t is not None), default=None)


class BatchScheduler:
    """The state of a batch and every decision about it; times are the driver's ``now``.

    The driver loop: ``admit`` items while ``free_slots()``; carry out ``due(now)``; sleep until
    ``next_wakeup()`` or an answer; hand each answer to ``created``/``polled``/``downloaded``.
    """

    def __init__(
        self,
        options: BatchOptions,
        *,
        start: float = 0.0,
        wall_clock: Callable[[], float] = time.time,
        durations: Durations | None = None,
    ) -> None:
        """``durations``: the client's memory of its models' durations, told of each success
        here so that the client's later waits on the model learn from the batch."""
        self.options = options
        self._client_durations = durations
        self._wall = wall_clock
        self._start = start
        self._items: dict[str, _Item] = {}
        self._creates: list[tuple[float, int, str]] = []
        self._polls: list[tuple[float, int, str, int]] = []
        self._downloads: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._outstanding = 0
        self._next_create = start
        self._paused_until = start
        self._throttled = 0
        self._base_gap = 0.0 if options.rate is None else 60.0 / options.rate
        self._gap = self._base_gap
        self._gap_raised = start - 1.0
        self._durations: deque[float] = deque(maxlen=LEARNED)
        self._learned = 0
        self._first_poll = FLOOR
        self._ordered: list[float] = []
        self._counts: Counter[BatchOutcome] = Counter()
        self._resumed = 0
        self._live_done = 0
        self._last = start

    # -- intake ----------------------------------------------------------------------------

    def free_slots(self) -> int:
        """How many more items may be admitted now."""
        return self.options.concurrency - len(self._items)

    @property
    def idle(self) -> bool:
        """No item in flight (after the last input: the batch is over)."""
        return not self._items

    def admit(
        self, key: str, model_input: Mapping[str, Any], record: Record | None, now: float
    ) -> list[Effect]:
        """Take an input with what the journal knows of its key; decide what it needs."""
        self._last = now
        if key in self._items:
            raise ValueError(f"key {key!r} appears twice in the inputs")
        digest = checked_input(key, model_input, record)
        record = record or Record(key, digest)
        stage, download = record.stage, self.options.download
        if stage is Stage.SAVED or (
            stage is Stage.ENDED
            and not (download and outcome_of(record.status) is BatchOutcome.SUCCEEDED)
        ):
            return [self._finish_resumed(record, outcome_of(record.status))]
        if stage is Stage.CREATING and not self.options.recreate_unknown:
            return [self._finish_resumed(record, BatchOutcome.UNKNOWN, status="unknown")]
        item = _Item(key, model_input, record)
        self._items[key] = item
        if stage in (Stage.CREATED, Stage.ENDED):  # wait again, or fetch fresh output URLs
            item.started, item.deadline = now, self._deadline(now)
            self._queue_poll(item, now)
        else:
            self._queue_create(item, now)
        return []

    def _finish_resumed(
        self, record: Record, outcome: BatchOutcome, *, status: str | None = None
    ) -> Finish:
        self._resumed += 1
        self._counts[outcome] += 1
        return Finish(
            BatchResult(
                key=record.key,
                id=record.prediction_id,
                status=status or record.status,
                outcome=outcome,
                output=record.output,
                files=tuple(Path(f) for f in record.files),
                error=record.error,
                resumed=True,
            )
        )

    # -- what to send ----------------------------------------------------------------------

    def due(self, now: float) -> list[Effect]:
        """The requests to send now (each create preceded by its intent ``Save``)."""
        self._last = now
        effects: list[Effect] = []
        while self._free_requests() and self._downloads and self._downloads[0][0] <= now:
            _, _, key = heapq.heappop(self._downloads)
            saving = self._items[key]
            assert saving.prediction is not None
            effects.append(self._send(DownloadRequest(key, saving.prediction, item_folder(key))))
        if now < self._paused_until:
            return effects
        while self._free_requests() and self._polls and self._polls[0][0] <= now:
            _, _, key, token = heapq.heappop(self._polls)
            polling = self._items.get(key)
            if polling is None or polling.token != token:
                continue  # superseded
            polling.phase = _Phase.POLLING
            assert polling.record.prediction_id is not None
            effects.append(self._send(PollRequest(key, polling.record.prediction_id)))
        while (
            self._free_requests()
            and self._creates
            and self._creates[0][0] <= now
            and self._next_create <= now
        ):
            _, _, key = heapq.heappop(self._creates)
            creating = self._items[key]
            creating.phase = _Phase.CREATING
            creating.record = replace(
                creating.record,
                stage=Stage.CREATING,
                creates=creating.record.creates + 1,
                error=None,
            )
            effects.append(Save(creating.record))
            effects.append(self._send(CreateRequest(key, creating.input)))
            creating.sent = now
            self._next_create = max(self._next_create, now) + self._gap
        return effects

    def next_wakeup(self) -> float | None:
        """When ``due`` may next have something to send (``None``: only an answer can)."""
        if not self._free_requests():
            return None
        times = []
        if self._downloads:
            times.append(self._downloads[0][0])
        if self._polls:
            times.append(max(self._polls[0][0], self._paused_until))
        if self._creates:
            times.append(max(self._creates[0][0], self._next_create, self._paused_until))
        return min(times, default=None)

    def _free_requests(self) -> bool:
        return self._outstanding < self.options.max_requests

    def _send(self, request: Request) -> Request:
        self._outstanding += 1
        return request

    @property
    def create_gap(self) -> float:
        """Seconds between creates now: the rate's, or longer after 429s."""
        return self._gap

    # -- answers ---------------------------------------------------------------------------

    def created(self, key: str, outcome: Prediction | BaseException, now: float) -> list[Effect]:
        """The answer to a create: the new prediction, or the exception the create raised."""
        item = self._answered(key, now)
        if isinstance(outcome, Prediction):
            self._api_ok()
            self._gap = max(self._base_gap, self._gap * GAP_RECOVERY)
            if self._gap < MIN_GAP / 50:
                self._gap = self._base_gap
            item.started, item.deadline = now, self._deadline(now)
            item.created_here = True
            item.failing_since, item.failures = None, 0
            item.record = replace(
                item.record,
                stage=Stage.CREATED,
                prediction_id=outcome.id,
                status=outcome.status,
                error=None,
            )
            return [Save(item.record), *self._seen(item, outcome, now)]
        error = outcome
        if isinstance(error, AuthenticationError | PermissionDeniedError):
            return self._abort(item, error)
        if isinstance(error, RateLimitError):
            self._throttle(error, now)
            if item.sent >= self._gap_raised:  # once per wave: later sends see the new gap
                self._gap = min(max(2 * self._gap, MIN_GAP), MAX_GAP)
                self._gap_raised = now
            return self._requeue(item, now, error)
        if not create_refused(error):  # it may exist: never send it again on our own
            item.record = replace(item.record, error=_message(error))
            return [Save(item.record), self._finish(item, BatchOutcome.UNKNOWN, "unknown", now)]
        if isinstance(error, APIConnectionError):  # never reached the server: try again later
            delay = self._retry_delay(item, error, None, now)
            if delay is not None:
                return self._requeue(item, now + delay, error)
        item.record = replace(item.record, stage=Stage.PENDING, error=_message(error))
        return [Save(item.record), self._finish(item, BatchOutcome.ERROR, None, now)]

    def withdrawn(self, key: str) -> list[Effect]:
        """A create decided but never sent (the batch stopped first): nothing to be unsure of."""
        item = self._items.pop(key)
        self._outstanding -= 1
        item.record = replace(item.record, stage=Stage.PENDING, creates=item.record.creates - 1)
        return [Save(item.record)]

    def polled(self, key: str, outcome: Prediction | BaseException, now: float) -> list[Effect]:
        """The answer to a poll: the prediction's state, or the exception the poll raised."""
        item = self._answered(key, now)
        if isinstance(outcome, Prediction):
            self._api_ok()
            item.failing_since, item.failures = None, 0
            return self._seen(item, outcome, now)
        error = outcome
        if isinstance(error, AuthenticationError | PermissionDeniedError):
            return self._abort(item, error)
        retry_after = self._throttle(error, now)
        if isinstance(error, RateLimitError):
            return self._next_poll(item, now, 0.0)
        delay = self._retry_delay(item, error, retry_after, now)
        ends = item.ends()
        if item.holding() and (delay is None or (ends is not None and now + delay >= ends)):
            assert item.prediction is not None  # no retry fits in the output grace, or the
            item.grace_ends = now  # poll failed for good: the state it has is its end
            return self._seen(item, item.prediction, now)
        if delay is None:
            return self._give_up(item, error, now)
        if item.deadline is not None and now >= item.deadline:
            return self._timed_out(item, now)
        return self._next_poll(item, now, delay)

    def downloaded(self, key: str, outcome: list[Path] | BaseException, now: float) -> list[Effect]:
        """The answer to a download: the saved paths in output order, or the exception."""
        item = self._answered(key, now)
        if not isinstance(outcome, BaseException):
            files = tuple(str(p) for p in outcome)
            item.record = replace(item.record, stage=Stage.SAVED, files=files, error=None)
            return [Save(item.record), self._finish(item, BatchOutcome.SUCCEEDED, None, now)]
        transient = isinstance(outcome, CometAPIError) and is_transient(outcome)
        delay = self.options.timing.retry_delay(
            item.download_attempts, retryable=transient, retry_after=None
        )
        item.download_attempts += 1
        if delay is not None:
            heapq.heappush(self._downloads, (now + delay, next(self._seq), key))
            item.phase = _Phase.SAVING
            return []
        item.record = replace(item.record, error=f"download failed: {_message(outcome)}")
        return [Save(item.record), self._finish(item, BatchOutcome.ERROR, None, now)]

    # -- decisions shared by the answers -----------------------------------------------------

    def _answered(self, key: str, now: float) -> _Item:
        self._outstanding -= 1
        self._last = now
        return self._items[key]

    def _seen(self, item: _Item, prediction: Prediction, now: float) -> list[Effect]:
        """A state of the prediction arrived (from its create or a poll)."""
        item.prediction = prediction
        awaiting = awaiting_output(prediction)
        if awaiting and item.grace_ends is None:
            item.grace_ends = now + self.options.timing.output_grace
        ends = item.ends()
        held = awaiting and ends is not None and now < ends
        if is_terminal(prediction) and not held:
            self._learn(item, prediction, now)
            item.record = replace(
                item.record,
                stage=Stage.ENDED,
                prediction_id=prediction.id,
                status=prediction.status,
                output=_output_json(prediction),
                error=_text(prediction.error),
            )
            outcome = outcome_of(prediction.status)
            has_files = bool(output_urls(prediction)) or prediction.data_removed is True
            if outcome is BatchOutcome.SUCCEEDED and self.options.download and has_files:
                heapq.heappush(self._downloads, (now, next(self._seq), item.key))
                item.phase = _Phase.SAVING
                return [Save(item.record)]
            if outcome is BatchOutcome.SUCCEEDED:
                item.record = replace(item.record, stage=Stage.SAVED, files=())
            return [Save(item.record), self._finish(item, outcome, None, now)]
        item.record = replace(item.record, status=prediction.status)
        if not held and item.deadline is not None and now >= item.deadline:
            return self._timed_out(item, now)
        age = now - (item.started if item.started is not None else now)
        schedule = item.schedule
        began = _duration(prediction, "started_at") if item.created_here else None
        if began is not None and began <= age:  # the start is known: aim close to the end
            schedule.started(began)
            schedule.approach = 0.9
        schedule.observe(age, prediction.status, parse_progress(_text(prediction.logs)))
        delay = schedule.next_delay(age)
        if item.polls == 0:  # the create's answer: aim the first poll from the batch so far
            delay = max(delay, min(self.first_poll_age() - age, CAP))
        elif schedule.estimated_end() is None:  # no progress: aim by the batch's durations
            delay = max(delay, min(self._aimed_age(age) - age, 2 * blind_cap(age)))
        return self._next_poll(item, now, delay)

    def _next_poll(self, item: _Item, now: float, delay: float) -> list[Effect]:
        ends = item.ends()
        remaining = None if ends is None else ends - now
        self._queue_poll(item, now + bounded_delay(delay, remaining=remaining))
        return []

    def _queue_poll(self, item: _Item, when: float) -> None:
        item.phase = _Phase.RUNNING
        item.token += 1
        item.polls += 1
        heapq.heappush(self._polls, (when, next(self._seq), item.key, item.token))

    def _queue_create(self, item: _Item, when: float) -> None:
        item.phase = _Phase.QUEUED
        heapq.heappush(self._creates, (when, next(self._seq), item.key))

    def _requeue(self, item: _Item, when: float, error: BaseException) -> list[Effect]:
        """A create that provably created nothing goes back in line."""
        item.record = replace(item.record, stage=Stage.PENDING, error=_message(error))
        self._queue_create(item, when)
        return [Save(item.record)]

    def _timed_out(self, item: _Item, now: float) -> list[Effect]:
        timeout = self.options.timeout or 0.0
        message = f"still {item.record.status} after {timeout:g}s (a new run waits again)"
        item.record = replace(item.record, error=message)
        return [Save(item.record), self._finish(item, BatchOutcome.TIMED_OUT, None, now)]

    def _give_up(self, item: _Item, error: BaseException, now: float) -> list[Effect]:
        item.record = replace(item.record, error=_message(error))
        return [Save(item.record), self._finish(item, BatchOutcome.ERROR, None, now)]

    def _abort(self, item: _Item, error: CometAPIError) -> list[Effect]:
        if item.record.stage is Stage.CREATING:  # refused: nothing was created
            item.record = replace(item.record, stage=Stage.PENDING, error=_message(error))
        self._items.pop(item.key, None)
        return [Save(item.record), Abort(error)]

    def _finish(self, item: _Item, outcome: BatchOutcome, status: str | None, now: float) -> Finish:
        self._items.pop(item.key, None)
        item.token += 1
        self._counts[outcome] += 1
        self._live_done += 1
        record = item.record
        return Finish(
            BatchResult(
                key=item.key,
                id=record.prediction_id,
                status=status or record.status,
                outcome=outcome,
                output=record.output,
                files=tuple(Path(f) for f in record.files),
                error=record.error,
                prediction=item.prediction,
            )
        )

    def _deadline(self, now: float) -> float | None:
        return None if self.options.timeout is None else now + self.options.timeout

    def _retry_delay(
        self, item: _Item, error: BaseException, retry_after: float | None, now: float
    ) -> float | None:
        """The pause before trying the item's failed request again; ``None``: give it up."""
        item.failing_since = now if item.failing_since is None else item.failing_since
        item.failures += 1
        return self.options.timing.retry_delay(
            item.failures - 1,
            retryable=isinstance(error, CometAPIError) and is_transient(error),
            retry_after=retry_after,
            failing_for=now - item.failing_since,
        )

    # -- one backoff for the whole batch -----------------------------------------------------

    def _throttle(self, error: BaseException, now: float) -> float | None:
        """A 429, or any answer with Retry-After, pauses every API request of the batch."""
        headers = getattr(error, "headers", None)
        retry_after = parse_retry_after(headers, self._wall()) if headers else None
        if isinstance(error, RateLimitError) or retry_after is not None:
            self._throttled += 1
            timing = self.options.timing  # the server's word when it gives one, capped
            pause = timing.backoff(self._throttled - 1) if retry_after is None else retry_after
            pause = min(pause, timing.max_retry_after)
            self._paused_until = max(self._paused_until, now + pause)
        return retry_after

    def _api_ok(self) -> None:
        self._throttled = 0

    @property
    def paused_until(self) -> float:
        """API requests wait until this time (a 429 or Retry-After seen)."""
        return self._paused_until

    # -- learning from the batch ---------------------------------------------------------------

    def _learn(self, item: _Item, prediction: Prediction, now: float) -> None:
        seconds = _duration(prediction)
        succeeded = normalize_status(prediction.status) is PredictionStatus.SUCCEEDED
        model = prediction.model
        known = self._client_durations
        if known is not None and seconds is not None and succeeded and isinstance(model, str):
            known.record(model, seconds)
        if seconds is None and item.started is not None:
            seconds = now - item.started
        if seconds is not None:
            self._durations.append(seconds)
            self._learned += 1
            if self._learned == LEARN_AFTER or self._learned % LEARN_AFTER == 0:
                ordered = self._ordered = sorted(self._durations)
                quantile = ordered[int(FIRST_POLL_QUANTILE * (len(ordered) - 1))]
                self._first_poll = max(FLOOR, quantile)

    def _aimed_age(self, age: float) -> float:
        """The age at which ``AIM_STEP`` more of the learned durations have ended than at
        ``age`` (``age`` itself when none are learned or ``age`` is past them all)."""
        ordered = self._ordered
        if not ordered or age >= ordered[-1]:
            return age
        share = bisect.bisect_right(ordered, age) / len(ordered) + AIM_STEP
        return ordered[min(int(share * (len(ordered) - 1)), len(ordered) - 1)]

    def first_poll_age(self) -> float:
        """The age of a new prediction at its first poll: a low quantile of the durations of
        the latest predictions of this batch that ended (the floor until enough have)."""
        return self._first_poll

    # -- reporting ---------------------------------------------------------------------------

    def summary(self) -> BatchSummary:
        elapsed = max(self._last - self._start, 0.0)
        waiting = len(self._creates)
        return BatchSummary(
            counts=dict(self._counts),
            in_flight=len(self._items) - waiting,
            waiting=waiting,
            resumed=self._resumed,
            elapsed=elapsed,
            per_minute=60.0 * self._live_done / elapsed if elapsed > 0 else 0.0,
        )

    def unfinished(self) -> list[str]:
        """Keys admitted and not finished (to report on an interrupted batch)."""
        return list(self._items)


def _message(error: BaseException) -> str:
    return str(error) or type(error).__name__
