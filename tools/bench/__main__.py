"""``make bench``: every measure side by side in one run, one table of ratios.

``python -m tools.bench [SECTION ...]`` with sections ``imports calls downloads tail crowd
waits`` (default: the first four). ``BENCH_QUICK=1``: fewer rounds, shorter predictions,
smaller files, results in ``bench-output/``. A full run of the default sections writes the
table, the numbers and the picture to ``docs/``, puts the table into the performance page
(``docs/guides/performance.md``) and the README; any other run writes to ``bench-output/``.
Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tools.bench import imports
from tools.bench.common import (
    MARGIN,
    QUICK,
    ROOT,
    Json,
    ServerProcess,
    WireServer,
    median,
    percentile,
    run_worker,
    server_ahead,
)
from tools.bench.crowd import inputs as crowd_inputs

SECTIONS = ("imports", "calls", "downloads", "tail", "crowd", "waits")
DEFAULT = ("imports", "calls", "downloads", "tail")
"""What ``make bench`` runs: the issue's measures, in a few minutes. ``crowd`` and ``waits``
(minutes more) run when named (``make bench-waits``)."""


@dataclass(frozen=True)
class Config:
    import_rounds: int
    calls: int
    call_rounds: int
    tail_counts: tuple[int, ...]
    tail_scale: float
    tail_spread: float
    crowd_count: int
    crowd_limit: float
    wait_counts: tuple[int, ...]
    wait_limits: tuple[float, ...]
    big: int
    small: int
    files: int
    download_rounds: int


FULL = Config(40, 100, 41, (100, 300), 0.4, 25.0, 1000, 60, (1000, 10000), (120, 600),
              200_000_000, 20_000_000, 8, 11)  # fmt: skip
SHORT = Config(10, 100, 5, (100, 300), 0.2, 12.0, 1000, 45, (1000,), (60,), 50_000_000,
               5_000_000, 8, 3)  # fmt: skip
CONFIG = SHORT if QUICK else FULL


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                model,
            )
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        replicate = version("replicate")
    except PackageNotFoundError:
        replicate = "absent"
    return (
        f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, Python"
        f" {platform.python_version()}, httpx {httpx.__version__}, cometapi-replicate"
        f" {version('cometapi-replicate')}, replicate {replicate}"
    )


# -- running the sections -------------------------------------------------------------------


def run_calls() -> Json:
    from tools.bench.calls import prediction_body

    with (
        tempfile.TemporaryDirectory() as folder,
        WireServer(Path(folder), prediction_body()) as server,
    ):
        args = {"api": server.url, "calls": CONFIG.calls, "rounds": CONFIG.call_rounds}
        return {"pinned": server.pinned, **run_worker("calls", args, limit=900)}


def run_downloads() -> Json:
    from tools.bench.downloads import make_files, scratch

    folder = scratch("bench-files-")
    try:
        make_files(folder, CONFIG.big, CONFIG.small, CONFIG.files)
        with WireServer(folder) as server:
            args = {
                "url": server.url,
                "big": CONFIG.big,
                "small": CONFIG.small,
                "files": CONFIG.files,
                "rounds": CONFIG.download_rounds,
            }
            return {"pinned": server.pinned, **run_worker("downloads", args, limit=900)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_tail() -> dict[int, dict[str, Json]]:
    tails: dict[int, dict[str, Json]] = {}
    for n, count in enumerate(CONFIG.tail_counts):
        tails[count] = {}
        order = ("sdk", "replicate") if n % 2 == 0 else ("replicate", "sdk")
        for contender in order:
            log(f"tail: {count} waits, {contender}")
            with ServerProcess() as server:
                cpu = server.cpu()
                args = {
                    "api": server.api,
                    "contender": contender,
                    "count": count,
                    "scale": CONFIG.tail_scale,
                    "spread": CONFIG.tail_spread,
                }
                limit = CONFIG.tail_spread + 125 * CONFIG.tail_scale + 120
                result = run_worker("tail", args, limit=limit)
                if "ids" in result:
                    result["requests"] = server.counts(result.pop("ids"))
                    result["server_busy"] = (server.cpu() - cpu) / result["wall"]
            tails[count][contender] = result
    return tails


def run_crowd() -> dict[str, Json]:
    crowds = {}
    for contender in ("sdk", "replicate"):
        log(f"crowd: {CONFIG.crowd_count} runs at once, {contender}")
        with ServerProcess() as server:
            args = {
                "api": server.api,
                "mode": "run",
                "contender": contender,
                "count": CONFIG.crowd_count,
                "limit": CONFIG.crowd_limit,
            }
            crowds[contender] = run_worker("crowd", args, limit=CONFIG.crowd_limit + 120)
    return crowds


def run_waits() -> dict[int, Json]:
    waits = {}
    for count, limit in zip(CONFIG.wait_counts, CONFIG.wait_limits, strict=True):
        log(f"waits: {count} concurrent waits on one AsyncClient (limit {limit:.0f} s)")
        with ServerProcess() as server, tempfile.TemporaryDirectory() as scratch:
            ids = Path(scratch, "ids.json")
            ids.write_text(json.dumps(server.create(crowd_inputs(count))))
            cpu = server.cpu()
            args = {"api": server.api, "mode": "wait", "ids_file": str(ids), "limit": limit}
            result = run_worker("crowd", args, limit=limit + 120)
            if "wall" in result:
                result["server_busy"] = (server.cpu() - cpu) / result["wall"]
        waits[count] = result
    return waits


# -- the table ------------------------------------------------------------------------------

Row = tuple[str, str, str, str, str, str, str]
"""measure, raw httpx, this SDK, replicate, the server alone, goal, verdict."""
PASS, FAIL, UNJUDGED = "✓", "✗", "not judged"
CALL_MARGIN = 2.0
"""Per call, the server's own time must be at most half the fastest client's: a ``get`` waits
on the server, and a slow server dilutes every client's cost into the same ratio."""


def verdict(ok: bool | None) -> str:
    return "" if ok is None else PASS if ok else FAIL


def ratio(value: float, base: float) -> str:
    return f"({value / base:.2f}x)" if base and not math.isnan(value) else ""


def error_row(name: str, result: Json, goal: str = "") -> Row:
    return (name, "", f"error: {result['error']}", "", "", goal, verdict(False if goal else None))


def call_rows(calls: Json) -> list[Row]:
    if "error" in calls:
        return [error_row("sync and async `get`", calls, "<= 1.05x raw")]
    size = f"{calls['body_bytes'] / 1000:.1f} KB"
    rows: list[Row] = []
    for mode in ("sync", "async"):
        raw, sdk, rep = (calls[mode][c]["us"] for c in ("raw", "sdk", "replicate"))
        server = calls[mode]["server"]["us"]
        refused = server_ahead(server, [raw, sdk, rep], higher_is_faster=False, margin=CALL_MARGIN)
        name = f"{mode} `get`, {size} prediction, µs per call"
        alone = f"{server:.0f} (raw socket)"
        if refused:
            rows.append((name, f"{raw:.0f}", f"{sdk:.0f}; no ratio: {refused}", f"{rep:.0f}",
                         alone, "<= 1.05x raw", UNJUDGED))  # fmt: skip
            continue
        rows.append(
            (
                name,
                f"{raw:.0f} (1.00x)",
                f"{sdk:.0f} {ratio(sdk, raw)}",
                f"{rep:.0f} {ratio(rep, raw)}",
                alone,
                "<= 1.05x raw",
                verdict(sdk <= 1.05 * raw),
            )
        )
    for mode in ("sync", "async"):
        raw, sdk, rep = (calls[mode][c]["cpu_us"] for c in ("raw", "sdk", "replicate"))
        rows.append(
            (
                f"client CPU per {mode} `get`, µs",
                f"{raw:.0f}",
                f"{sdk:.0f} ({sdk - raw:+.0f} over raw)",
                f"{rep:.0f} ({rep - raw:+.0f} over raw)",
                "",
                "<= replicate",
                verdict(sdk <= rep),
            )
        )
    parse = calls["parse_us"]
    rows.append(
        (
            "parse one prediction (`json.loads` included), µs",
            f"`json.loads` {parse['raw']:.1f}",
            f"`from_dict` {parse['sdk']:.1f}",
            f"pydantic {parse['replicate']:.1f}",
            "",
            "",
            "",
        )
    )
    return rows


def import_rows(ms: dict[str, float]) -> list[Row]:
    base, sdk = ms["httpx"], ms["cometapi_replicate"]
    stack = ms.get("attrs + cometapi_replicate_api", math.nan)
    return [
        (
            "`import`, net ms (fastest of many runs)",
            f"httpx alone {base:.0f}",
            f"{sdk:.0f} (+{sdk - base:.0f}); attrs + generated package alone: {stack:.0f}",
            f"{ms['replicate']:.0f}",
            "",
            "<= httpx + 25 ms",
            verdict(sdk <= base + 25),
        )
    ]


def _subset(result: Json, progress: bool | None) -> tuple[list[float], list[int]]:
    keep = [p is progress or progress is None for p in result["progress"]]
    delays = [d for d, k in zip(result["delays"], keep, strict=True) if k]
    requests = [r for r, k in zip(result["requests"], keep, strict=True) if k]
    return delays, requests


def _delays(delays: Sequence[float]) -> str:
    good = [d for d in delays if not math.isnan(d)]
    failed = len(delays) - len(good)
    text = f"{median(good):.2f} / {percentile(good, 95):.2f} / {max(good, default=math.nan):.2f}"
    return text + (f", {failed} failed" if failed else "")


def tail_rows(tails: dict[int, dict[str, Json]]) -> list[Row]:
    rows: list[Row] = []
    goals: dict[bool | None, tuple[float, float, str, str]] = {
        True: (0.5, 1.0, "<= 0.5x requests", "p95 <= replicate's"),
        False: (0.75, 2.0, "<= 0.75x requests", "p95 <= 2x replicate's"),
        None: (0.6, math.inf, "<= 0.6x requests", "max <= 2 s"),
    }
    for count, pair in tails.items():
        sdk, rep = pair.get("sdk", {}), pair.get("replicate", {})
        for result in (sdk, rep):
            if "error" in result:
                rows.append(error_row(f"{count} waits", result, "see below"))
        if "delays" not in sdk or "delays" not in rep:
            continue
        for progress, label in (
            (True, "with progress"),
            (False, "without progress"),
            (None, "all"),
        ):
            share, delay_factor, request_goal, delay_goal = goals[progress]
            sdk_d, sdk_r = _subset(sdk, progress)
            rep_d, rep_r = _subset(rep, progress)
            sdk_req, rep_req = sum(sdk_r) / len(sdk_r), sum(rep_r) / len(rep_r)
            rows.append(
                (
                    f"{count} waits, {label}: GETs per prediction",
                    "",
                    f"{sdk_req:.1f} {ratio(sdk_req, rep_req)}",
                    f"{rep_req:.1f}",
                    "",
                    request_goal,
                    verdict(sdk_req <= share * rep_req),
                )
            )
            good_sdk = [d for d in sdk_d if not math.isnan(d)]
            if progress is None:
                ok = len(good_sdk) == len(sdk_d) and max(good_sdk, default=math.inf) <= 2.0
            else:
                p95 = percentile([d for d in rep_d if not math.isnan(d)], 95)
                ok = len(good_sdk) == len(sdk_d) and percentile(good_sdk, 95) <= delay_factor * p95
            rows.append(
                (
                    f"{count} waits, {label}: delay median / p95 / max, s",
                    "",
                    _delays(sdk_d),
                    _delays(rep_d),
                    "",
                    delay_goal,
                    verdict(ok),
                )
            )
        sdk_cpu = sdk["cpu"] / sum(sdk["requests"]) * 1000
        rep_cpu = rep["cpu"] / sum(rep["requests"]) * 1000
        rows.append(
            (
                f"{count} waits: client CPU ms per poll request",
                "",
                f"{sdk_cpu:.2f} {ratio(sdk_cpu, rep_cpu)}",
                f"{rep_cpu:.2f}",
                f"server core busy {sdk.get('server_busy', math.nan):.0%}"
                f" / {rep.get('server_busy', math.nan):.0%}",
                "<= replicate",
                verdict(sdk_cpu <= rep_cpu),
            )
        )
    return rows


def _crowd_text(result: Json) -> str:
    if "error" in result:
        return f"error: {result['error']}"
    errors = ", ".join(f"{n} {kind}" for kind, n in result["errors"].items())
    text = f"{result['completed']:,} of {result['count']:,} done"
    if errors:
        text += f", {errors}"
    if result["unfinished"]:
        return text + (
            f", {result['unfinished']:,} still running when stopped at {result['wall']:.0f} s"
            f" (limit {result['limit']:.0f} s)"
        )
    return text + f" in {result['wall']:.0f} s"


def crowd_rows(crowds: dict[str, Json]) -> list[Row]:
    sdk = crowds.get("sdk", {})
    ok = "completed" in sdk and sdk["completed"] == sdk["count"]
    return [
        (
            f"{CONFIG.crowd_count:,} `run`s started at once, one default client",
            "",
            _crowd_text(sdk),
            _crowd_text(crowds.get("replicate", {"error": "not run"})),
            "",
            "all complete, no PoolTimeout",
            verdict(ok),
        )
    ]


def download_rows(downloads: Json) -> list[Row]:
    if "error" in downloads:
        return [error_row("downloads", downloads, ">= 0.95x / 0.9x raw")]
    big = f"1 x {downloads['big_mb']:.0f} MB"
    many = f"{downloads['files']} x {downloads['small_mb']:.0f} MB"
    rows: list[Row] = []
    for mode, floor in (("sync", 0.95), ("async", 0.9)):
        for part, label in (("big", big), ("many", many)):
            raw, sdk = downloads[f"raw {mode}"][part], downloads[f"sdk {mode}"][part]
            ceiling = downloads["ceiling"][part]
            name = f"download {label}, {mode}, MB/s"
            alone = f"{ceiling:.0f} (drain only)"
            goal = f">= {floor}x raw"
            refused = server_ahead(ceiling, [raw, sdk], higher_is_faster=True)
            if refused:
                rows.append(
                    (name, f"{raw:.0f}", f"{sdk:.0f}; no ratio: {refused}", "", alone, goal,
                     UNJUDGED)
                )  # fmt: skip
                continue
            rows.append(
                (
                    name,
                    f"{raw:.0f} (1.00x)",
                    f"{sdk:.0f} {ratio(sdk, raw)}",
                    "",
                    alone,
                    goal,
                    verdict(sdk >= floor * raw),
                )
            )
    raw_stall, sdk_stall = downloads["raw async"]["stall"], downloads["sdk async"]["stall"]
    rows.append(
        (
            "async download: event loop's worst stall, ms",
            f"{raw_stall:.0f}",
            f"{sdk_stall:.0f}",
            "",
            "",
            "<= 50 ms",
            verdict(sdk_stall <= 50),
        )
    )
    return rows


def wait_rows(waits: dict[int, Json]) -> list[Row]:
    rows: list[Row] = []
    for count, result in waits.items():
        ok = "completed" in result and result["completed"] == count
        text = _crowd_text(result)
        if "cpu" in result:
            per_1000 = result["cpu"] / count * 1000
            text += (
                f"; client CPU {per_1000:.1f} s per 1,000 waits; peak RSS"
                f" {result['rss_peak_mb']:.0f} MB (+{result['kb_per_wait']:.1f} KB per wait);"
                f" peak open fds {result['fds_peak']}"
            )
        rows.append(
            (
                f"{count:,} concurrent waits, one default AsyncClient",
                "",
                text,
                "",
                "",
                "all complete",
                verdict(ok),
            )
        )
    return rows


def notes(results: dict[str, Any]) -> list[str]:
    """How each measure was taken, and how busy the server was (it must not be the limit)."""
    lines = [
        "Server alone: what the server does with a client that costs nothing. Downloads: a raw"
        " socket that only drains the bytes (MB/s), as many files at once as the clients;"
        " per call: a raw socket's sequential GETs (µs). A ratio is reported only when the"
        f" server is well ahead of both clients: at least {MARGIN:g}x their MB/s, at most"
        f" 1/{CALL_MARGIN:g} of their µs per call; otherwise the row says why, and is not judged."
        " Files and the per-call prediction are served by a bare HTTP/1.1 server that sends"
        " files with `sendfile` from tmpfs, in its own process pinned to one core, the clients"
        " on the other."
    ]
    if "tail" in results:
        scaled = "" if CONFIG.tail_scale == 1 else f", times {CONFIG.tail_scale:g}"
        lines.append(
            "Waits: each prediction is starting for 0.2-2 s, then processing for 2-120 s"
            f" (log-uniform){scaled}; half write tqdm progress (a step per 0.5 s). They arrive"
            f" over {CONFIG.tail_spread:g} s (the same times in every run), are created with"
            " plain httpx and waited on from their ids on one async client (this SDK:"
            " `predictions.wait`, whose client learns from the waits that end before the later"
            " ones; replicate: `async_get` + `async_wait`, its fixed 0.5 s poll). Delay: when"
            " the wait returned minus when the prediction ended. GETs counted by the sandbox"
            " server."
        )
    if "crowd" in results or "waits" in results:
        lines.append(
            "Crowds: predictions starting for 0.5-2 s, processing for 5-15 s, half with progress;"
            " each crowd is stopped at its time limit and reported as it stands."
        )
    if "downloads" in results:
        lines.append(
            "Downloads: to tmpfs; raw httpx streams `iter_bytes()` into an open file, as many at"
            " once as the SDK (four); medians of interleaved rounds; stall: a 1 ms ticker's"
            " worst lateness during async runs."
        )
    lines.append(
        "Per call: medians of interleaved rounds; client CPU is the client process's own time."
        " Import: the `import` statement alone in a fresh interpreter, fastest of"
        f" {CONFIG.import_rounds} interleaved runs."
    )
    return [f"- {line}" for line in lines]


def table(rows: list[Row]) -> str:
    head = (
        "| measure | raw httpx | this SDK | replicate 1.0.7 | server alone | goal | |\n"
        "|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *("| " + " | ".join(row) + " |" for row in rows)])


def summarise(results: dict[str, Any]) -> Json:
    """The results without per-prediction arrays, for ``bench-results.json``."""
    summary = dict(results)
    if "tail" in summary:
        summary["tail"] = {
            count: {
                c: {k: v for k, v in r.items() if not isinstance(v, list)} for c, r in pair.items()
            }
            for count, pair in summary["tail"].items()
        }
    return summary


PAGE = ROOT / "docs" / "guides" / "performance.md"
"""The documentation page whose table is the latest full run."""
README = ROOT / "README.md"
"""The README's performance table is the same run."""
TABLE_START, TABLE_END = "<!-- make bench: start -->", "<!-- make bench: end -->"


def into_page(page: str, report: str) -> str:
    """``page`` with the text between the ``make bench`` markers replaced by ``report``."""
    head, found, rest = page.partition(TABLE_START)
    _, found_end, tail = rest.partition(TABLE_END)
    if not (found and found_end):
        raise ValueError(f"{PAGE.name} has no {TABLE_START} ... {TABLE_END} section")
    return f"{head}{TABLE_START}\n{report.strip()}\n{TABLE_END}{tail}"


def main(argv: list[str]) -> int:
    chosen = argv or list(DEFAULT)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        print(f"unknown sections: {', '.join(sorted(unknown))}; choose from {SECTIONS}")
        return 2
    started = time.monotonic()
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    header = f"{when}, {machine()}; {'BENCH_QUICK=1' if QUICK else 'full run'}"
    log(header)
    runners: dict[str, Callable[[], Any]] = {
        "imports": lambda: imports.measure(CONFIG.import_rounds),
        "calls": run_calls,
        "downloads": run_downloads,
        "tail": run_tail,
        "crowd": run_crowd,
        "waits": run_waits,
    }
    results: dict[str, Any] = {}
    for section in SECTIONS:
        if section in chosen:
            log(f"{section} ...")
            results[section] = runners[section]()
    rows: list[Row] = []
    makers: dict[str, Callable[[Any], list[Row]]] = {
        "calls": call_rows,
        "imports": import_rows,
        "tail": tail_rows,
        "crowd": crowd_rows,
        "downloads": download_rows,
        "waits": wait_rows,
    }
    for section in ("calls", "imports", "tail", "crowd", "downloads", "waits"):
        if section in results:
            rows += makers[section](results[section])
    minutes = (time.monotonic() - started) / 60
    text = "\n".join([f"{header}; {minutes:.1f} min", "", table(rows), "", *notes(results), ""])
    complete = not QUICK and set(chosen) >= set(DEFAULT)
    out = ROOT / ("docs" if complete else "bench-output")
    out.mkdir(exist_ok=True)
    (out / "bench.md").write_text(text)
    (out / "bench-results.json").write_text(
        json.dumps({"header": header, **summarise(results)}, indent=1, default=str) + "\n"
    )
    if "tail" in results:
        from tools.bench.plot import draw

        draw(results["tail"], out / "bench-waits.png", header)
    if complete:  # the performance page's table, and the README's, is the latest full run
        for page in (PAGE, README):
            page.write_text(into_page(page.read_text("utf-8"), text), "utf-8")
    print(text)
    log(f"done in {minutes:.1f} min; written to {out.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
