"""Worker: a crowd on one default client. ``mode="run"``: ``count`` ``run`` calls started at
once (this SDK or ``replicate``); ``mode="wait"``: ``count`` concurrent
``AsyncClient.predictions.wait`` calls (``make bench-waits``).

Stops by itself after ``limit`` seconds and reports what finished, what failed (by error, with
``PoolTimeout`` found anywhere in the exception chain) and what was still running; with the
client's CPU seconds, peak resident memory and peak open file descriptors.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import random
import resource
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from cometapi_replicate import AsyncClient
from cometapi_replicate.testing import SANDBOX_KEY
from tools.bench.common import CLIENT_CPU, MODEL, Json, emit, pin, worker_args

STOP_GRACE = 15.0
"""Seconds a stopped crowd gets to unwind before the worker reports and exits anyway."""
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def inputs(count: int, scale: float = 1.0, seed: int = 11) -> list[Json]:
    """Starting 0.5-2 s, processing 5-15 s, both times ``scale``; even indexes write tqdm
    progress."""
    rng = random.Random(seed)
    return [
        {
            "prompt": f"crowd {index}",
            "sandbox_queue": round(rng.uniform(0.5, 2.0) * scale, 3),
            "sandbox_run": round(rng.uniform(5.0, 15.0) * scale, 3),
            "sandbox_progress": index % 2 == 0,
        }
        for index in range(count)
    ]


class Sampler:
    """Resident memory and open file descriptors, sampled from a thread (a busy event loop
    would sample too rarely)."""

    def __init__(self, every: float = 0.1) -> None:
        self.rss_peak = self.fds_peak = 0
        self._every, self._stop = every, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE

    @staticmethod
    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            self.rss_peak = max(self.rss_peak, self.rss())
            self.fds_peak = max(self.fds_peak, self.fds())

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _kind(exc: BaseException) -> str:
    name, seen = type(exc).__name__, exc.__cause__ or exc.__context__
    if isinstance(exc, httpx.PoolTimeout):
        return name
    while seen is not None:
        if isinstance(seen, httpx.PoolTimeout):
            return f"{name} (PoolTimeout)"
        seen = seen.__cause__ or seen.__context__
    return name


def _exit_with(report: Json) -> None:
    emit(report)
    os._exit(0)  # the event loop is stuck: nothing more can be measured or unwound


async def crowd(
    calls: Sequence[Callable[[], Awaitable[Any]]],
    limit: float,
    extra: Callable[[], Json] = dict,
    on_stuck: Callable[[Json], None] = _exit_with,
) -> Json:
    """Start every call at once and stop at ``limit`` seconds; what finished, what failed, what
    was still running, plus ``extra()``. A client can congest its event loop so that the
    loop's own timer fires minutes late: a watchdog thread then reports the crowd as it stands
    (``stuck``) through ``on_stuck``, by default as the worker's result before exiting."""
    errors: Counter[str] = Counter()
    finished: list[float] = []
    start, cpu = time.monotonic(), time.process_time()

    def report() -> Json:
        return {
            "count": len(calls),
            "completed": len(finished),
            "errors": dict(errors),
            "unfinished": len(calls) - len(finished) - errors.total(),
            "wall": time.monotonic() - start,
            "cpu": time.process_time() - cpu,
            "limit": limit,
            **extra(),
        }

    async def one(call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await call()
        except Exception as exc:  # counted: the crowd's outcome is the measure
            errors[_kind(exc)] += 1
        else:
            finished.append(time.monotonic() - start)

    watchdog = threading.Timer(
        limit + 2 * STOP_GRACE, lambda: on_stuck({**report(), "stuck": True})
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        tasks = [asyncio.ensure_future(one(c)) for c in calls]
        _, pending = await asyncio.wait(tasks, timeout=limit)
        result = report()
        for task in pending:
            task.cancel()
        if pending:  # a congested client may take long to unwind: report what stands regardless
            await asyncio.wait(pending, timeout=STOP_GRACE)
    finally:
        watchdog.cancel()
    return result


async def measure(args: Json) -> Json:
    api, limit = args["api"], args["limit"]
    if args["mode"] == "wait":
        ids: list[str] = args["ids"]  # created by the server beforehand
        count = len(ids)
        sampler = Sampler()
        rss_before = sampler.rss()

        def memory() -> Json:
            return {
                "rss_before_mb": rss_before / 2**20,
                "rss_peak_mb": sampler.rss_peak / 2**20,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "kb_per_wait": (sampler.rss_peak - rss_before) / 1024 / count,
                "fds_peak": sampler.fds_peak,
            }

        with sampler:
            client = AsyncClient(SANDBOX_KEY, base_url=api)
            try:
                waits = [functools.partial(client.predictions.wait, i) for i in ids]
                result = await crowd(waits, limit, memory)
            finally:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.aclose(), STOP_GRACE)
        return {**result, **memory()}
    work = inputs(args["count"], args.get("scale", 1.0))
    if args["contender"] == "sdk":
        async with AsyncClient(SANDBOX_KEY, base_url=api) as sdk:
            return await crowd([functools.partial(sdk.run, MODEL, i) for i in work], limit)
    import replicate

    rep = replicate.Client(api_token=SANDBOX_KEY, base_url=f"{api}/replicate")
    return await crowd([functools.partial(rep.async_run, MODEL, input=i) for i in work], limit)


def main() -> None:
    args = worker_args()
    if "ids_file" in args:  # too many for a command line
        args["ids"] = json.loads(Path(args["ids_file"]).read_text())
    pin(CLIENT_CPU)
    emit(asyncio.new_event_loop().run_until_complete(measure(args)))
    os._exit(0)  # thousands of stopped waits need no orderly teardown: the measure is taken


if __name__ == "__main__":
    main()
