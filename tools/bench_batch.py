"""``make bench-batch``: ``client.batch`` against the same items waited on one by one.

Everything runs over real loopback HTTP: the sandbox in one process, each scenario in a fresh
process of its own (so its CPU time and peak RSS are its own). Workload: predictions of one
model that queue 0.1-1 s and run 1-10 s (uniform, ``random.Random(7)``), half of them with
tqdm progress in their logs. ``QUICK=1`` runs a smaller version (1,000 predictions,
concurrency 200) in about two minutes.

Prints a Markdown table (the one in docs/guides/batches.md); ratios are against the one-by-one
baseline measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from cometapi_replicate import AsyncClient, Client, Prediction
from cometapi_replicate.testing import SANDBOX_KEY, Sandbox, SandboxServer
from cometapi_replicate.testing.sandbox import STATS_PATH

MODEL = "black-forest-labs/flux-schnell"
FULL: dict[str, Any] = {"items": 10_000, "concurrency": 500, "rss": (10_000, 100_000)}
QUICK: dict[str, Any] = {"items": 1_000, "concurrency": 200, "rss": (2_000, 20_000)}


def workload(count: int, seed: int = 7, tag: str = "") -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for index in range(count):
        queue, run = rng.uniform(0.1, 1.0), rng.uniform(1.0, 10.0)
        yield {
            "prompt": f"{tag} item {index}",
            "sandbox_queue": round(queue, 3),
            "sandbox_run": round(run, 3),
            "sandbox_progress": index % 2 == 0,
            "sandbox_steps": 20,
        }


def instant(count: int, tag: str) -> Iterator[dict[str, Any]]:
    for index in range(count):
        yield {"prompt": f"{tag} item {index}", "sandbox_queue": 0, "sandbox_run": 0}


def _delay(prediction: Prediction | None, seen: float) -> float | None:
    ended = prediction.completed_at if prediction is not None else None
    if not isinstance(ended, str):
        return None
    return seen - datetime.fromisoformat(ended).timestamp()


def _usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


# -- scenarios (each in its own process) -----------------------------------------------------


def scenario_batch(spec: dict[str, Any]) -> dict[str, Any]:
    delays: list[float] = []
    journal = None
    with tempfile.TemporaryDirectory() as folder:
        if spec["journal"]:
            journal = Path(folder) / "journal.sqlite"
        begin = time.monotonic()
        with Client(base_url=spec["base_url"], api_key=SANDBOX_KEY, max_retries=0) as client:
            batch = client.batch(
                MODEL,
                workload(spec["items"], tag=spec["tag"]),
                concurrency=spec["concurrency"],
                rate=None,
                journal=journal,
            )
            for result in batch:
                delay = _delay(result.prediction, time.time())
                if delay is not None:
                    delays.append(delay)
            ok = batch.summary.succeeded
        wall = time.monotonic() - begin
    return {"wall": wall, "delays": delays, "ok": ok, **_usage()}


def scenario_one_by_one(spec: dict[str, Any]) -> dict[str, Any]:
    async def main() -> tuple[list[float], int]:
        limit = asyncio.Semaphore(spec["concurrency"])
        delays: list[float] = []
        ok = 0

        async def one(client: AsyncClient, model_input: dict[str, Any]) -> None:
            nonlocal ok
            async with limit:
                created = await client.predictions.create(MODEL, model_input)
                final = await client.predictions.wait(created)
            delay = _delay(final, time.time())
            if delay is not None:
                delays.append(delay)
            ok += final.status == "succeeded"

        limits = httpx.Limits(max_connections=spec["concurrency"])
        http = httpx.AsyncClient(limits=limits)
        async with AsyncClient(
            base_url=spec["base_url"], api_key=SANDBOX_KEY, http_client=http
        ) as client:
            await asyncio.gather(
                *(one(client, item) for item in workload(spec["items"], tag=spec["tag"]))
            )
        await http.aclose()
        return delays, ok

    begin = time.monotonic()
    delays, ok = asyncio.run(main())
    return {"wall": time.monotonic() - begin, "delays": delays, "ok": ok, **_usage()}


def scenario_cli(spec: dict[str, Any]) -> dict[str, Any]:
    """The command line on an input file of ``lines`` instant predictions, in this process."""
    from cometapi_replicate._cli.main import main

    with tempfile.TemporaryDirectory() as folder:
        inputs = Path(folder) / "in.jsonl"
        with inputs.open("w") as out:
            for item in instant(spec["lines"], spec["tag"]):
                out.write(json.dumps(item) + "\n")
        os.environ.update({"COMETAPI_KEY": SANDBOX_KEY, "COMETAPI_BASE_URL": spec["base_url"]})
        before = _usage()["rss_mb"]
        begin = time.monotonic()
        stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115
        try:
            args = ["batch", MODEL, "--inputs", str(inputs), "--out", f"{folder}/out"]
            args += ["--concurrency", str(spec["concurrency"]), "--rate", "unlimited", "--json"]
            code = main(args)
        finally:
            sys.stdout.close()
            sys.stdout = stdout
        wall = time.monotonic() - begin
        usage = _usage()  # before the clean-up: removing N folders is not the batch's memory
    return {"wall": wall, "code": code, "rss_before_mb": before, **usage}


SCENARIOS = {"batch": scenario_batch, "one_by_one": scenario_one_by_one, "cli": scenario_cli}


def run_scenario(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-m", "tools.bench_batch", "_scenario", name, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if process.returncode != 0:
        raise RuntimeError(f"scenario {name} failed:\n{process.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return result


# -- the sandbox, in its own process ---------------------------------------------------------


def serve() -> None:
    with SandboxServer(Sandbox()) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin


def stats(base_url: str) -> dict[str, int]:
    response = httpx.get(
        base_url + STATS_PATH, headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=30
    )
    return dict(response.json()["requests"])


def measured(base_url: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    before = stats(base_url)
    result = run_scenario(name, {**spec, "base_url": base_url})
    after = stats(base_url)
    result["requests"] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    print(f"  {name} {spec.get('tag')}: {result['wall']:.1f} s", file=sys.stderr, flush=True)
    return result


def report(settings: dict[str, Any], rows: dict[str, dict[str, Any]], rss: list[Any]) -> str:
    items, concurrency = settings["items"], settings["concurrency"]
    base = rows["one by one (adaptive wait)"]
    base_requests = _per(base)
    out = [
        f"{items:,} predictions (queue 0.1-1 s, run 1-10 s, half with progress), "
        f"concurrency {concurrency}, over loopback HTTP:",
        "",
        "| how | requests / prediction | vs one by one | median delay | p95 delay "
        "| client CPU s / 1,000 | wall time | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in rows.items():
        delays = sorted(result["delays"])
        p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("nan")
        out.append(
            f"| {name} | {_per(result):.2f} | {_per(result) / base_requests:.0%} "
            f"| {statistics.median(delays):.2f} s | {p95:.2f} s "
            f"| {1000 * result['cpu'] / items:.2f} | {result['wall']:.0f} s "
            f"| {result['rss_mb']:.0f} MB |"
        )
    with_journal, without = rows["client.batch"], rows["client.batch, no journal"]
    out += [
        "",
        f"Journal cost on this workload: wall time {with_journal['wall']:.1f} s with it, "
        f"{without['wall']:.1f} s without ({with_journal['wall'] / without['wall'] - 1:+.1%}); "
        f"client CPU {with_journal['cpu']:.1f} s with it, {without['cpu']:.1f} s without.",
    ]
    if not rss:
        return "\n".join(out)
    out += [
        "",
        "The command line on instant predictions (each: create, download one file), "
        f"concurrency {concurrency}, JSON manifest to /dev/null:",
        "",
        "| input lines | wall time | predictions / min | client CPU s / 1,000 | peak RSS |",
        "|---:|---:|---:|---:|---:|",
    ]
    for lines, result in rss:
        out.append(
            f"| {lines:,} | {result['wall']:.0f} s | {60 * lines / result['wall']:,.0f} "
            f"| {1000 * result['cpu'] / lines:.2f} | {result['rss_mb']:.0f} MB |"
        )
    return "\n".join(out)


def _per(result: dict[str, Any]) -> float:
    requests: dict[str, int] = result["requests"]
    ok: int = result["ok"]
    return (requests.get("create", 0) + requests.get("get", 0)) / max(ok, 1)


def main() -> None:
    settings = QUICK if os.environ.get("QUICK") == "1" else FULL
    if os.environ.get("CLI") == "0":  # the polling rows alone (the full CLI rows take 15 min)
        settings = {**settings, "rss": ()}
    server = subprocess.Popen(
        [sys.executable, "-m", "tools.bench_batch", "_serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        spec = {"items": settings["items"], "concurrency": settings["concurrency"]}
        rows = {
            "client.batch": measured(base_url, "batch", {**spec, "tag": "a", "journal": True}),
            "client.batch, no journal": measured(
                base_url, "batch", {**spec, "tag": "b", "journal": False}
            ),
            "one by one (adaptive wait)": measured(base_url, "one_by_one", {**spec, "tag": "c"}),
        }
        rss = []
        for lines in settings["rss"]:
            cli = {"lines": lines, "concurrency": settings["concurrency"], "tag": f"r{lines}"}
            rss.append((lines, measured(base_url, "cli", cli)))
        print(report(settings, rows, rss))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(30)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_serve"]:
        serve()
    elif sys.argv[1:2] == ["_scenario"]:
        print(json.dumps(SCENARIOS[sys.argv[2]](json.loads(sys.argv[3]))))
    else:
        main()
