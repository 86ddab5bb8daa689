"""Worker: many concurrent waits, one contender, on one client; detection delay per prediction.

Half the predictions write tqdm progress, half none. They arrive over ``spread`` seconds (each
at its own time, the same in every run), as the predictions of a service do: each is created
with plain httpx at its time (no contender's code), and waited on from its id at once: this SDK
with ``AsyncClient.predictions.wait(id)``, ``replicate`` with ``async_get(id)`` then
``async_wait()`` (its fixed 0.5 s poll). Detection delay is the time the wait returned minus the
time the prediction ended. The SDK's client learns from the waits that end before the later ones
(as any client does); ``replicate`` has nothing to learn.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cometapi_replicate import AsyncClient
from cometapi_replicate.testing import SANDBOX_KEY
from tools.bench.common import AUTH, CLIENT_CPU, MODEL, Json, done_at, emit, pin, worker_args

STEP = 0.5
"""Seconds per tqdm step in the predictions that write progress (as in workload W1)."""


def workload(count: int, scale: float = 1.0, seed: int = 15, spread: float = 0.0) -> list[Json]:
    """Inputs for ``count`` predictions: starting 0.2-2 s, processing 2-120 s (log-uniform),
    both times ``scale``; even indexes write tqdm progress. ``bench_at``: when it is created,
    uniform over ``spread`` seconds (not sent to the server)."""
    rng = random.Random(seed)
    inputs = []
    for index in range(count):
        queue = rng.uniform(0.2, 2.0) * scale
        run = math.exp(rng.uniform(math.log(2), math.log(120))) * scale
        at = rng.uniform(0.0, spread) if spread else 0.0
        progress = index % 2 == 0
        inputs.append(
            {
                "prompt": f"prediction {index}",
                "sandbox_queue": round(queue, 3),
                "sandbox_run": round(run, 3),
                "sandbox_progress": progress,
                "sandbox_steps": max(1, round(run / STEP)),
                "bench_at": round(at, 3),
            }
        )
    return inputs


Wait = Callable[[str], Awaitable[Any]]


One = Callable[[Wait, int], Awaitable[float]]


async def _sdk(api: str, count: int, one: One) -> list[float]:
    async with AsyncClient(SANDBOX_KEY, base_url=api) as client:
        return list(await asyncio.gather(*(one(client.predictions.wait, i) for i in range(count))))


async def _replicate(api: str, count: int, one: One) -> list[float]:
    import replicate

    client = replicate.Client(api_token=SANDBOX_KEY, base_url=f"{api}/replicate")

    async def wait(prediction_id: str) -> None:
        prediction = await client.predictions.async_get(prediction_id)
        await prediction.async_wait()

    return list(await asyncio.gather(*(one(wait, i) for i in range(count))))


async def measure(api: str, contender: str, inputs: list[Json]) -> Json:
    count = len(inputs)
    ids, ends = [""] * count, [math.nan] * count
    errors: list[str] = []
    limits = httpx.Limits(max_connections=20)
    creator = httpx.AsyncClient(base_url=api, headers=AUTH, limits=limits, timeout=60)
    began = time.monotonic()

    async def one(wait: Wait, index: int) -> float:
        model_input = {k: v for k, v in inputs[index].items() if k != "bench_at"}
        await asyncio.sleep(max(0.0, began + inputs[index].get("bench_at", 0.0) - time.monotonic()))
        response = await creator.post(
            f"/replicate/v1/models/{MODEL}/predictions", json={"input": model_input}
        )
        response.raise_for_status()
        created = response.json()
        ids[index], ends[index] = created["id"], done_at(created, model_input)
        try:
            await wait(created["id"])
        except Exception as exc:  # reported, not raised: one failure must not hide the rest
            errors.append(type(exc).__name__)
            return math.nan
        return time.time()

    cpu, wall = time.process_time(), time.monotonic()
    async with creator:
        seen = await (_sdk if contender == "sdk" else _replicate)(api, count, one)
    return {
        "contender": contender,
        "ids": ids,
        "delays": [s - e for s, e in zip(seen, ends, strict=True)],
        "durations": [i["sandbox_queue"] + i["sandbox_run"] for i in inputs],
        "progress": [i["sandbox_progress"] for i in inputs],
        "cpu": time.process_time() - cpu,
        "wall": time.monotonic() - wall,
        "errors": errors,
    }


def main() -> None:
    args = worker_args()
    pin(CLIENT_CPU)
    inputs = workload(args["count"], args.get("scale", 1.0), spread=args.get("spread", 0.0))
    emit(asyncio.run(measure(args["api"], args["contender"], inputs)))


if __name__ == "__main__":
    main()
