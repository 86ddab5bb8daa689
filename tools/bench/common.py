"""What the benchmark's processes share: core pinning, the server process, workers, statistics."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from cometapi_replicate.testing import SANDBOX_KEY

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
"""A smaller, shorter run: fewer rounds, shorter predictions, smaller files."""
SERVER_CPU, CLIENT_CPU = 0, 1
ROOT = Path(__file__).resolve().parents[2]
"""Where ``python -m tools.bench...`` resolves, whatever the caller's directory."""
MODEL = "black-forest-labs/flux-schnell"
AUTH = {"Authorization": f"Bearer {SANDBOX_KEY}"}

Json = dict[str, Any]


def pin(cpu: int) -> bool:
    """Run this process on ``cpu`` alone, if the machine has it; ``True`` if pinned."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return True


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between closest ranks; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def parse_time(text: str) -> float:
    """An API timestamp (ISO 8601, ``Z``) as seconds since the epoch."""
    return datetime.fromisoformat(text).timestamp()


async def create_predictions(
    api: str, inputs: Sequence[Json], *, concurrency: int = 50
) -> list[Json]:
    """Create one prediction per input with plain httpx (not timed, not any contender's code)."""
    import asyncio

    limit = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=api, headers=AUTH, limits=limits, timeout=60) as http:

        async def one(model_input: Json) -> Json:
            async with limit:
                response = await http.post(
                    f"/replicate/v1/models/{MODEL}/predictions", json={"input": model_input}
                )
                response.raise_for_status()
                body: Json = response.json()
                return body

        return list(await asyncio.gather(*(one(i) for i in inputs)))


def done_at(created: Json, model_input: Json) -> float:
    """When a sandbox prediction ends (epoch seconds): its creation plus queue plus run."""
    return (
        parse_time(created["created_at"])
        + float(model_input["sandbox_queue"])
        + float(model_input["sandbox_run"])
    )


class ServerProcess:
    """The sandbox (``python -m tools.bench.server``) in its own process, pinned to a core."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tools.bench.server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        ready = self._read()
        self.api: str = ready["api"]
        self.files: str = ready["files"]
        self.pinned: bool = ready["pinned"]

    def _read(self) -> Json:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server stopped")
        answer: Json = json.loads(line)
        return answer

    def ask(self, command: str, **args: Any) -> Json:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"command": command, **args}) + "\n")
        self._process.stdin.flush()
        return self._read()

    def counts(self, ids: Sequence[str]) -> list[int]:
        """GET requests each prediction received so far."""
        counts: dict[str, int] = self.ask("counts")["counts"]
        return [counts.get(i, 0) for i in ids]

    def create(self, inputs: Sequence[Json]) -> list[str]:
        """Ids of new predictions, one per input, made inside the server (no request)."""
        ids: list[str] = self.ask("create", inputs=list(inputs))["ids"]
        return ids

    def cpu(self) -> float:
        """CPU seconds the server process has used."""
        return float(self.ask("cpu")["cpu"])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def run_worker(module: str, args: Json, *, limit: float) -> Json:
    """Run ``tools.bench.<module>`` in a fresh process with ``args``; its last stdout line is
    the JSON result. A worker still running after ``limit`` seconds is stopped and reported."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", f"tools.bench.{module}", json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=limit,
            check=False,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired as stopped:
        printed = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else stopped.stdout
        if printed and printed.strip():  # it reported, then failed to stop in time
            late: Json = json.loads(printed.strip().splitlines()[-1])
            return late
        return {"error": f"stopped after {limit:.0f} s"}
    if done.returncode != 0 or not done.stdout.strip():
        tail = done.stderr.strip().splitlines()[-5:]
        return {"error": f"exit {done.returncode}: {' | '.join(tail)}"}
    result: Json = json.loads(done.stdout.strip().splitlines()[-1])
    result.setdefault("seconds", time.monotonic() - started)
    return result


def worker_args() -> Json:
    """The JSON arguments a worker was started with."""
    args: Json = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    return args


def emit(result: Json) -> None:
    """Print a worker's result as its last line."""
    print(json.dumps(result), flush=True)


class WireServer:
    """``tools.bench.wire`` in its own process, pinned to a core: files from ``folder`` and the
    prediction ``body``, served faster than any client takes them (measured: see ``wire``)."""

    def __init__(self, folder: Path, body: bytes = b"{}") -> None:
        self._body = folder / ".prediction.json"
        self._body.write_bytes(body)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tools.bench.wire", str(folder), str(self._body)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the wire server stopped")
        ready: Json = json.loads(line)
        self.url: str = ready["url"]
        self.pinned: bool = ready["pinned"]

    def cpu(self) -> float:
        """CPU seconds the server process has used."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write("cpu\n")
        self._process.stdin.flush()
        return float(json.loads(self._process.stdout.readline())["cpu"])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._body.unlink(missing_ok=True)

    def __enter__(self) -> WireServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


MARGIN = 1.5
"""The server must be this much faster than the fastest client measured against it, or no
ratio is reported: a ratio between two clients that both wait on the server measures the server."""


def server_ahead(
    ceiling: float, clients: Sequence[float], *, higher_is_faster: bool, margin: float = MARGIN
) -> str | None:
    """Why the ratio between ``clients`` cannot be reported, or ``None`` when the server's
    ``ceiling`` is at least ``margin`` times ahead of every one of them.

    ``higher_is_faster``: throughputs (MB/s); otherwise times per call (µs), where the server's
    own time must be at most ``1 / margin`` of the fastest client's.
    """
    if not clients or math.isnan(ceiling) or any(math.isnan(c) for c in clients):
        return "not measured"
    if higher_is_faster:
        fastest = max(clients)
        if ceiling < margin * fastest:
            return (
                f"server ceiling {ceiling:.0f} is under {margin:g}x the fastest client's"
                f" {fastest:.0f}: the server, not the client, sets the pace"
            )
        return None
    fastest = min(clients)
    if ceiling * margin > fastest:
        return (
            f"the server alone takes {ceiling:.0f}, over 1/{margin:g} of the fastest client's"
            f" {fastest:.0f}: the server, not the client, sets the pace"
        )
    return None
