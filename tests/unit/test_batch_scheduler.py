"""The batch's decisions, driven step by step on a simulated clock: no sockets, no sleeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    Prediction,
    RateLimitError,
)
from cometapi_replicate._batch.effects import (
    Abort,
    CreateRequest,
    DownloadRequest,
    Effect,
    Finish,
    PollRequest,
    Save,
)
from cometapi_replicate._batch.keys import fingerprint, in_shard, item_folder, keyed
from cometapi_replicate._batch.records import BatchOutcome, Record, Stage
from cometapi_replicate._batch.scheduler import BatchOptions, BatchScheduler
from cometapi_replicate._schedule import FLOOR
from cometapi_replicate._timing import Timing

INPUT = {"prompt": "a boat"}
DIGEST = fingerprint(INPUT)
NO_JITTER = Timing(random=lambda: 1.0)


def options(**overrides: Any) -> BatchOptions:
    values: dict[str, Any] = {"rate": None, "timing": NO_JITTER, **overrides}
    return BatchOptions(**values)


def pred(status: str = "starting", id: str = "p1", **extra: Any) -> Prediction:
    return Prediction.from_dict({"id": id, "status": status, **extra})


def of(effects: list[Effect], kind: type) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def status_error(cls: type, status: int, **headers: str) -> Exception:
    return cls("x", status_code=status, headers=headers)  # type: ignore[no-any-return]


def never_sent() -> APIConnectionError:
    error = APIConnectionError("connection refused")
    error.__cause__ = httpx.ConnectError("refused")
    return error


def start(sched: BatchScheduler, key: str = "a", now: float = 0.0) -> CreateRequest:
    assert sched.admit(key, INPUT, None, now) == []
    (create,) = of(sched.due(now), CreateRequest)
    return create  # type: ignore[no-any-return]


# -- admission: what an item needs, from what the journal knows ------------------------------


def record(stage: Stage, **fields: Any) -> Record:
    return Record("a", DIGEST, stage, **fields)


@pytest.mark.parametrize(
    ("known", "opts", "expect"),
    [
        (None, {}, "create"),
        (record(Stage.PENDING, error="400: bad"), {}, "create"),
        (record(Stage.CREATING, creates=1), {}, BatchOutcome.UNKNOWN),
        (record(Stage.CREATING, creates=1), {"recreate_unknown": True}, "create"),
        (record(Stage.CREATED, prediction_id="p1"), {}, "poll"),
        (record(Stage.ENDED, prediction_id="p1", status="failed"), {}, BatchOutcome.FAILED),
        (record(Stage.ENDED, prediction_id="p1", status="aborted"), {}, BatchOutcome.CANCELED),
        (record(Stage.ENDED, prediction_id="p1", status="succeeded"), {}, BatchOutcome.SUCCEEDED),
        (
            record(Stage.ENDED, prediction_id="p1", status="succeeded"),
            {"download": True},
            "poll",  # fresh output URLs, then the files
        ),
        (
            record(Stage.SAVED, prediction_id="p1", status="succeeded", files=("o/a/x.png",)),
            {"download": True},
            BatchOutcome.SUCCEEDED,
        ),
    ],
)
def test_admission_follows_the_journal(
    known: Record | None, opts: dict[str, Any], expect: str | BatchOutcome
) -> None:
    sched = BatchScheduler(options(**opts))
    finished = sched.admit("a", INPUT, known, 0.0)
    due = sched.due(0.0)
    if isinstance(expect, BatchOutcome):
        (finish,) = finished
        assert isinstance(finish, Finish) and finish.result.outcome is expect
        assert finish.result.resumed and due == [] and sched.idle
        if expect is BatchOutcome.UNKNOWN:
            assert finish.result.status == "unknown" and finish.result.id is None
        return
    assert finished == []
    if expect == "create":
        save, create = due
        assert isinstance(save, Save) and isinstance(create, CreateRequest)
        assert save.record.stage is Stage.CREATING
        assert save.record.creates == (known.creates if known else 0) + 1
    else:
        assert due == [PollRequest("a", "p1")]


def test_the_intent_is_saved_before_the_create_and_the_id_as_soon_as_it_returns() -> None:
    sched = BatchScheduler(options())
    sched.admit("a", INPUT, None, 0.0)
    effects = sched.due(0.0)
    assert [type(e) for e in effects] == [Save, CreateRequest]
    effects = sched.created("a", pred("starting"), 0.1)
    (save,) = of(effects, Save)
    assert save.record.stage is Stage.CREATED and save.record.prediction_id == "p1"


def test_a_changed_input_or_a_key_twice_in_flight_is_refused() -> None:
    sched = BatchScheduler(options())
    with pytest.raises(ValueError, match="differs"):
        sched.admit("a", {"prompt": "other"}, record(Stage.CREATED, prediction_id="p1"), 0.0)
    sched.admit("a", INPUT, None, 0.0)
    with pytest.raises(ValueError, match="twice"):
        sched.admit("a", INPUT, None, 0.0)


def test_concurrency_bounds_the_items_in_flight() -> None:
    sched = BatchScheduler(options(concurrency=3))
    for key in "abc":
        sched.admit(key, INPUT, None, 0.0)
    assert sched.free_slots() == 0
    sched.due(0.0)
    sched.created("a", pred("failed", id="pa"), 1.0)
    assert sched.free_slots() == 1


def test_requests_in_progress_are_bounded() -> None:
    sched = BatchScheduler(options(concurrency=10, max_requests=4))
    for key in "abcdefgh":
        sched.admit(key, INPUT, None, 0.0)
    assert len(of(sched.due(0.0), CreateRequest)) == 4
    assert sched.next_wakeup() is None  # only an answer can free a slot
    sched.created("a", pred(id="pa"), 0.1)
    assert len(of(sched.due(0.1), CreateRequest)) == 1


# -- pacing and the shared backoff -----------------------------------------------------------


def test_creates_are_paced_under_the_rate() -> None:
    sched = BatchScheduler(options(rate=60.0, concurrency=10))  # one a second
    for key in "abcd":
        sched.admit(key, INPUT, None, 0.0)
    sent: list[float] = []
    now = 0.0
    while (wakeup := sched.next_wakeup()) is not None or not sent:
        now = wakeup if wakeup is not None else now
        sent += [now for _ in of(sched.due(now), CreateRequest)]
    assert sent == [0.0, 1.0, 2.0, 3.0]


def test_a_429_with_retry_after_on_any_request_pauses_the_whole_batch() -> None:
    sched = BatchScheduler(options(concurrency=10), wall_clock=lambda: 0.0)
    for key in "ab":
        start(sched, key)
    sched.created("a", pred(id="pa"), 0.0)
    sched.created("b", pred(id="pb"), 0.0)
    now = 1.0
    polls = of(sched.due(now), PollRequest)
    assert polls == [PollRequest("a", "pa"), PollRequest("b", "pb")]
    sched.admit("c", INPUT, None, now)  # waiting for its create
    sched.polled("a", status_error(RateLimitError, 429, **{"retry-after": "5"}), now)
    assert sched.paused_until == 6.0
    sched.polled("b", pred("processing", id="pb"), now)
    for t in (1.0, 3.0, 5.99):
        assert sched.due(t) == []  # no poll and no create: b's poll and c's create wait
    assert sched.next_wakeup() == 6.0
    after = sched.due(6.0)
    assert {type(e) for e in after} == {PollRequest, Save, CreateRequest}


def test_a_429_without_retry_after_backs_off_exponentially() -> None:
    sched = BatchScheduler(options(), wall_clock=lambda: 0.0)
    start(sched)
    sched.created("a", pred(id="pa"), 0.0)
    pauses = []
    now = 0.0
    for _ in range(3):
        now = max(sched.next_wakeup() or now, now)
        assert of(sched.due(now), PollRequest)
        sched.polled("a", status_error(RateLimitError, 429), now)
        pauses.append(sched.paused_until - now)
    assert pauses == [0.5, 1.0, 2.0]


def test_a_refused_create_goes_back_in_line_and_slows_the_rate() -> None:
    sched = BatchScheduler(options(rate=60.0), wall_clock=lambda: 0.0)
    start(sched)
    effects = sched.created("a", status_error(RateLimitError, 429, **{"retry-after": "2"}), 0.5)
    (save,) = of(effects, Save)
    assert save.record.stage is Stage.PENDING  # provably not created
    assert sched.next_wakeup() == 2.5
    effects = sched.due(2.5)
    assert of(effects, Save)[-1].record.creates == 2
    sched.created("a", pred("succeeded", id="pa", output="done"), 2.6)
    sched.admit("b", INPUT, None, 2.6)
    assert sched.next_wakeup() == pytest.approx(2.5 + 2.0)  # 60/min halved to 30/min


# -- what each create answer means ------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "outcome", "stage", "again"),
    [
        (APITimeoutError("timed out"), BatchOutcome.UNKNOWN, Stage.CREATING, False),
        (status_error(InternalServerError, 502), BatchOutcome.UNKNOWN, Stage.CREATING, False),
        (APIConnectionError("dropped after sending"), BatchOutcome.UNKNOWN, Stage.CREATING, False),
        (status_error(BadRequestError, 400), BatchOutcome.ERROR, Stage.PENDING, False),
        (status_error(NotFoundError, 404), BatchOutcome.ERROR, Stage.PENDING, False),
        (OSError("no such file: in.png"), BatchOutcome.ERROR, Stage.PENDING, False),
        (never_sent(), None, Stage.PENDING, True),
        (status_error(RateLimitError, 429), None, Stage.PENDING, True),
    ],
)
def test_a_create_is_never_sent_again_unless_it_provably_created_nothing(
    error: Exception, outcome: BatchOutcome | None, stage: Stage, again: bool
) -> None:
    sched = BatchScheduler(options(), wall_clock=lambda: 0.0)
    start(sched)
    effects = sched.created("a", error, 1.0)
    assert of(effects, Save)[-1].record.stage is stage
    finishes = of(effects, Finish)
    if outcome is None:
        assert finishes == []
    else:
        assert [f.result.outcome for f in finishes] == [outcome]
        assert finishes[0].result.error
        if outcome is BatchOutcome.UNKNOWN:
            assert finishes[0].result.status == "unknown"
    later = sched.due(100.0)
    assert bool(of(later, CreateRequest)) is again


def test_a_refused_key_aborts_the_batch() -> None:
    sched = BatchScheduler(options())
    start(sched)
    effects = sched.created("a", status_error(AuthenticationError, 401), 0.1)
    assert of(effects, Save)[-1].record.stage is Stage.PENDING
    assert isinstance(effects[-1], Abort)


def test_a_create_that_cannot_connect_gives_up_after_the_grace_period() -> None:
    sched = BatchScheduler(options(timing=Timing(failure_grace=10.0, random=lambda: 1.0)))
    start(sched)
    now = 0.0
    while True:
        effects = sched.created("a", never_sent(), now)
        if of(effects, Finish):
            break
        now = sched.next_wakeup() or now
        assert of(sched.due(now), CreateRequest)
    assert now >= 10.0
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.ERROR
    assert of(effects, Save)[-1].record.stage is Stage.PENDING


# -- polls: one timeline for all predictions --------------------------------------------------


def test_polls_of_many_predictions_come_from_one_timeline_in_time_order() -> None:
    sched = BatchScheduler(options(concurrency=3))
    for key in "abc":
        start(sched, key)
    sched.created("a", pred(id="pa"), 0.0)
    sched.created("b", pred(id="pb"), 0.1)
    sched.created("c", pred(id="pc"), 0.2)
    order: list[str] = []
    now = 0.0
    while len(order) < 3:
        now = sched.next_wakeup() or now
        order += [p.key for p in of(sched.due(now), PollRequest)]
    assert order == ["a", "b", "c"]


def test_durations_a_server_misreports_cannot_push_the_first_poll_out() -> None:
    """A day between created_at (naive) and completed_at (aware), for predictions that ended
    at once: the batch aims a first poll no further than 30 s out, like any other pause."""
    sched = BatchScheduler(options(concurrency=100))
    for n in range(8):
        start(sched, f"k{n}", now=0.0)
        ended = pred(
            "succeeded",
            id=f"p{n}",
            output="done",
            created_at="2026-01-01T00:00:00",
            completed_at="2026-01-02T00:00:05+00:00",
        )
        sched.created(f"k{n}", ended, 0.0)
    start(sched, "new", now=20.0)
    sched.created("new", pred(id="pn"), 20.0)
    wakeup = sched.next_wakeup()
    assert wakeup is not None and wakeup <= 20.0 + 30.0


def test_the_first_poll_is_aimed_by_the_durations_of_finished_predictions() -> None:
    sched = BatchScheduler(options(concurrency=100))
    assert sched.first_poll_age() == FLOOR
    for n in range(8):
        key = f"k{n}"
        start(sched, key, now=0.0)
        ended = pred(
            "succeeded",
            id=f"p{n}",
            output="done",
            created_at="2026-01-01T00:00:00.000Z",
            completed_at=f"2026-01-01T00:00:{4 + n:02d}.000Z",
        )
        sched.created(key, ended, 0.0)
    assert sched.first_poll_age() == 6.0  # the 30th percentile of 4..11 s
    start(sched, "new", now=20.0)
    sched.created("new", pred(id="pn"), 20.0)
    assert sched.next_wakeup() == 26.0


def test_a_failed_prediction_is_recorded_and_the_others_go_on() -> None:
    sched = BatchScheduler(options(concurrency=2))
    start(sched, "a")
    start(sched, "b")
    effects = sched.created("a", pred("failed", id="pa", error="CUDA out of memory"), 0.1)
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.FAILED
    assert finish.result.error == "CUDA out of memory"
    assert of(effects, Save)[-1].record.stage is Stage.ENDED
    effects = sched.created("b", pred("succeeded", id="pb", output=["u"]), 0.2)
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.SUCCEEDED and finish.result.output == ["u"]
    assert sched.summary().counts == {BatchOutcome.FAILED: 1, BatchOutcome.SUCCEEDED: 1}


def test_transient_poll_failures_are_ridden_out_then_given_up() -> None:
    sched = BatchScheduler(options(timing=Timing(failure_grace=20.0, random=lambda: 1.0)))
    start(sched)
    sched.created("a", pred(id="pa"), 0.0)
    now, polls = 0.0, 0
    while True:
        now = sched.next_wakeup() or now
        assert of(sched.due(now), PollRequest)
        polls += 1
        effects = sched.polled("a", status_error(InternalServerError, 503), now)
        if effects:
            break
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.ERROR and now >= 20.0 and polls > 3
    assert of(effects, Save)[-1].record.stage is Stage.CREATED  # a new run waits for it again


def test_a_poll_that_cannot_succeed_ends_the_item_at_once() -> None:
    sched = BatchScheduler(options())
    start(sched)
    sched.created("a", pred(id="pa"), 0.0)
    sched.due(sched.next_wakeup() or 0.0)
    effects = sched.polled("a", status_error(NotFoundError, 404), 1.0)
    assert of(effects, Finish)[0].result.outcome is BatchOutcome.ERROR


def test_the_timeout_ends_the_wait_and_keeps_the_prediction_for_a_new_run() -> None:
    sched = BatchScheduler(options(timeout=5.0))
    start(sched)
    sched.created("a", pred(id="pa"), 0.0)
    now = 0.0
    effects: list[Effect] = []
    while not of(effects, Finish):
        wakeup = sched.next_wakeup()
        assert wakeup is not None and wakeup <= 5.0  # never sleeps past the deadline
        now = wakeup
        assert of(sched.due(now), PollRequest)
        effects = sched.polled("a", pred("processing", id="pa"), now)
    assert now == 5.0
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.TIMED_OUT and finish.result.status == "processing"
    assert of(effects, Save)[-1].record.stage is Stage.CREATED


def poll_until_finished(
    sched: BatchScheduler, answer: Any, now: float = 0.0
) -> tuple[list[Effect], float, int]:
    """Poll item ``a`` with ``answer(poll number)`` until it finishes: its effects, the time
    and the number of polls."""
    effects: list[Effect] = []
    polls = 0
    while not of(effects, Finish):
        wakeup = sched.next_wakeup()
        assert wakeup is not None
        now = wakeup
        assert of(sched.due(now), PollRequest)
        polls += 1
        effects = sched.polled("a", answer(polls), now)
    return effects, now, polls


GRACE = NO_JITTER.output_grace
FILES = ["https://files.example/out-0.png"]


@pytest.mark.parametrize("lag", [1, 3])
def test_an_output_lagging_behind_succeeded_is_polled_for_and_downloaded(lag: int) -> None:
    sched = BatchScheduler(options(download=True))
    start(sched)
    sched.created("a", pred(id="pa"), 0.0)
    late = lag + 2  # the poll that first sees it succeeded is the second

    def answer(poll: int) -> Exception | Prediction:
        if poll < 2:
            return pred("processing", id="pa")
        return pred("succeeded", id="pa", output=FILES if poll >= late else None)

    effects: list[Effect] = []
    polls = 0
    now = 0.0
    while not of(effects, Finish) and not sched._downloads:
        now = sched.next_wakeup() or now
        assert of(sched.due(now), PollRequest)
        polls += 1
        effects = sched.polled("a", answer(polls), now)
    assert polls == late and not of(effects, Finish)  # not finished without its files
    (download,) = of(sched.due(sched.next_wakeup() or now), DownloadRequest)
    assert download.prediction.output == FILES


def test_a_null_output_is_taken_as_it_is_after_the_grace_on_the_ordinary_schedule() -> None:
    sched = BatchScheduler(options(download=True, timeout=600.0))
    start(sched)
    sched.created("a", pred("succeeded", id="pa"), 0.0)  # succeeded, no output: the grace
    effects, now, polls = poll_until_finished(sched, lambda _: pred("succeeded", id="pa"))
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.SUCCEEDED and finish.result.output is None
    assert now == GRACE and polls >= 3


def test_the_output_grace_never_outlasts_the_timeout_nor_a_failing_poll() -> None:
    sched = BatchScheduler(options(timeout=GRACE / 3))
    start(sched)
    sched.created("a", pred("succeeded", id="pa"), 0.0)
    effects, now, _ = poll_until_finished(sched, lambda _: pred("succeeded", id="pa"))
    assert of(effects, Finish)[0].result.outcome is BatchOutcome.SUCCEEDED and now <= GRACE / 3
    sched = BatchScheduler(options())
    start(sched)
    sched.created("a", pred("succeeded", id="pa"), 0.0)
    effects, now, _ = poll_until_finished(sched, lambda _: status_error(InternalServerError, 503))
    assert of(effects, Finish)[0].result.outcome is BatchOutcome.SUCCEEDED and now <= GRACE


def test_removed_data_is_taken_at_once() -> None:
    sched = BatchScheduler(options(download=True))
    start(sched)
    sched.created("a", pred("succeeded", id="pa", data_removed=True), 0.0)
    assert not sched._polls and len(sched._downloads) == 1  # to report the removal at once


# -- downloads --------------------------------------------------------------------------------


def test_a_succeeded_prediction_is_downloaded_then_saved() -> None:
    sched = BatchScheduler(options(download=True))
    start(sched, "a/b")
    effects = sched.created("a/b", pred("succeeded", id="pa", output=["http://x/o.png"]), 0.0)
    assert of(effects, Save)[-1].record.stage is Stage.ENDED and not of(effects, Finish)
    (step,) = of(sched.due(0.0), DownloadRequest)
    assert step.folder == item_folder("a/b") and "/" not in step.folder
    effects = sched.downloaded("a/b", [Path("out/x/o.png")], 0.5)
    assert of(effects, Save)[-1].record == Record(
        "a/b",
        DIGEST,
        Stage.SAVED,
        creates=1,
        prediction_id="pa",
        status="succeeded",
        output=["http://x/o.png"],
        files=("out/x/o.png",),
    )
    assert of(effects, Finish)[0].result.files == (Path("out/x/o.png"),)


def test_a_download_is_retried_then_reported_per_item() -> None:
    sched = BatchScheduler(options(download=True))  # max_retries 2: three attempts
    start(sched)
    sched.created("a", pred("succeeded", id="pa", output=["http://x/o.png"]), 0.0)
    now, attempts = 0.0, 0
    effects: list[Effect] = []
    while not effects:
        now = sched.next_wakeup() or now
        assert of(sched.due(now), DownloadRequest)
        attempts += 1
        effects = sched.downloaded("a", APIConnectionError("reset"), now)
    assert attempts == 3
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.ERROR
    assert "download failed" in (finish.result.error or "")
    assert of(effects, Save)[-1].record.stage is Stage.ENDED  # a new run downloads again


def test_a_succeeded_prediction_without_files_needs_no_download() -> None:
    sched = BatchScheduler(options(download=True))
    start(sched)
    effects = sched.created("a", pred("succeeded", id="pa", output="a caption"), 0.0)
    assert of(effects, Finish)[0].result.outcome is BatchOutcome.SUCCEEDED
    assert of(effects, Save)[-1].record.stage is Stage.SAVED


# -- keys, shards, folders ---------------------------------------------------------------------


def test_inputs_are_keyed_by_position_or_by_their_own_key() -> None:
    items = [{"a": 1}, ("sku-9", {"b": 2}), (7, {"c": 3})]
    assert list(keyed(items)) == [("0", {"a": 1}), ("sku-9", {"b": 2}), ("7", {"c": 3})]
    with pytest.raises(TypeError):
        list(keyed(["not an input"]))
    with pytest.raises(ValueError, match="key"):
        list(keyed([("", {})]))


def test_shards_are_disjoint_and_cover_every_key() -> None:
    keys = [f"item-{n}" for n in range(1000)]
    parts = [{k for k in keys if in_shard(k, (i, 4))} for i in range(4)]
    assert sum(len(p) for p in parts) == len(keys) and set().union(*parts) == set(keys)
    assert all(150 < len(p) < 350 for p in parts)


@pytest.mark.parametrize(
    ("key", "expected"),
    [("sku-1", "sku-1"), ("a.b_c", "a.b_c"), ("..", None), ("a/../b", None), ("", None)],
)
def test_item_folders_are_safe_and_distinct(key: str, expected: str | None) -> None:
    folder = item_folder(key)
    if expected is not None:
        assert folder == expected
    else:
        assert "/" not in folder and not folder.startswith(".") and folder
    assert item_folder(key + "x") != folder


def test_429s_of_one_wave_of_creates_widen_the_gap_once() -> None:
    sched = BatchScheduler(options(concurrency=20), wall_clock=lambda: 0.0)
    assert sched.create_gap == 0.0  # unpaced
    for n in range(10):
        sched.admit(f"k{n}", INPUT, None, 0.0)
    creates = of(sched.due(0.0), CreateRequest)
    assert len(creates) == 10
    for step in creates:
        sched.created(step.key, status_error(RateLimitError, 429, **{"retry-after": "1"}), 0.1)
    assert sched.create_gap == 0.05  # not 0.05 * 2**9
    sent: list[float] = []
    now = 1.1
    while len(sent) < 10:
        sent += [now for _ in of(sched.due(now), CreateRequest)]
        now = sched.next_wakeup() or now
    assert sent == pytest.approx([1.1 + 0.05 * n for n in range(10)])  # paced, no burst
    for n in range(10):
        sched.created(f"k{n}", pred("succeeded", id=f"p{n}", output="done"), 2.0)
    assert sched.create_gap < 0.05  # and recovers as creates are accepted


def test_a_create_withdrawn_before_it_was_sent_is_pending_again() -> None:
    sched = BatchScheduler(options())
    start(sched)
    (save,) = sched.withdrawn("a")
    assert isinstance(save, Save)
    assert save.record == Record("a", DIGEST, Stage.PENDING, creates=0)


def test_a_server_flipping_between_succeeded_without_output_and_processing_gets_one_grace() -> None:
    sched = BatchScheduler(options(timeout=600.0))  # the grace, not the timeout, ends it
    start(sched)
    sched.created("a", pred("processing", id="pa"), 0.0)
    flip = [pred("succeeded", id="pa"), pred("processing", id="pa")]
    effects, now, polls = poll_until_finished(sched, lambda poll: flip[poll % 2])
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.SUCCEEDED and finish.result.output is None
    assert now <= GRACE + NO_JITTER.maximum and polls < 30, "the grace is not restarted"


def test_a_poll_refused_for_good_during_the_grace_ends_with_the_state_seen() -> None:
    sched = BatchScheduler(options())
    start(sched)
    sched.created("a", pred("succeeded", id="pa"), 0.0)
    effects, now, _ = poll_until_finished(sched, lambda _: status_error(NotFoundError, 404))
    (finish,) = of(effects, Finish)
    assert finish.result.outcome is BatchOutcome.SUCCEEDED and finish.result.error is None
    assert now <= GRACE
