"""Worker: download throughput, sync and async, this SDK against raw httpx streaming to a file,
and the server's ceiling measured alone.

The files are served by ``tools.bench.wire`` (``sendfile`` from tmpfs, its own core): one of
``big`` bytes, ``files`` of ``small`` bytes. Raw httpx streams each file with ``iter_bytes()``
into an open file, as many at once as the SDK (four); the ceiling is a raw socket reader that
only drains the same bytes, as many at once. Rounds interleave the three in rotating order; the
result is each one's median MB/s. Files land in a fresh folder on tmpfs, removed after each
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
from tools.bench.common import CLIENT_CPU, Json, emit, median, pin, worker_args
from tools.bench.wire import drain

PARALLEL = 4
TMPFS = Path("/dev/shm")  # noqa: S108 - a fresh mkdtemp inside it, removed after use
TICK = 0.001


def scratch(prefix: str = "bench-dl-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=TMPFS if TMPFS.is_dir() else None))


def make_files(folder: Path, big: int, small: int, files: int) -> dict[str, list[str]]:
    """Write the files the server sends (random bytes, so nothing compresses them); their
    names by part."""
    import os

    block = os.urandom(1 << 20)
    names = {"big": ["big.bin"], "many": [f"small-{i}.bin" for i in range(files)]}
    for part, size in (("big", big), ("many", small)):
        for name in names[part]:
            with open(folder / name, "wb") as out:
                for start in range(0, size, len(block)):
                    out.write(block[: min(len(block), size - start)])
    return names


def prediction(url: str, names: list[str]) -> Prediction:
    """A succeeded prediction whose output is the files ``names`` on the server at ``url``."""
    return Prediction.from_dict(
        {
            "id": "bench",
            "model": "black-forest-labs/flux-schnell",
            "version": "bench",
            "input": {},
            "status": "succeeded",
            "output": [f"{url}/files/{n}" for n in names],
            "created_at": "2026-01-01T00:00:00Z",
            "urls": {"get": f"{url}/replicate/v1/predictions/bench", "cancel": url},
        }
    )


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


Results = dict[str, dict[str, list[float]]]


def _record(results: Results, name: str, key: str, value: float) -> None:
    results.setdefault(name, {}).setdefault(key, []).append(value)


def measure(url: str, names: dict[str, list[str]], totals: dict[str, int], rounds: int) -> Json:
    predictions = {part: prediction(url, n) for part, n in names.items()}
    paths = {part: [f"/files/{n}" for n in ns] for part, ns in names.items()}
    results: Results = {}

    def ceiling(part: str) -> None:
        seconds = drain(url, paths[part], PARALLEL)
        _record(results, "ceiling", part, totals[part] / seconds / 1e6)

    with httpx.Client(timeout=60) as http, Client(SANDBOX_KEY, base_url=url) as sdk:
        sync_runs: dict[str, Callable[[Prediction, Path], object]] = {
            "raw sync": lambda p, d: raw_sync(http, output_urls(p), d),
            "sdk sync": lambda p, d: sdk.predictions.download(p, d),
        }
        for prediction_ in predictions.values():  # connections open, page cache warm: untimed
            for run in sync_runs.values():
                folder = scratch()
                run(prediction_, folder)
                shutil.rmtree(folder)
        for r in range(rounds):
            order = ["ceiling", *sync_runs]
            for name in order[r % 3 :] + order[: r % 3]:
                for part, prediction_ in predictions.items():
                    if name == "ceiling":
                        ceiling(part)
                        continue
                    folder = scratch()
                    started = time.perf_counter()
                    sync_runs[name](prediction_, folder)
                    seconds = time.perf_counter() - started
                    _record(results, name, part, totals[part] / seconds / 1e6)
                    shutil.rmtree(folder)

    async def run_async() -> None:
        async with (
            httpx.AsyncClient(timeout=60) as http,
            AsyncClient(SANDBOX_KEY, base_url=url) as sdk,
        ):
            async_runs: dict[str, Callable[[Prediction, Path], Awaitable[Any]]] = {
                "raw async": lambda p, d: raw_async(http, output_urls(p), d),
                "sdk async": lambda p, d: sdk.predictions.download(p, d),
            }
            for prediction_ in predictions.values():
                for run in async_runs.values():
                    folder = scratch()
                    await run(prediction_, folder)
                    shutil.rmtree(folder)
            for r in range(rounds):
                order = ["ceiling", *async_runs]
                for name in order[r % 3 :] + order[: r % 3]:
                    for part, prediction_ in predictions.items():
                        if name == "ceiling":
                            ceiling(part)
                            continue
                        folder = scratch()
                        started = time.perf_counter()
                        stall = await _with_ticker(async_runs[name](prediction_, folder))
                        seconds = time.perf_counter() - started
                        _record(results, name, part, totals[part] / seconds / 1e6)
                        _record(results, name, "stall", stall * 1000)
                        shutil.rmtree(folder)

    asyncio.run(run_async())
    return {
        name: {
            key: (max(values) if key == "stall" else median(values))
            for key, values in parts.items()
        }
        for name, parts in results.items()
    }


def main() -> None:
    args = worker_args()
    pin(CLIENT_CPU)
    names = {"big": ["big.bin"], "many": [f"small-{i}.bin" for i in range(args["files"])]}
    totals = {"big": args["big"], "many": args["small"] * args["files"]}
    emit(
        {
            "big_mb": args["big"] / 1e6,
            "small_mb": args["small"] / 1e6,
            "files": args["files"],
            "tmpfs": TMPFS.is_dir(),
            **measure(args["url"], names, totals, args["rounds"]),
        }
    )


if __name__ == "__main__":
    main()
