"""The benchmark harness (``make bench``) on tiny workloads: it measures what it says.

Only this SDK's side runs here (``replicate`` lives in the benchmark's own environment), and
nothing is asserted about speed: only that delays are taken from each prediction's end, that
requests are counted per prediction, and that the table marks each goal right.
"""

from __future__ import annotations

import asyncio
import math
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate.testing import Sandbox, SandboxServer
from tools.bench import __main__ as bench
from tools.bench import crowd, tail, wire
from tools.bench.common import AUTH, ServerProcess, WireServer, percentile, server_ahead


def test_the_wait_workload_is_half_with_progress_and_scaled() -> None:
    work = tail.workload(40, scale=0.5)
    assert [w["sandbox_progress"] for w in work[:4]] == [True, False, True, False]
    assert all(1.0 <= w["sandbox_run"] <= 60.0 for w in work)
    assert all(0.1 <= w["sandbox_queue"] <= 1.0 for w in work)
    assert work == tail.workload(40, scale=0.5), "the same workload in every run"


def test_the_waits_arrive_over_the_spread_at_the_same_times_in_every_run() -> None:
    work = tail.workload(40, scale=0.5, spread=10.0)
    assert all(0.0 <= w["bench_at"] <= 10.0 for w in work)
    assert len({w["bench_at"] for w in work}) > 30
    assert work == tail.workload(40, scale=0.5, spread=10.0)
    assert {w["bench_at"] for w in tail.workload(5, scale=0.5)} == {0.0}


def test_tail_worker_times_each_wait_from_the_predictions_end() -> None:
    with SandboxServer(Sandbox()) as server:
        work = tail.workload(4, scale=0.01, spread=0.05)
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
    assert [row[-1] for row in rows] == [bench.PASS] * len(rows)
    # Without progress: 3 s delays (p95 > 2x replicate's, max > 2 s) and 18 requests (> 0.75x).
    slow = _result([0.2 if i % 2 == 0 else 3.0 for i in range(20)], [8, 18] * 10, cpu=2.0)
    verdicts = {
        row[0]: row[-1] for row in bench.tail_rows({100: {"sdk": slow, "replicate": replicate}})
    }
    assert verdicts["100 waits, with progress: GETs per prediction"] == bench.PASS
    assert verdicts["100 waits, without progress: GETs per prediction"] == bench.FAIL
    assert verdicts["100 waits, without progress: delay median / p95 / max, s"] == bench.FAIL
    assert verdicts["100 waits, all: delay median / p95 / max, s"] == bench.FAIL
    assert verdicts["100 waits: client CPU ms per poll request"] == bench.FAIL


def test_a_crowd_with_any_failure_fails_its_goal() -> None:
    done = {"count": 10, "completed": 10, "errors": {}, "unfinished": 0, "wall": 3.0, "limit": 9}
    stuck = {**done, "completed": 7, "errors": {"APITimeoutError (PoolTimeout)": 3}}
    assert bench.crowd_rows({"sdk": done, "replicate": stuck})[0][-1] == bench.PASS
    [row] = bench.crowd_rows({"sdk": stuck, "replicate": done})
    assert row[-1] == bench.FAIL and "3 APITimeoutError (PoolTimeout)" in row[2]


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
    for document in (bench.PAGE, bench.README):
        text = document.read_text("utf-8")
        assert text.count(bench.TABLE_START) == text.count(bench.TABLE_END) == 1


def _downloads(raw: float, sdk: float, ceiling: float) -> dict[str, Any]:
    parts = {"big": 0.0, "many": 0.0}
    return {
        "big_mb": 200.0,
        "small_mb": 20.0,
        "files": 8,
        "ceiling": {p: ceiling for p in parts},
        **{f"raw {m}": {**{p: raw for p in parts}, "stall": 3.0} for m in ("sync", "async")},
        **{f"sdk {m}": {**{p: sdk for p in parts}, "stall": 4.0} for m in ("sync", "async")},
    }


def test_a_download_ratio_is_judged_only_when_the_server_is_well_ahead_of_both_clients() -> None:
    rows = bench.download_rows(_downloads(raw=1000, sdk=960, ceiling=3000))
    assert [r[-1] for r in rows[:4]] == [bench.PASS] * 4
    assert "(0.96x)" in rows[0][2] and "3000" in rows[0][4]
    slow = bench.download_rows(_downloads(raw=1000, sdk=700, ceiling=1400))
    assert [r[-1] for r in slow[:4]] == [bench.UNJUDGED] * 4
    assert "no ratio" in slow[0][2] and "x" not in slow[0][2].split(";")[0]
    # Ahead of raw httpx but not of the SDK (it is faster): still no ratio.
    assert bench.download_rows(_downloads(raw=600, sdk=1000, ceiling=1400))[0][-1] == bench.UNJUDGED
    low = bench.download_rows(_downloads(raw=1000, sdk=800, ceiling=3000))
    assert [r[-1] for r in low[:2]] == [bench.FAIL] * 2, "0.8x misses the 0.95x goal"
    assert low[2][-1] == bench.FAIL and low[3][-1] == bench.FAIL, "and the 0.9x goal"


def test_the_server_must_be_ahead_by_the_margin_in_throughput_and_in_time_per_call() -> None:
    assert server_ahead(1500, [1000, 900], higher_is_faster=True) is None
    assert "1.5x" in (server_ahead(1499, [1000, 900], higher_is_faster=True) or "")
    assert server_ahead(200, [400, 410], higher_is_faster=False, margin=2) is None
    why = server_ahead(201, [400, 410], higher_is_faster=False, margin=2)
    assert why is not None and "1/2" in why
    assert server_ahead(math.nan, [1.0], higher_is_faster=True) == "not measured"


def _calls(server_us: float) -> dict[str, Any]:
    timing = {"raw": 400.0, "sdk": 410.0, "replicate": 460.0, "server": server_us}
    per_mode = {c: {"us": us, "cpu_us": us / 2} for c, us in timing.items()}
    return {
        "body_bytes": 3400,
        "sync": per_mode,
        "async": per_mode,
        "parse_us": {"raw": 8.0, "sdk": 17.0, "replicate": 35.0},
    }


def test_a_per_call_ratio_needs_a_server_that_takes_at_most_half_the_clients_time() -> None:
    rows = bench.call_rows(_calls(server_us=100))
    assert rows[0][-1] == bench.PASS and "(1.02x)" in rows[0][2] and "100" in rows[0][4]
    [sync, async_] = bench.call_rows(_calls(server_us=300))[:2]
    assert sync[-1] == async_[-1] == bench.UNJUDGED
    assert "no ratio" in sync[2]


def test_the_import_row_prints_the_share_of_attrs_and_the_generated_package() -> None:
    ms = {"httpx": 70.0, "attrs + cometapi_replicate_api": 11.0, "cometapi_replicate": 80.0,
          "replicate": 180.0}  # fmt: skip
    [row] = bench.import_rows(ms)
    assert row[-1] == bench.PASS and "+10" in row[2] and "11" in row[2]
    assert bench.import_rows({**ms, "cometapi_replicate": 96.0})[0][-1] == bench.FAIL


def test_the_table_has_a_column_for_the_server_alone() -> None:
    text = bench.table(bench.download_rows(_downloads(raw=1000, sdk=960, ceiling=3000)))
    head, rule, *lines = text.splitlines()
    assert "server alone" in head
    assert all(line.count("|") == head.count("|") == rule.count("|") for line in lines)


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


def test_the_wire_server_sends_files_and_the_prediction_and_its_ceiling_is_measured(
    tmp_path: Path,
) -> None:
    data = bytes(range(256)) * 4096  # 1 MB
    (tmp_path / "out.bin").write_bytes(data)
    with WireServer(tmp_path, b'{"id": "p1"}') as server, httpx.Client() as http:
        assert http.get(f"{server.url}/files/out.bin").content == data
        assert http.get(f"{server.url}/files/missing.bin").status_code == 404
        assert http.get(f"{server.url}/replicate/v1/predictions/p1").json() == {"id": "p1"}
        assert wire.drain(server.url, ["/files/out.bin"] * 3, 2) > 0
        assert wire.raw_gets(server.url, "/replicate/v1/predictions/p1", 5) > 0
        assert server.cpu() >= 0
