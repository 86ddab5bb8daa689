"""Import time: each module imported in a fresh interpreter, timed inside it, interleaved.

The time is the ``import`` statement alone (interpreter start-up excluded), median of
``rounds`` runs with warm bytecode caches.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tools.bench.common import CLIENT_CPU, median

MODULES = ("httpx", "cometapi_replicate_api", "cometapi_replicate", "replicate")
_CODE = """
import os, time
try:
    os.sched_setaffinity(0, {%d})
except (AttributeError, OSError):
    pass
t = time.perf_counter()
import %s
print(time.perf_counter() - t)
"""


# Bytecode caches are written and used even where PYTHONDONTWRITEBYTECODE is set, as pip does
# for an installed package: otherwise the editable project is compiled afresh on every import
# while its dependencies, compiled at install, are not.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def once(module: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _CODE % (CLIENT_CPU, module)],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    return float(done.stdout) * 1000


def measure(rounds: int) -> dict[str, float]:
    """Median milliseconds to import each of ``MODULES``."""
    for module in MODULES:  # warm the bytecode caches
        once(module)
    samples: dict[str, list[float]] = {m: [] for m in MODULES}
    for _ in range(rounds):
        for module in MODULES:
            samples[module].append(once(module))
    return {m: median(v) for m, v in samples.items()}


if __name__ == "__main__":
    print(measure(5))
