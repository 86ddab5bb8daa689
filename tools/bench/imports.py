"""Import time: each module imported in a fresh interpreter, timed inside it, interleaved.

The time is the ``import`` statement alone (interpreter start-up excluded), the fastest of
``rounds`` runs with warm bytecode caches: on a shared machine every other figure is the same
work plus someone else's. ``attrs + cometapi_replicate_api`` is timed with httpx already
imported: the share of the SDK's import that the generated models and attrs take.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tools.bench.common import CLIENT_CPU

MODULES = {
    "httpx": ("", "httpx"),
    "attrs + cometapi_replicate_api": ("import httpx", "attrs, cometapi_replicate_api"),
    "cometapi_replicate": ("", "cometapi_replicate"),
    "replicate": ("", "replicate"),
}
"""Name: (imported first, untimed; the import timed)."""
_CODE = """
import os, time
try:
    os.sched_setaffinity(0, {%d})
except (AttributeError, OSError):
    pass
%s
t = time.perf_counter()
import %s
print(time.perf_counter() - t)
"""


# Bytecode caches are written and used even where PYTHONDONTWRITEBYTECODE is set, as pip does
# for an installed package: otherwise the editable project is compiled afresh on every import
# while its dependencies, compiled at install, are not.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def once(name: str) -> float:
    before, module = MODULES[name]
    done = subprocess.run(
        [sys.executable, "-c", _CODE % (CLIENT_CPU, before, module)],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    return float(done.stdout) * 1000


def measure(rounds: int) -> dict[str, float]:
    """The fastest of ``rounds`` imports of each of ``MODULES``, in milliseconds."""
    for name in MODULES:  # warm the bytecode caches
        once(name)
    samples: dict[str, list[float]] = {m: [] for m in MODULES}
    for _ in range(rounds):
        for name in MODULES:
            samples[name].append(once(name))
    return {m: min(v) for m, v in samples.items()}


if __name__ == "__main__":
    print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
