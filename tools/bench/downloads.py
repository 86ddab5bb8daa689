"""Worker: download throughput, sync and async, this SDK against raw httpx streaming to disk.

Two succeeded predictions: one output of ``big`` bytes, ``files`` outputs of ``small`` bytes.
Raw httpx streams each file with ``iter_bytes()`` into an open file, as many at once as the
SDK does (four). Files land in a fresh directory on tmpfs when there is one, removed after each
download. During async downloads a ticker task sleeps 1 ms at a time and records how late it
wakes: the event loop's worst stall.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from cometapi_replicate import AsyncClient, Client, Prediction, output_urls
from cometapi_replicate.testing import SANDBOX_KEY
from tools.bench.common import CLIENT_CPU, Json, create_predictions, emit, median, pin, worker_args

PARALLEL = 4
TMPFS = Path("/dev/shm")  # noqa: S108 - a fresh mkdtemp inside it, removed after use
TICK = 0.001


def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-dl-", dir=TMPFS if TMPFS.is_dir() else None))


def raw_sync(http: httpx.Client, urls: list[str], folder: Path) -> None:
    def one(index_url: tuple[int, str]) -> None:
        index, url = index_url
        with http.stream("GET", url) as response, open(folder / f"{index}.png", "wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                out.write(chunk)

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(one, enumerate(urls)))


async def raw_async(http: httpx.AsyncClient, urls: list[str], folder: Path) -> None:
    limit = asyncio.Semaphore(PARALLEL)

    async def one(index: int, url: str) -> None:
        async with limit, http.stream("GET", url) as response:
            response.raise_for_status()
            with open(folder / f"{index}.png", "wb") as out:  # noqa: ASYNC230 - what users write
                async for chunk in response.aiter_bytes():
                    out.write(chunk)

    await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))


async def _with_ticker(work: Awaitable[Any]) -> float:
    """Run ``work``; the event loop's worst lateness meanwhile, in seconds."""
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            worst = max(worst, time.perf_counter() - before - TICK)

    task = asyncio.ensure_future(ticker())
    try:
        await work
    finally:
        stop.set()
        await task
    return worst


def measure(api: str, big: int, small: int, files: int, rounds: int) -> Json:
    sets = asyncio.run(
        create_predictions(
            api,
            [
                {"sandbox_queue": 0, "sandbox_run": 0, "sandbox_output_bytes": big},
                {
                    "sandbox_queue": 0,
                    "sandbox_run": 0,
                    "sandbox_output_bytes": small,
                    "num_outputs": files,
                },
            ],
        )
    )
    with Client(SANDBOX_KEY, base_url=api) as sdk:  # succeeded, with output URLs
        predictions = {
            name: sdk.predictions.get(c["id"])
            for name, c in zip(("big", "many"), sets, strict=True)
        }
    totals = {"big": big, "many": small * files}
    results: dict[str, dict[str, list[float]]] = {}

    def record(name: str, key: str, value: float) -> None:
        results.setdefault(name, {}).setdefault(key, []).append(value)

    with httpx.Client(timeout=60) as http, Client(SANDBOX_KEY, base_url=api) as sdk:
        for prediction in predictions.values():  # the server builds each file once, untimed
            folder = _scratch()
            raw_sync(http, output_urls(prediction), folder)
            shutil.rmtree(folder)
        sync_runs: dict[str, Callable[[Prediction, Path], object]] = {
            "raw sync": lambda p, d: raw_sync(http, output_urls(p), d),
            "sdk sync": lambda p, d: sdk.predictions.download(p, d),
        }
        for r in range(rounds):
            for name, run in sorted(sync_runs.items(), reverse=r % 2 == 1):
                for part, prediction in predictions.items():
                    folder = _scratch()
                    started = time.perf_counter()
                    run(prediction, folder)
                    record(name, part, totals[part] / (time.perf_counter() - started) / 1e6)
                    shutil.rmtree(folder)

    async def run_async() -> None:
        async with (
            httpx.AsyncClient(timeout=60) as http,
            AsyncClient(SANDBOX_KEY, base_url=api) as sdk,
        ):
            async_runs: dict[str, Callable[[Prediction, Path], Awaitable[Any]]] = {
                "raw async": lambda p, d: raw_async(http, output_urls(p), d),
                "sdk async": lambda p, d: sdk.predictions.download(p, d),
            }
            for r in range(rounds):
                for name, run in sorted(async_runs.items(), reverse=r % 2 == 1):
                    for part, prediction in predictions.items():
                        folder = _scratch()
                        started = time.perf_counter()
                        stall = await _with_ticker(run(prediction, folder))
                        seconds = time.perf_counter() - started
                        record(name, part, totals[part] / seconds / 1e6)
                        record(name, "stall", stall * 1000)
                        shutil.rmtree(folder)

    asyncio.run(run_async())
    return {
        "big_mb": big / 1e6,
        "small_mb": small / 1e6,
        "files": files,
        "tmpfs": TMPFS.is_dir(),
        **{
            name: {
                key: (max(values) if key == "stall" else median(values))
                for key, values in parts.items()
            }
            for name, parts in results.items()
        },
    }


def main() -> None:
    args = worker_args()
    pin(CLIENT_CPU)
    emit(measure(args["api"], args["big"], args["small"], args["files"], args["rounds"]))


if __name__ == "__main__":
    main()
