"""``make bench-polling``: the default schedule against fixed polls on workload W1.

Prints a Markdown table (the one in docs/guides/waiting.md) with ratios against the fixed 0.5 s
poll measured in the same run.
"""

from __future__ import annotations

from collections.abc import Callable

from cometapi_replicate._schedule import AdaptiveSchedule, FixedSchedule, Schedule
from tools.polling_sim import Summary, run, split, workload_w1

SCHEDULES: dict[str, Callable[[], Schedule]] = {
    "default (adaptive)": AdaptiveSchedule,
    "fixed 0.5 s": lambda: FixedSchedule(0.5),
    "fixed 3 s": lambda: FixedSchedule(3.0),
    "fixed 5 s": lambda: FixedSchedule(5.0),
}


def table() -> str:
    workload = workload_w1()
    results = {name: split(run(make, workload)) for name, make in SCHEDULES.items()}
    baseline = results["fixed 0.5 s"]
    rows = [
        "| schedule | predictions | requests / prediction | vs 0.5 s | median delay | p95 delay "
        "| p95 delay / duration |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, by_part in results.items():
        for part, s in by_part.items():
            ratio = s.requests / baseline[part].requests
            rows.append(_row(name, part, s, ratio))
    return "\n".join(rows)


def _row(name: str, part: str, s: Summary, ratio: float) -> str:
    return (
        f"| {name} | {part} | {s.requests:.1f} | {ratio:.0%} | {s.median_delay:.2f} s "
        f"| {s.p95_delay:.2f} s | {s.p95_relative:.3f} |"
    )


if __name__ == "__main__":
    print("Workload W1: 2,000 simulated predictions (random.Random(7)); delay = detection delay.\n")
    print(table())
