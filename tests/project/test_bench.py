"""The benchmark harness (``make bench``) on tiny workloads: it measures what it says.

Only this SDK's side runs here (``replicate`` lives in the benchmark's own environment), and
nothing is asserted about speed: only that delays are taken from each prediction's end, that
requests are counted per prediction, and that the table marks each goal right.
"""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

import httpx
import pytest

from cometapi_replicate.testing import Sandbox, SandboxServer
from tools.bench import __main__ as bench
from tools.bench import crowd, tail
from tools.bench.common import AUTH, ServerProcess, percentile


def test_the_wait_workload_is_half_with_progress_and_scaled() -> None:
    work = tail.workload(40, scale=0.5)
    assert [w["sandbox_progress"] for w in work[:4]] == [True, False, True, False]
    assert all(1.0 <= w["sandbox_run"] <= 60.0 for w in work)
    assert all(0.1 <= w["sandbox_queue"] <= 1.0 for w in work)
    assert work == tail.workload(40, scale=0.5), "the same workload in every run"


def test_tail_worker_times_each_wait_from_the_predictions_end() -> None:
    with SandboxServer(Sandbox()) as server:
        work = tail.workload(4, scale=0.01)
        result = asyncio.run(tail.measure(server.base_url, "sdk", work))
        gets = [url.rsplit("/", 1)[1] for method, url in server.sandbox.requests if method == "GET"]
    assert result["errors"] == []
    assert len(result["delays"]) == 4
    # The wait returns only once the server says the prediction ended, so no delay is negative
    # (beyond the millisecond of created_at's resolution).
    assert all(math.isfinite(d) and d >= -0.002 for d in result["delays"])
    assert all(gets.count(i) >= 1 for i in result["ids"])


def test_crowd_worker_reports_completion_memory_and_descriptors() -> None:
    with ServerProcess() as server:
        ids = server.create(crowd.inputs(6, scale=0.02))
        args = {"api": server.api, "mode": "wait", "ids": ids, "limit": 60}
        result = asyncio.run(crowd.measure(args))
        assert all(n >= 1 for n in server.counts(ids)), "every wait polled its own prediction"
    assert (result["completed"], result["errors"], result["unfinished"]) == (6, {}, 0)
    assert result["rss_peak_mb"] > 0 and result["fds_peak"] > 0


def test_server_process_counts_requests_per_prediction() -> None:
    with ServerProcess() as server:
        created = httpx.post(
            f"{server.api}/replicate/v1/models/o/m/predictions", json={"input": {}}, headers=AUTH
        ).json()
        for _ in range(3):
            httpx.get(f"{server.api}/replicate/v1/predictions/{created['id']}", headers=AUTH)
        assert server.counts([created["id"], "other"]) == [3, 0]
        assert server.cpu() > 0


def _result(delays: list[float], requests: list[int], cpu: float = 1.0) -> dict[str, Any]:
    return {
        "delays": delays,
        "requests": requests,
        "progress": [i % 2 == 0 for i in range(len(delays))],
        "durations": [10.0] * len(delays),
        "cpu": cpu,
    }


def test_the_table_holds_the_sdk_to_each_goal_against_replicate() -> None:
    replicate = _result([0.3] * 20, [20] * 20)
    good = _result([0.2] * 20, [8] * 20, cpu=0.3)
    rows = bench.tail_rows({100: {"sdk": good, "replicate": replicate}})
    assert [row[-1] for row in rows] == ["pass"] * len(rows)
    # Without progress: 3 s delays (p95 > 2x replicate's, max > 2 s) and 18 requests (> 0.75x).
    slow = _result([0.2 if i % 2 == 0 else 3.0 for i in range(20)], [8, 18] * 10, cpu=2.0)
    verdicts = {
        row[0]: row[-1] for row in bench.tail_rows({100: {"sdk": slow, "replicate": replicate}})
    }
    assert verdicts["100 waits, with progress: requests per prediction"] == "pass"
    assert verdicts["100 waits, without progress: requests per prediction"] == "**FAIL**"
    assert verdicts["100 waits, without progress: delay median / p95 / max, s"] == "**FAIL**"
    assert verdicts["100 waits, all: delay median / p95 / max, s"] == "**FAIL**"
    assert verdicts["100 waits: client CPU ms per poll request"] == "**FAIL**"


def test_a_crowd_with_any_failure_fails_its_goal() -> None:
    done = {"count": 10, "completed": 10, "errors": {}, "unfinished": 0, "wall": 3.0, "limit": 9}
    stuck = {**done, "completed": 7, "errors": {"APITimeoutError (PoolTimeout)": 3}}
    assert bench.crowd_rows({"sdk": done, "replicate": stuck})[0][-1] == "pass"
    [row] = bench.crowd_rows({"sdk": stuck, "replicate": done})
    assert row[-1] == "**FAIL**" and "3 APITimeoutError (PoolTimeout)" in row[2]


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 95) == 9.5
    assert math.isnan(percentile([], 95))


def test_a_full_run_replaces_the_performance_pages_table_and_nothing_else() -> None:
    page = f"intro\n{bench.TABLE_START}\nold table\n{bench.TABLE_END}\nafter\n"
    updated = bench.into_page(page, "| new | table |\n")
    assert updated == f"intro\n{bench.TABLE_START}\n| new | table |\n{bench.TABLE_END}\nafter\n"
    assert bench.into_page(updated, "again") == bench.into_page(page, "again")
    with pytest.raises(ValueError, match="make bench"):
        bench.into_page("no markers", "table")
    text = bench.PAGE.read_text("utf-8")
    assert text.count(bench.TABLE_START) == text.count(bench.TABLE_END) == 1


def test_a_crowd_whose_event_loop_is_stuck_is_reported_by_its_watchdog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crowd, "STOP_GRACE", 0.05)
    reported: list[dict[str, Any]] = []
    reported_event = threading.Event()

    def on_stuck(report: dict[str, Any]) -> None:
        reported.append(report)
        reported_event.set()

    async def quick() -> None:
        pass

    async def blocks_the_loop() -> None:
        reported_event.wait(30)  # a congested client: the loop's own timer cannot fire

    calls = [quick, blocks_the_loop]
    result = asyncio.run(crowd.crowd(calls, 0.05, lambda: {"fds_peak": 7}, on_stuck))
    [stuck] = reported
    assert stuck["stuck"] and stuck["fds_peak"] == 7
    assert (stuck["count"], stuck["completed"], stuck["unfinished"]) == (2, 1, 1)
    assert "stuck" not in result
