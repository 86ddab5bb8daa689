"""Worker: the cost of one ``get``, sync and async, against raw httpx + ``json.loads`` and
``replicate``; and of parsing one prediction.

Each contender makes ``calls`` sequential gets per round; rounds interleave the contenders in
rotating order; the result is the median over rounds of wall and client CPU microseconds per
call (the server runs in another process, so this process's CPU time is the client's alone).
"""

from __future__ import annotations

import asyncio
import json
import time
import timeit
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cometapi_replicate import AsyncClient, Client, Prediction
from cometapi_replicate.testing import SANDBOX_KEY
from tools.bench.common import (
    AUTH,
    CLIENT_CPU,
    Json,
    create_predictions,
    emit,
    median,
    pin,
    worker_args,
)

CONTENDERS = ("raw", "sdk", "replicate")
PREDICTION = {"prompt": "a paper boat at sunrise", "sandbox_queue": 0, "sandbox_run": 0.01}
STEPS = 50
"""tqdm lines in the prediction's logs: its JSON is about 3.4 KB, like a finished image."""


def _rounds(timed: Callable[[str], tuple[float, float]], rounds: int) -> Json:
    samples: dict[str, list[tuple[float, float]]] = {c: [] for c in CONTENDERS}
    for r in range(rounds):
        for c in CONTENDERS[r % 3 :] + CONTENDERS[: r % 3]:
            samples[c].append(timed(c))
    return {
        c: {"us": median([s[0] for s in v]), "cpu_us": median([s[1] for s in v])}
        for c, v in samples.items()
    }


def sync_gets(api: str, prediction_id: str, calls: int, rounds: int) -> Json:
    import replicate

    path = f"/replicate/v1/predictions/{prediction_id}"
    with (
        httpx.Client(base_url=api, headers=AUTH) as http,
        Client(SANDBOX_KEY, base_url=api) as sdk,
    ):
        rep = replicate.Client(api_token=SANDBOX_KEY, base_url=f"{api}/replicate")
        get: dict[str, Callable[[], Any]] = {
            "raw": lambda: json.loads(http.get(path).content),
            "sdk": lambda: sdk.predictions.get(prediction_id),
            "replicate": lambda: rep.predictions.get(prediction_id),
        }

        def timed(contender: str) -> tuple[float, float]:
            call = get[contender]
            call()  # the connection is open before the clock starts
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                call()
            return (
                (time.perf_counter() - wall) / calls * 1e6,
                (time.process_time() - cpu) / calls * 1e6,
            )

        return _rounds(timed, rounds)


async def async_gets(api: str, prediction_id: str, calls: int, rounds: int) -> Json:
    import replicate

    path = f"/replicate/v1/predictions/{prediction_id}"
    async with (
        httpx.AsyncClient(base_url=api, headers=AUTH) as http,
        AsyncClient(SANDBOX_KEY, base_url=api) as sdk,
    ):
        rep = replicate.Client(api_token=SANDBOX_KEY, base_url=f"{api}/replicate")

        async def raw() -> object:
            return json.loads((await http.get(path)).content)

        get: dict[str, Callable[[], Awaitable[Any]]] = {
            "raw": raw,
            "sdk": lambda: sdk.predictions.get(prediction_id),
            "replicate": lambda: rep.predictions.async_get(prediction_id),
        }
        results: dict[str, list[tuple[float, float]]] = {c: [] for c in CONTENDERS}
        for r in range(rounds):
            for c in CONTENDERS[r % 3 :] + CONTENDERS[: r % 3]:
                call = get[c]
                await call()
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(calls):
                    await call()
                results[c].append(
                    (
                        (time.perf_counter() - wall) / calls * 1e6,
                        (time.process_time() - cpu) / calls * 1e6,
                    )
                )
        return {
            c: {"us": median([s[0] for s in v]), "cpu_us": median([s[1] for s in v])}
            for c, v in results.items()
        }


def parsing(body: bytes) -> Json:
    """Microseconds to turn the body into each contender's object (best of five)."""
    from replicate.prediction import Prediction as ReplicatePrediction

    work: dict[str, Callable[[], object]] = {
        "raw": lambda: json.loads(body),
        "sdk": lambda: Prediction.from_dict(json.loads(body)),
        "replicate": lambda: ReplicatePrediction(**json.loads(body)),
    }
    number = 2000
    return {
        c: min(timeit.repeat(f, number=number, repeat=5)) / number * 1e6 for c, f in work.items()
    }


def main() -> None:
    args = worker_args()
    pin(CLIENT_CPU)
    api, calls, rounds = args["api"], args["calls"], args["rounds"]
    [created] = asyncio.run(create_predictions(api, [{**PREDICTION, "sandbox_steps": STEPS}]))
    time.sleep(0.05)  # succeeded: the body no longer changes
    body = httpx.get(f"{api}/replicate/v1/predictions/{created['id']}", headers=AUTH).content
    emit(
        {
            "body_bytes": len(body),
            "sync": sync_gets(api, created["id"], calls, rounds),
            "async": asyncio.run(async_gets(api, created["id"], calls, rounds)),
            "parse_us": parsing(body),
        }
    )


if __name__ == "__main__":
    main()
