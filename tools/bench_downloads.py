"""``make bench-downloads``: how long an async download blocks the event loop, and how fast it is.

A file server in a separate process serves SIZE bytes on 127.0.0.1 (port 0). In this process a
ticker task asks to wake every millisecond; a stall is how late it wakes (the loop was busy, or
the thread was not scheduled), and "blocked" is the sum of stalls over the download's duration.
Each variant downloads the file RUNS times:

- ``before``: the previous implementation: ``aiter_bytes(64 KiB)``, each chunk written on the loop;
- ``after``: ``AsyncClient.predictions.download`` (writes batched on a worker thread);
- both on this machine's disk (the page cache absorbs 200 MB), and on a simulated slow disk where
  every write blocks for its size at ``BENCH_DISK_MBPS`` (default 100 MB/s: a hard disk, a
  network share), as a real ``write`` blocks when the kernel must wait for the device;
- ``sync``: ``Client.predictions.download``, for throughput only (no loop);
- ``idle``: the ticker alone for as long as ``after`` took: the machine's own noise floor.

Prints a Markdown table (the one in docs/guides/outputs.md): medians over runs, and ratios against
``before`` on the same disk in the same run. Environment: ``BENCH_SIZE_MB`` (default 200),
``BENCH_RUNS`` (default 3), ``BENCH_DISK_MBPS``, ``BENCH_DIR`` (default: a temporary folder).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unittest.mock
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from cometapi_replicate import AsyncClient, Client, Prediction
from cometapi_replicate import _staging as staging

MB = 1_000_000
OLD_CHUNK = 64 * 1024
TICK = 0.001


def serve(size: int) -> None:
    """The file server (run in a child process): ``size`` bytes at any path."""
    block = os.urandom(1 << 20)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            left = size
            view = memoryview(block)
            while left > 0:
                n = min(left, len(block))
                self.wfile.write(view[:n])
                left -= n

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


@dataclass
class Result:
    worst_stall: float
    p99_stall: float
    blocked: float
    seconds: float


@dataclass
class Disk:
    """``write`` as a device of ``rate`` bytes/s would block it (``None``: the real one)."""

    rate: float | None = None

    def write(self, file: IO[bytes], chunk: bytes) -> None:
        file.write(chunk)
        if self.rate is not None:
            time.sleep(len(chunk) / self.rate)

    def used_by_the_sdk(self) -> contextlib.AbstractContextManager[object]:
        """The SDK's temporary files write through this disk."""
        original = staging.Staged.write

        def write(staged: staging.Staged, chunks: Iterable[bytes]) -> None:
            for chunk in chunks:
                original(staged, [chunk])
                if self.rate is not None:
                    time.sleep(len(chunk) / self.rate)

        return unittest.mock.patch.object(staging.Staged, "write", write)


async def measured(transfer: Callable[[], Awaitable[object]]) -> Result:
    """Run ``transfer`` while a ticker records how late each 1 ms wake-up comes (the client
    is built beforehand: building one loads the TLS certificates, itself a stall)."""
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            stalls.append(max(time.perf_counter() - before - TICK, 0.0))

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    stalls.clear()
    started = time.perf_counter()
    await transfer()
    seconds = time.perf_counter() - started
    done.set()
    await ticking
    blocked = sum(stalls) / seconds
    stalls.sort()
    return Result(stalls[-1], stalls[int(len(stalls) * 0.99)], blocked, seconds)


async def before(url: str, folder: Path, disk: Disk) -> Result:
    """The previous ``afetch``: 64 KiB re-chunking, every write on the event loop."""

    async def transfer() -> None:
        async with files.stream("GET", url) as response:
            with open(folder / "before.bin", "wb") as file:  # noqa: ASYNC230 - the point
                async for chunk in response.aiter_bytes(OLD_CHUNK):
                    disk.write(file, chunk)

    async with httpx.AsyncClient() as files:  # built before the clock starts, as in after()
        return await measured(transfer)


async def after(url: str, folder: Path, disk: Disk) -> Result:
    async with AsyncClient(api_key="unused", base_url="http://127.0.0.1:9") as client:
        with disk.used_by_the_sdk():
            return await measured(lambda: client.predictions.download(_prediction(url), folder))


async def idle(seconds: float) -> Result:
    return await measured(lambda: asyncio.sleep(seconds))


def sync(url: str, folder: Path) -> Result:
    with Client(api_key="unused", base_url="http://127.0.0.1:9") as client:
        started = time.perf_counter()
        client.predictions.download(_prediction(url), folder)
        return Result(0.0, 0.0, 0.0, time.perf_counter() - started)


def _prediction(url: str) -> Prediction:
    return Prediction.from_dict({"id": "bench", "status": "succeeded", "output": [url]})


def main() -> None:
    size = int(float(os.environ.get("BENCH_SIZE_MB", "200")) * MB)
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    slow = Disk(float(os.environ.get("BENCH_DISK_MBPS", "100")) * MB)
    server = subprocess.Popen(
        [sys.executable, "-m", "tools.bench_downloads", "--serve", str(size)],
        stdout=subprocess.PIPE,
        text=True,
    )
    root = Path(tempfile.mkdtemp(prefix="bench-downloads-", dir=os.environ.get("BENCH_DIR")))
    results: dict[str, list[Result]] = {}

    def record(name: str, run: Callable[[Path], Result]) -> None:
        folder = root / name
        folder.mkdir()
        try:
            results.setdefault(name, []).append(run(folder))
        finally:
            shutil.rmtree(folder)

    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/out-0.bin"
        for _ in range(runs):
            for label, disk in (("", Disk()), ("slow ", slow)):
                record(f"{label}before", lambda f, d=disk: asyncio.run(before(url, f, d)))  # type: ignore[misc]
                record(f"{label}after", lambda f, d=disk: asyncio.run(after(url, f, d)))  # type: ignore[misc]
            record("sync", lambda f: sync(url, f))
            record("idle", lambda f: asyncio.run(idle(results["after"][-1].seconds)))
        print(table(results, size, runs, slow))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def table(results: dict[str, list[Result]], size: int, runs: int, slow: Disk) -> str:
    def median(name: str, key: Callable[[Result], float]) -> float:
        return statistics.median(key(r) for r in results[name])

    def speed(name: str) -> float:
        return size / median(name, lambda r: r.seconds) / MB

    def stalls(name: str, base: str) -> str:
        worst = median(name, lambda r: r.worst_stall)
        ratio = worst / median(base, lambda r: r.worst_stall)
        p99, blocked = median(name, lambda r: r.p99_stall), median(name, lambda r: r.blocked)
        return f"{worst * 1000:.1f} ms | {ratio:.2f} | {p99 * 1000:.2f} ms | {blocked:.0%}"

    def row(disk: str, variant: str, name: str, base: str) -> str:
        return (
            f"| {disk} | {variant} | {stalls(name, base)} | {speed(name):.0f} "
            f"| {speed(name) / speed(base):.2f} |"
        )

    here, simulated = "this machine's", f"{(slow.rate or 0) / MB:.0f} MB/s, simulated"
    sync = f"| {speed('sync'):.0f} | {speed('sync') / speed('before'):.2f} |"
    worst, *rest = stalls("idle", "idle").split(" | ")
    idle = " | ".join([worst, "", *rest[1:]])
    return "\n".join(
        [
            f"{size // MB} MB over loopback, median of {runs} runs; a stall is how late a 1 ms "
            "timer fires; blocked is the sum of stalls over the download's duration.",
            "",
            "| disk | variant | worst stall | vs before | p99 stall | blocked | MB/s | vs before |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
            row(here, "before: writes on the loop", "before", "before"),
            row(here, "after: `AsyncClient` download", "after", "before"),
            row(simulated, "before: writes on the loop", "slow before", "slow before"),
            row(simulated, "after: `AsyncClient` download", "slow after", "slow before"),
            f"| {here} | sync `Client` download (no loop) | | | | {sync}",
            f"| | idle loop, no download (noise floor) | {idle} | | |",
        ]
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    else:
        main()
