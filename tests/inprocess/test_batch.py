"""``client.batch``: through the public API, sync and async, against the in-process sandbox.

The sandbox's predictions last tens of milliseconds, so each batch ends in about a second.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate import (
    AsyncClient,
    AuthenticationError,
    BatchOutcome,
    BatchResult,
    Client,
)
from cometapi_replicate._batch.journal import JournalError, SqliteJournal
from cometapi_replicate._batch.keys import in_shard
from cometapi_replicate.testing import Fault, Sandbox

MODEL = "black-forest-labs/flux-schnell"


def fast_sandbox(**kwargs: Any) -> Sandbox:
    return Sandbox(queue=0.01, run=0.03, steps=3, **kwargs)


def inputs(count: int, **extra: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(f"item-{n}", {"prompt": f"picture {n}", **extra}) for n in range(count)]


def run(
    kind: str,
    sandbox: Sandbox,
    items: Iterable[Any],
    stop_after: int | None = None,
    **options: Any,
) -> tuple[list[BatchResult], Any]:
    """Run a batch to its end (or stop it after ``stop_after`` results); results and summary."""
    options.setdefault("rate", None)
    kwargs = {**sandbox.client_kwargs(), "api_key": options.pop("api_key", sandbox.key)}
    if kind == "sync":
        http = httpx.Client(transport=sandbox.transport())
        with Client(**kwargs, http_client=http, max_retries=0) as client:
            batch = client.batch(MODEL, items, **options)
            with batch:
                results = list(itertools.islice(batch, stop_after))
            return results, batch.summary

    async def main() -> tuple[list[BatchResult], Any]:
        http = httpx.AsyncClient(transport=sandbox.transport())
        async with AsyncClient(**kwargs, http_client=http, max_retries=0) as client:
            batch = client.batch(MODEL, items, **options)
            results: list[BatchResult] = []
            async with batch:
                async for result in batch:
                    results.append(result)
                    if len(results) == stop_after:
                        break
            return results, batch.summary

    return asyncio.run(main())


def creates_per_item(sandbox: Sandbox, items: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    return {key: sandbox.creates[Sandbox.input_key(value)] for key, value in items}


def test_every_item_ends_once_with_its_files_in_its_own_folder(kind: str, tmp_path: Path) -> None:
    sandbox = fast_sandbox()
    items = [(k, {**v, "num_outputs": 1 + n % 3}) for n, (k, v) in enumerate(inputs(40))]
    results, summary = run(kind, sandbox, items, download=tmp_path, concurrency=8)
    assert sorted(r.key for r in results) == sorted(k for k, _ in items)
    assert summary.ok and summary.succeeded == 40 and summary.in_flight == 0
    by_key = {r.key: r for r in results}
    for key, value in items:
        result, count = by_key[key], value["num_outputs"]
        assert result.ok and result.status == "succeeded" and result.id
        assert [p.name for p in result.files] == [f"out-{i}.png" for i in range(count)]
        assert all(p.parent == tmp_path / key for p in result.files)
        assert all(p.read_bytes()[:4] == b"\x89PNG" for p in result.files)
        assert len(result.output) == count
    assert set(creates_per_item(sandbox, items).values()) == {1}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(k for k, _ in items)


def test_inputs_are_read_lazily(kind: str) -> None:
    taken = 0

    def endless() -> Iterator[dict[str, Any]]:
        nonlocal taken
        for n in itertools.count():
            taken += 1
            yield {"prompt": f"p{n}"}

    results, summary = run(kind, fast_sandbox(), endless(), stop_after=10, concurrency=4)
    assert len(results) == 10 and summary.done < 20
    assert taken <= summary.done + 4  # what ended, and at most `concurrency` more


def test_a_failing_item_does_not_stop_the_others(kind: str) -> None:
    sandbox = fast_sandbox()
    items = inputs(30)
    items[3][1]["sandbox_outcome"] = "failed"
    items[7][1]["sandbox_outcome"] = "canceled"
    items[9][1]["sandbox_outcome"] = "aborted"
    results, summary = run(kind, sandbox, items, concurrency=10)
    by_key = {r.key: r for r in results}
    outcomes = {key: r.outcome for key, r in by_key.items() if not r.ok}
    assert outcomes == {
        "item-3": BatchOutcome.FAILED,
        "item-7": BatchOutcome.CANCELED,
        "item-9": BatchOutcome.CANCELED,
    }
    assert "CUDA" in (by_key["item-3"].error or "") and by_key["item-9"].status == "aborted"
    assert summary.succeeded == 27 and summary.done == 30
    assert not summary.ok


def test_stopping_early_then_resuming_creates_nothing_twice(kind: str, tmp_path: Path) -> None:
    sandbox = fast_sandbox()
    items = inputs(60)
    journal, out = tmp_path / "journal.sqlite", tmp_path / "out"
    first, _ = run(kind, sandbox, items, stop_after=15, journal=journal, download=out)
    assert len(first) == 15
    second, summary = run(kind, sandbox, items, journal=journal, download=out)
    assert len(second) == 60 and summary.succeeded == 60 and summary.resumed >= 15
    assert {r.key for r in second if r.resumed} >= {r.key for r in first}
    assert set(creates_per_item(sandbox, items).values()) == {1}
    assert all(len(list((out / key).iterdir())) == 1 for key, _ in items)


def test_an_unanswered_create_is_unknown_and_created_again_only_when_asked(
    kind: str, tmp_path: Path
) -> None:
    sandbox = fast_sandbox()
    sandbox.inject(Fault.hang(), on="create")  # created on the server, the answer never comes
    items = inputs(5)
    journal = tmp_path / "journal.sqlite"
    results, summary = run(kind, sandbox, items, journal=journal, concurrency=1)
    (unknown,) = [r for r in results if r.outcome is BatchOutcome.UNKNOWN]
    assert unknown.key == "item-0" and unknown.status == "unknown" and unknown.id is None
    assert summary.counts[BatchOutcome.UNKNOWN] == 1 and not summary.ok
    again, _ = run(kind, sandbox, items, journal=journal)
    assert {r.key: r.outcome for r in again}["item-0"] is BatchOutcome.UNKNOWN
    assert creates_per_item(sandbox, items)["item-0"] == 1  # not sent again
    _, summary = run(kind, sandbox, items, journal=journal, recreate_unknown=True)
    assert summary.succeeded == 5
    assert creates_per_item(sandbox, items) == {
        "item-0": 2,
        **{f"item-{n}": 1 for n in range(1, 5)},
    }


def test_a_429_storm_slows_the_whole_batch_and_loses_nothing(kind: str, tmp_path: Path) -> None:
    sandbox = fast_sandbox(create_rate=100.0, create_burst=5)
    sandbox.inject(Fault.rate_limit(retry_after=0.05), times=20, on="get")
    items = inputs(120)
    results, summary = run(kind, sandbox, items, journal=tmp_path / "j.sqlite", concurrency=40)
    assert summary.succeeded == 120 and len({r.key for r in results}) == 120
    assert set(creates_per_item(sandbox, items).values()) == {1}
    assert sandbox.rate_limited > 0  # the storm happened...
    assert sandbox.rate_limited < len(items)  # ...and the batch slowed down instead of hammering


def test_a_timed_out_item_is_waited_on_again_by_the_next_run(kind: str, tmp_path: Path) -> None:
    sandbox = fast_sandbox()
    items = inputs(4)
    items[0][1]["sandbox_run"] = 1.0
    journal = tmp_path / "j.sqlite"
    results, summary = run(kind, sandbox, items, journal=journal, timeout=0.3)
    late = {r.key: r for r in results}["item-0"]
    assert late.outcome is BatchOutcome.TIMED_OUT and late.status == "processing" and late.id
    results, summary = run(kind, sandbox, items, journal=journal)
    assert summary.succeeded == 4
    assert {r.key: r.id for r in results}["item-0"] == late.id
    assert set(creates_per_item(sandbox, items).values()) == {1}


def test_shards_split_a_batch_into_disjoint_parts(kind: str) -> None:
    sandbox = fast_sandbox()
    items = inputs(45)
    parts = [{r.key for r in run(kind, sandbox, items, shard=(i, 3))[0]} for i in range(3)]
    assert all(parts) and sum(len(p) for p in parts) == 45
    assert set().union(*parts) == {k for k, _ in items}
    assert parts[1] == {k for k, _ in items if in_shard(k, (1, 3))}


def test_a_changed_input_under_a_journaled_key_is_refused(kind: str, tmp_path: Path) -> None:
    sandbox = fast_sandbox()
    journal = tmp_path / "j.sqlite"
    run(kind, sandbox, inputs(3), journal=journal)
    changed = inputs(3)
    changed[1][1]["prompt"] = "something else"
    with pytest.raises(ValueError, match=r"item-1.*differs"):
        run(kind, sandbox, changed, journal=journal)


def test_a_refused_key_stops_the_batch_and_nothing_is_marked_unknown(
    kind: str, tmp_path: Path
) -> None:
    sandbox = fast_sandbox()
    journal = tmp_path / "j.sqlite"
    with pytest.raises(AuthenticationError):
        run(kind, sandbox, inputs(5), journal=journal, api_key="sk-wrong")
    with SqliteJournal(journal, MODEL) as records:
        assert all(r.stage == "pending" and r.prediction_id is None for r in records.records())


def test_two_runs_cannot_share_a_journal(tmp_path: Path) -> None:
    sandbox = fast_sandbox()
    journal = tmp_path / "j.sqlite"
    http = httpx.Client(transport=sandbox.transport())
    with Client(**sandbox.client_kwargs(), http_client=http) as client:
        first = client.batch(MODEL, inputs(20), journal=journal, rate=None)
        next(first)
        with pytest.raises(JournalError, match="in use"):
            next(iter(client.batch(MODEL, inputs(20), journal=journal, rate=None)))
        first.close()
        assert len(list(client.batch(MODEL, inputs(20), journal=journal, rate=None))) == 20


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"concurrency": 0}, ValueError),
        ({"rate": 0}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"shard": (3, 3)}, ValueError),
        ({"retries": 3}, TypeError),
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(
    options: dict[str, Any], error: type[Exception]
) -> None:
    sandbox = fast_sandbox()
    http = httpx.Client(transport=sandbox.transport())
    with Client(**sandbox.client_kwargs(), http_client=http) as c:
        with pytest.raises(error):
            c.batch(MODEL, inputs(2), **options)
        with pytest.raises(ValueError, match="owner/name"):
            c.batch("not a model", inputs(2))
    assert sandbox.requests == []
