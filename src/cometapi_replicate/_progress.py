"""Progress parsed from the tqdm lines that Replicate models write to ``logs``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cometapi_replicate_api.types import Unset

__all__ = ["Progress", "parse_progress"]

# "45%|####5     | 9/20 [00:02<00:03, 3.1it/s]" or "20%|██        | 1/5 [...]"
_TQDM = re.compile(r"(?P<pct>\d{1,3})%\|[^|\r\n]*\|\s*(?:(?P<cur>\d+)/(?P<total>\d+))?")


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a prediction is: ``percentage`` in [0, 1]; ``current``/``total`` steps if shown."""

    percentage: float
    current: int | None = None
    total: int | None = None


def parse_progress(logs: str | Unset | None) -> Progress | None:
    """The progress of the last tqdm line in ``logs`` (``prediction.logs`` as it is), or
    ``None`` when there is none."""
    if not isinstance(logs, str) or not logs:
        return None
    end = len(logs)
    # Logs grow for the whole run and are read at every poll: scan back from the end.
    while (mark := logs.rfind("%|", 0, end)) >= 0:
        start = max(logs.rfind("\n", 0, mark), logs.rfind("\r", 0, mark)) + 1
        match = _TQDM.search(logs, start, _line_end(logs, mark))
        if match is not None:
            return _progress(match)
        end = start
    return None


def _line_end(logs: str, start: int) -> int:
    ends = [i for i in (logs.find("\n", start), logs.find("\r", start)) if i >= 0]
    return min(ends, default=len(logs))


def _progress(match: re.Match[str]) -> Progress:
    cur, total = match["cur"], match["total"]
    if cur is not None and total is not None and int(total) > 0:
        current, steps = int(cur), int(total)
        return Progress(min(1.0, current / steps), current, steps)
    return Progress(min(1.0, int(match["pct"]) / 100))
