"""Worker: the cost of one ``get``, sync and async, against raw httpx + ``json.loads`` and
``replicate``; and of parsing one prediction.

The server is ``tools.bench.wire`` answering one finished prediction's JSON (taken from the
sandbox) from memory; its own time per call is measured alone by a raw socket client (the
``server`` row). Each contender makes ``calls`` sequential gets per round; rounds interleave the
contenders in rotating order; the result is the median over rounds of wall and client CPU
microseconds per call (the server runs in another process, so this process's CPU time is the
client's alone).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import timeit
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from cometapi_replicate import AsyncClient, Client, Prediction
from cometapi_replicate.testing import SANDBOX_KEY
from tools.bench.common import AUTH, CLIENT_CPU, MODEL, Json, emit, median, pin, worker_args
from tools.bench.wire import raw_gets

CONTENDERS = ("raw", "sdk", "replicate")
PREDICTION = {"prompt": "a paper boat at sunrise", "sandbox_queue": 0, "sandbox_run": 0.01}
STEPS = 50
"""tqdm lines in the prediction's logs: its JSON is about 3.4 KB, like a finished image."""
PREDICTION_ID = "benchcall0001"


def prediction_body() -> bytes:
    """A finished sandbox prediction's JSON, made in this process (no server, no network)."""
    from cometapi_replicate.testing import Sandbox

    sandbox = Sandbox()
    headers = {name.lower(): value for name, value in AUTH.items()}
    body = json.dumps({"input": {**PREDICTION, "sandbox_steps": STEPS}}).encode()
    created = sandbox.handle(
        "api", "POST", f"/replicate/v1/models/{MODEL}/predictions", headers, body
    )
    prediction_id = json.loads(created.body)["id"]
    time.sleep(0.05)  # succeeded: the body no longer changes
    reply = sandbox.handle("api", "GET", f"/replicate/v1/predictions/{prediction_id}", headers, b"")
    data = json.loads(reply.body)
    data["id"] = PREDICTION_ID  # the wire server answers it for any id: make the asked one
    return json.dumps(data).encode()


def _rounds(
    timed: Callable[[str], tuple[float, float]], rounds: int, server: Callable[[], float]
) -> Json:
    samples: dict[str, list[tuple[float, float]]] = {c: [] for c in (*CONTENDERS, "server")}
    order = (*CONTENDERS, "server")
    for r in range(rounds):
        for c in order[r % 4 :] + order[: r % 4]:
            samples[c].append((server(), math.nan) if c == "server" else timed(c))
    return {
        c: {"us": median([s[0] for s in v]), "cpu_us": median([s[1] for s in v])}
        for c, v in samples.items()
    }


def sync_gets(api: str, prediction_id: str, calls: int, rounds: int) -> Json:
    path = f"/replicate/v1/predictions/{prediction_id}"
    return _sync_gets(api, prediction_id, calls, rounds, lambda: raw_gets(api, path, calls))


def _sync_gets(
    api: str, prediction_id: str, calls: int, rounds: int, server: Callable[[], float]
) -> Json:
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

        return _rounds(timed, rounds, server)


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
        results: dict[str, list[tuple[float, float]]] = {c: [] for c in (*CONTENDERS, "server")}
        order = (*CONTENDERS, "server")
        for r in range(rounds):
            for c in order[r % 4 :] + order[: r % 4]:
                if c == "server":
                    results[c].append((raw_gets(api, path, calls), math.nan))
                    continue
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
    body = httpx.get(f"{api}/replicate/v1/predictions/{PREDICTION_ID}", headers=AUTH).content
    emit(
        {
            "body_bytes": len(body),
            "sync": sync_gets(api, PREDICTION_ID, calls, rounds),
            "async": asyncio.run(async_gets(api, PREDICTION_ID, calls, rounds)),
            "parse_us": parsing(body),
        }
    )


if __name__ == "__main__":
    main()
