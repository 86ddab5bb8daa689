"""The waits as a picture: detection delay and requests per prediction, this SDK against
``replicate``, with and without progress (matplotlib, benchmark environment only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.bench.common import Json

COLOURS = {"sdk": "#1f77b4", "replicate": "#ff7f0e"}
NAMES = {"sdk": "this SDK", "replicate": "replicate 1.0.7"}
STYLES = {True: ("-", "o", "with progress"), False: ("--", "x", "without progress")}


def draw(tails: dict[int, dict[str, Json]], path: Path, caption: str) -> None:
    """``tails[count][contender]`` is a tail worker's result merged with its ``requests``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = sorted(tails)
    figure, axes = plt.subplots(len(counts), 2, figsize=(12, 4.2 * len(counts)), squeeze=False)
    for row, count in zip(axes, counts, strict=True):
        delay_ax, requests_ax = row
        for contender, result in tails[count].items():
            if "delays" not in result:
                continue
            for progress, (line, marker, label) in STYLES.items():
                picked = [
                    (d, r, t)
                    for d, r, t, p in zip(
                        result["delays"],
                        result["requests"],
                        result["durations"],
                        result["progress"],
                        strict=True,
                    )
                    if p is progress and d == d  # NaN: the wait failed
                ]
                if not picked:
                    continue
                delays = sorted(max(d, 1e-3) for d, _, _ in picked)
                share = [(i + 1) / len(delays) for i in range(len(delays))]
                style: dict[str, Any] = {"color": COLOURS[contender]}
                delay_ax.step(
                    delays,
                    share,
                    where="post",
                    linestyle=line,
                    label=f"{NAMES[contender]}, {label}",
                    **style,
                )
                requests_ax.scatter(
                    [t for _, _, t in picked],
                    [r for _, r, _ in picked],
                    marker=marker,
                    s=14,
                    alpha=0.7,
                    label=f"{NAMES[contender]}, {label}",
                    **style,
                )
        delay_ax.set_xscale("log")
        delay_ax.set_xlabel("detection delay, s (log)")
        delay_ax.set_ylabel("share of predictions seen within")
        delay_ax.set_title(f"{count} concurrent waits: detection delay")
        delay_ax.axvline(0.5, color="grey", linewidth=0.6)
        delay_ax.grid(True, which="both", alpha=0.3)
        delay_ax.legend(fontsize=8, loc="lower right")
        requests_ax.set_xscale("log")
        requests_ax.set_yscale("log")
        requests_ax.set_xlabel("prediction duration, s (log)")
        requests_ax.set_ylabel("requests for the prediction (log)")
        requests_ax.set_title(f"{count} concurrent waits: requests per prediction")
        requests_ax.grid(True, which="both", alpha=0.3)
        requests_ax.legend(fontsize=8, loc="upper left")
    figure.suptitle(caption, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
