"""``client.batch`` over real loopback HTTP: the sandbox served on 127.0.0.1 in this process.

A rate-limited sandbox answers 429 with Retry-After; a batch killed with ``kill -9`` in the
middle resumes from its journal. Every wait below is for a condition, never for a duration.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate import AsyncClient, BatchOutcome, BatchResult, Client
from cometapi_replicate._batch.runner import PARTIAL
from cometapi_replicate.testing import SANDBOX_KEY, Sandbox, SandboxServer
from cometapi_replicate.testing.sandbox import STATS_PATH

MODEL = "black-forest-labs/flux-schnell"
PATIENCE = 120.0
"""Seconds a condition may take on a very slow machine before the test gives up."""

# A user's program: a batch with a journal, killed by the test at a moment of its choosing.
PROGRAM = """
import json, sys
from cometapi_replicate import Client
model, base_url, key, journal, out, count = sys.argv[1:7]
items = [(f"k{n:03d}", {"prompt": f"item {n}", "num_outputs": 1 + n % 2})
         for n in range(int(count))]
with Client(base_url=base_url, api_key=key) as client:
    for result in client.batch(model, items, journal=journal, download=out,
                               concurrency=30, rate=None):
        print(result.key, flush=True)
"""


def items(count: int) -> list[tuple[str, dict[str, Any]]]:
    return [(f"k{n:03d}", {"prompt": f"item {n}", "num_outputs": 1 + n % 2}) for n in range(count)]


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox(queue=0.02, run=0.05, steps=3)) as running:
        yield running


def run_batch(kind: str, server: SandboxServer, work: list[Any], **options: Any) -> Any:
    """Every result of a batch through the public API, and its summary."""
    kwargs: dict[str, Any] = {"base_url": server.base_url, "api_key": SANDBOX_KEY}
    if kind == "sync":
        with Client(**kwargs) as client, client.batch(MODEL, work, **options) as batch:
            return list(batch), batch.summary

    async def main() -> tuple[list[BatchResult], Any]:
        async with AsyncClient(**kwargs) as client, client.batch(MODEL, work, **options) as batch:
            return [result async for result in batch], batch.summary

    return asyncio.run(main())


def test_a_rate_limited_server_slows_the_batch_and_every_item_is_created_once(
    kind: str, server: SandboxServer, tmp_path: Path
) -> None:
    sandbox = server.sandbox
    # Three creates a second against a batch that sends thirty at once: the storm happens
    # however slow this machine is.
    sandbox.create_rate, sandbox.create_burst = 3.0, 2
    work = items(12)
    results, summary = run_batch(
        kind, server, work, concurrency=30, rate=None, download=tmp_path / "out"
    )
    assert summary.succeeded == len(work) and summary.ok
    assert sandbox.rate_limited > 0  # the storm happened, and lost nothing
    assert {sandbox.creates[Sandbox.input_key(value)] for _, value in work} == {1}
    for result in results:
        assert len(result.files) == len(result.output) and all(p.is_file() for p in result.files)
    stats = httpx.get(
        server.base_url + STATS_PATH, headers={"Authorization": f"Bearer {SANDBOX_KEY}"}
    )
    assert stats.json()["rate_limited"] == sandbox.rate_limited  # what a benchmark reads
    assert stats.json()["max_creates_per_input"] == 1 and stats.json()["inputs"] == len(work)
    assert httpx.get(server.base_url + STATS_PATH).status_code == 401


def test_kill_9_in_the_middle_then_resume_loses_nothing_and_creates_nothing_twice(
    kind: str, server: SandboxServer, tmp_path: Path
) -> None:
    sandbox, journal, out = server.sandbox, tmp_path / "journal.sqlite", tmp_path / "out"
    count = 150
    argv = [MODEL, server.base_url, SANDBOX_KEY, str(journal), str(out), str(count)]
    child = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + PATIENCE
    while sum(sandbox.creates.copy().values()) < count // 2:  # half created: many in flight
        assert child.poll() is None, "the batch ended before the moment to kill it"
        assert time.monotonic() < deadline, "the batch never got going"
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=60) == -signal.SIGKILL
    assert child.stdout is not None
    ended_before = set(child.stdout.read().split())

    work = items(count)
    results, summary = run_batch(
        kind, server, work, journal=journal, download=out, concurrency=30, rate=None
    )
    by_key = {result.key: result for result in results}
    assert sorted(by_key) == [key for key, _ in work] and len(results) == count
    unknown = {key for key, result in by_key.items() if result.outcome is BatchOutcome.UNKNOWN}
    assert summary.succeeded == count - len(unknown)
    assert all(by_key[key].resumed for key in ended_before)  # not waited on again
    for key, value in work:
        created = sandbox.creates[Sandbox.input_key(value)]
        if key in unknown:  # killed between the intent and the answer: at most the one create
            assert created <= 1 and by_key[key].status == "unknown" and by_key[key].id is None
            continue
        assert created == 1, (key, created)
        files = sorted((out / key).iterdir())
        assert [p.name for p in files] == [f"out-{i}.png" for i in range(value["num_outputs"])]
        assert [str(p) for p in by_key[key].files] == [str(p) for p in files]
    assert not (out / PARTIAL).exists()  # no half-saved item left behind
    assert json.dumps([r.to_json() for r in results])  # the manifest of every item


def test_outputs_lagging_behind_succeeded_are_waited_for_and_saved(
    kind: str, server: SandboxServer, tmp_path: Path
) -> None:
    work = [
        ("lag1", {"prompt": "one", "sandbox_output_lag": 1}),
        ("lag3", {"prompt": "three", "sandbox_output_lag": 3}),
        ("none", {"prompt": "no output", "sandbox_output": None}),
    ]
    results, summary = run_batch(kind, server, work, download=tmp_path / "out", rate=None)
    by_key = {result.key: result for result in results}
    assert summary.succeeded == 3
    for key in ("lag1", "lag3"):
        [path] = by_key[key].files
        assert path.read_bytes().startswith(b"\x89PNG")
    assert by_key["none"].output is None and by_key["none"].files == ()
