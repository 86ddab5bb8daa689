"""Thousands of concurrent waits on one client: the SDK bounds the requests in flight itself.

A wait takes one of the client's ``MAX_CONNECTIONS`` slots only around each request, never
across a pause, so the pool never queues and a crowd of waits does not turn into PoolTimeouts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from cometapi_replicate import MAX_CONNECTIONS, APITimeoutError, AsyncClient, Client, Clock
from cometapi_replicate.testing import Sandbox, SandboxServer

from ..conftest import KEY


def created(sandbox: Sandbox, count: int, **timing: float) -> list[str]:
    """``count`` predictions made through the sandbox's own handler (no HTTP, no client)."""
    body = json.dumps({"input": {"prompt": "x", **{f"sandbox_{k}": v for k, v in timing.items()}}})
    headers = {"authorization": f"Bearer {sandbox.key}"}
    path = "/replicate/v1/models/owner/model/predictions"
    replies = [sandbox.handle("api", "POST", path, headers, body.encode()) for _ in range(count)]
    assert {reply.status for reply in replies} == {200}
    return [json.loads(reply.body)["id"] for reply in replies]


class Counting:
    """Requests inside the caller's transport at once (``peak``): what a pool would queue."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.inner = sandbox.transport()
        self.now = self.peak = 0
        self.lock = threading.Lock()
        self.full = threading.Event()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            if self.now >= MAX_CONNECTIONS:
                self.full.set()

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


class SyncCounting(Counting, httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.enter()
        try:
            self.full.wait(10)  # hold each request until the slots are all taken
            return self.inner.handle_request(request)
        finally:
            self.leave()


class AsyncCounting(Counting, httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.enter()
        try:
            await asyncio.sleep(0.001)  # every other task runs before this one goes on
            return await self.inner.handle_async_request(request)
        finally:
            self.leave()


CROWD = 3 * MAX_CONNECTIONS // 2


def test_async_waits_never_put_more_requests_in_flight_than_the_bound() -> None:
    sandbox = Sandbox(queue=0.0, run=0.0)
    ids = created(sandbox, CROWD)
    transport = AsyncCounting(sandbox)

    async def crowd() -> list[str]:
        mine = httpx.AsyncClient(transport=transport)
        async with AsyncClient(**sandbox.client_kwargs(), http_client=mine) as client:
            done = await asyncio.gather(*(client.predictions.wait(i) for i in ids))
        return [p.status for p in done]

    assert asyncio.run(crowd()) == ["succeeded"] * CROWD
    assert transport.peak == MAX_CONNECTIONS


def test_sync_waits_on_many_threads_never_exceed_the_bound() -> None:
    sandbox = Sandbox(queue=0.0, run=0.0)
    ids = created(sandbox, CROWD)
    transport = SyncCounting(sandbox)
    with (
        Client(**sandbox.client_kwargs(), http_client=httpx.Client(transport=transport)) as client,
        ThreadPoolExecutor(CROWD) as threads,
    ):
        done = list(threads.map(client.predictions.wait, ids))
    assert [p.status for p in done] == ["succeeded"] * CROWD
    assert transport.peak == MAX_CONNECTIONS


def test_the_bound_follows_the_event_loop_a_client_is_used_from() -> None:
    sandbox = Sandbox(queue=0.0, run=0.0)
    ids = created(sandbox, CROWD)
    client = AsyncClient(
        **sandbox.client_kwargs(), http_client=httpx.AsyncClient(transport=AsyncCounting(sandbox))
    )

    async def crowd() -> int:
        return len(await asyncio.gather(*(client.predictions.wait(i) for i in ids)))

    assert [asyncio.run(crowd()) for _ in range(2)] == [CROWD, CROWD]  # two loops, one client


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox(), host="127.0.0.1") as running:
        yield running


WAITS = 2_000


def test_two_thousand_concurrent_waits_on_one_default_async_client(server: SandboxServer) -> None:
    ids = created(server.sandbox, WAITS, queue=0.0, run=0.5)

    async def crowd() -> list[Any]:
        async with AsyncClient(**server.sandbox.client_kwargs()) as client:
            waits = (client.predictions.wait(i) for i in ids)
            return await asyncio.gather(*waits, return_exceptions=True)

    outcomes = asyncio.run(crowd())
    assert [getattr(p, "status", p) for p in outcomes] == ["succeeded"] * WAITS


def test_hundreds_of_threads_waiting_on_one_default_client(server: SandboxServer) -> None:
    threads = 2 * MAX_CONNECTIONS
    ids = created(server.sandbox, threads, queue=0.0, run=0.5)

    def wait(prediction_id: str) -> object:
        try:
            return client.predictions.wait(prediction_id).status
        except Exception as exc:
            return exc

    with Client(**server.sandbox.client_kwargs()) as client, ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(wait, ids))
    assert outcomes == ["succeeded"] * threads


@pytest.mark.parametrize("call", ["get", "wait"])
def test_a_congested_pool_is_given_up_on_like_a_call_not_ridden_out(make: Any, call: str) -> None:
    facade, api = make([httpx.PoolTimeout("no connection available")])
    with pytest.raises(APITimeoutError, match="no free connection in the client's pool"):
        getattr(facade, call)("pred1")
    assert len(api.requests) == 3  # max_retries=2, not five minutes of retries
    assert KEY not in repr(api.requests)


class Parked(Clock):
    """Real time, but every pause parks until the test lets it go."""

    def __init__(self, waits: int) -> None:
        self.waits, self.sleeping = waits, 0
        self.all_parked, self.go = asyncio.Event(), asyncio.Event()

    async def async_sleep(self, seconds: float) -> None:
        self.sleeping += 1
        if self.sleeping == self.waits:
            self.all_parked.set()
        await self.go.wait()


# What a wait holds, not what measuring it does: coverage records each new line it sees, and
# tracemalloc's snapshots are themselves allocations.
NOT_MEASURED = [
    tracemalloc.Filter(False, "*/coverage/*"),
    tracemalloc.Filter(False, tracemalloc.__file__),
]


def test_a_sleeping_wait_holds_a_few_kilobytes() -> None:
    sandbox = Sandbox(queue=0.0, run=3600.0)
    ids = created(sandbox, 200)
    clock = Parked(len(ids))

    async def crowd() -> float:
        mine = httpx.AsyncClient(transport=sandbox.transport())
        async with AsyncClient(**sandbox.client_kwargs(), http_client=mine, clock=clock) as client:
            await client.predictions.get(ids[0])  # warm up: imports and caches are not the waits'
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.take_snapshot().filter_traces(NOT_MEASURED)
            tasks = [asyncio.ensure_future(client.predictions.wait(i)) for i in ids]
            await clock.all_parked.wait()
            gc.collect()
            after = tracemalloc.take_snapshot().filter_traces(NOT_MEASURED)
            tracemalloc.stop()
            held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return held / len(ids)

    # Under a tracer (coverage in `make test`) each suspended frame is materialised larger;
    # the bound is for the SDK's own state, so it allows for that and no more.
    bound = 8_192 if sys.gettrace() is None else 12_288
    assert asyncio.run(crowd()) < bound  # bytes per sleeping wait
