"""``Clock``: the one seam through which a client reads the time and waits."""

from __future__ import annotations

import time

__all__ = ["Clock"]


class Clock:
    """The time a client reads and the way it waits: the real ones by default.

    Pass a subclass as ``Client(clock=...)`` or ``AsyncClient(clock=...)`` to run a client on
    simulated time (a test that polls for minutes in microseconds). ``monotonic`` measures
    timeouts and schedules, ``time`` (Unix time) reads HTTP-date ``Retry-After`` headers,
    ``sleep`` and ``async_sleep`` are every pause the client takes.
    """

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def async_sleep(self, seconds: float) -> None:
        import asyncio  # here: a synchronous program never imports it

        await asyncio.sleep(seconds)
