"""The command line's shared vocabulary: exit codes, usage errors, SIGTERM as an interrupt, and
the argparse types of its options. Below every command; imports none of them."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._inputs import split_model

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_ERROR = 0, 1, 2, 3, 4
EXIT_DOWNLOAD = 5
# 128 + the signal number, as a shell reports a command that a signal stopped.
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_TERMINATED = 130, 141, 143
EXIT_CODES = """exit codes:
  0         succeeded
  1         failed, canceled or aborted
  2         usage (arguments, input, key)
  3         timed out
  4         API, network or file error
  5         succeeded, but saving its files failed (the prediction is printed)
  130, 143  interrupted (Ctrl-C, SIGTERM): prints the command that resumes
  141       stdout closed early (e.g. piped into head)"""
NO_KEY = (
    "error: no API key: export COMETAPI_KEY=... "
    "(in the environment: on the command line it would land in shell history)"
)


class UsageError(Exception):
    pass


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it stops as Ctrl-C does."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within: SIGTERM raises :class:`Terminated` (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def parse_seconds(minimum: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds, at least ``minimum``; checked before
    anything is created, since a create costs money."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"a number of seconds, not {text!r}") from None
        if value != value or value == float("inf"):  # NaN, inf
            raise argparse.ArgumentTypeError(f"a finite number of seconds, not {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"at least {minimum:g} seconds, not {text!r}")
        return value

    return parse


def parse_port(text: str) -> int:
    """``--port``: a whole number from 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port from 0 to 65535, not {text!r}")
    return port


def parse_models(text: str) -> frozenset[str]:
    """``--models``: ``owner/name`` models separated by commas."""
    try:
        return frozenset("/".join(split_model(m.strip())) for m in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_fault_spec(text: str) -> Any:
    """``--fault``: what :func:`cometapi_replicate.testing.sandbox.parse_fault` reads."""
    from ..testing.sandbox import parse_fault

    try:
        return parse_fault(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_value(text: str) -> Any:
    """``-i`` values: ``@path`` is a file, JSON literals are typed, anything else is a string."""
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise UsageError(f"{text}: {exc.strerror or exc}") from None
        return path
    try:
        return json.loads(text)
    except ValueError:
        return text
