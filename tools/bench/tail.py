"""Worker: many concurrent waits, one contender, on one client; detection delay per prediction.

Half the predictions write tqdm progress, half none. Both contenders start from the id the
moment every prediction is created: this SDK with ``AsyncClient.predictions.wait(id)``,
``replicate`` with ``async_get(id)`` then ``async_wait()`` (its fixed 0.5 s poll). Detection
delay is the time the wait returned minus the time the prediction ended.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cometapi_replicate import AsyncClient
from cometapi_replicate.testing import SANDBOX_KEY
from tools.bench.common import (
    CLIENT_CPU,
    Json,
    create_predictions,
    done_at,
    emit,
    pin,
    worker_args,
)

STEP = 0.5
"""Seconds per tqdm step in the predictions that write progress (as in workload W1)."""


def workload(count: int, scale: float = 1.0, seed: int = 15) -> list[Json]:
    """Inputs for ``count`` predictions: starting 0.2-2 s, processing 2-120 s (log-uniform),
    both times ``scale``; even indexes write tqdm progress."""
    rng = random.Random(seed)
    inputs = []
    for index in range(count):
        queue = rng.uniform(0.2, 2.0) * scale
        run = math.exp(rng.uniform(math.log(2), math.log(120))) * scale
        progress = index % 2 == 0
        inputs.append(
            {
                "prompt": f"prediction {index}",
                "sandbox_queue": round(queue, 3),
                "sandbox_run": round(run, 3),
                "sandbox_progress": progress,
                "sandbox_steps": max(1, round(run / STEP)),
            }
        )
    return inputs


Wait = Callable[[str], Awaitable[Any]]


async def _sdk(
    api: str, ids: list[str], one: Callable[[Wait, str], Awaitable[float]]
) -> list[float]:
    async with AsyncClient(SANDBOX_KEY, base_url=api) as client:
        return list(await asyncio.gather(*(one(client.predictions.wait, i) for i in ids)))


async def _replicate(
    api: str, ids: list[str], one: Callable[[Wait, str], Awaitable[float]]
) -> list[float]:
    import replicate

    client = replicate.Client(api_token=SANDBOX_KEY, base_url=f"{api}/replicate")

    async def wait(prediction_id: str) -> None:
        prediction = await client.predictions.async_get(prediction_id)
        await prediction.async_wait()

    return list(await asyncio.gather(*(one(wait, i) for i in ids)))


async def measure(api: str, contender: str, inputs: list[Json]) -> Json:
    created = await create_predictions(api, inputs)
    ids = [c["id"] for c in created]
    ends = [done_at(c, i) for c, i in zip(created, inputs, strict=True)]
    errors: list[str] = []

    async def one(wait: Wait, prediction_id: str) -> float:
        try:
            await wait(prediction_id)
        except Exception as exc:  # reported, not raised: one failure must not hide the rest
            errors.append(type(exc).__name__)
            return math.nan
        return time.time()

    cpu, wall = time.process_time(), time.monotonic()
    seen = await (_sdk if contender == "sdk" else _replicate)(api, ids, one)
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
    inputs = workload(args["count"], args.get("scale", 1.0))
    emit(asyncio.run(measure(args["api"], args["contender"], inputs)))


if __name__ == "__main__":
    main()
