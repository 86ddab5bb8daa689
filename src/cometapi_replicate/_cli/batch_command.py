"""``cometapi-replicate batch``: many predictions of one model from a JSONL file, resumably."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from .._batch.journal import JournalError, SqliteJournal
from .._batch.keys import MAX_KEY, checked_input, in_shard
from .._batch.records import BatchSummary
from .._batch.scheduler import DEFAULT_CONCURRENCY, DEFAULT_RATE
from .._client import Client
from .._errors import CometAPIError, InvalidInputError
from .._models import model_schema
from .common import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Terminated,
    UsageError,
    parse_seconds,
    sigterm_as_interrupt,
)
from .estimate import format_eta

JOURNAL = ".batch-journal"
MAX_PROBLEMS = 20
"""The most refused fields a batch lists (every item is checked)."""
PLAIN_EVERY = 2.0
"""Seconds between progress lines when stderr is not a terminal."""


def parse_concurrency(text: str) -> int:
    """``--concurrency``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {text!r}")
    return value


def parse_rate(text: str) -> float | None:
    """``600/min``, ``10/s`` or ``600`` (per minute) -> creates per minute; ``unlimited``."""
    value = text.strip().lower()
    if value in ("unlimited", "none"):
        return None
    number, _, unit = value.partition("/")
    scale = {"": 1.0, "min": 1.0, "m": 1.0, "s": 60.0, "sec": 60.0, "h": 1 / 60}.get(unit)
    try:
        rate = float(number) * scale if scale is not None else -1.0
    except ValueError:
        rate = -1.0
    if not rate > 0:
        raise argparse.ArgumentTypeError(f"a rate is N/min, N/s or unlimited, not {text!r}")
    return rate


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` with 0 <= I < N."""
    index, sep, count = text.partition("/")
    try:
        shard = (int(index), int(count))
    except ValueError:
        shard = (-1, 0)
    if not sep or not 0 <= shard[0] < shard[1]:
        raise argparse.ArgumentTypeError(f"a shard is I/N with 0 <= I < N, not {text!r}")
    return shard


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    batch = commands.add_parser(
        "batch",
        parents=[common],
        help="run many predictions of one model; resumable",
        description="Create, wait for and download one prediction per line of a JSONL file.\n"
        "The journal records every create: run the same command again to resume; nothing\n"
        "is created twice.",
        epilog="examples:\n"
        "  cometapi-replicate batch black-forest-labs/flux-schnell --inputs in.jsonl --out out/\n"
        "  cometapi-replicate batch owner/model --inputs in.jsonl --out out/ --json > done.jsonl\n"
        '  cometapi-replicate batch owner/model --inputs in.jsonl --out out/ --shard "$I/8"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("model", help="owner/name")
    batch.add_argument(
        "--inputs",
        required=True,
        metavar="FILE.jsonl",
        help='one JSON object per line: the input (key: its line number), or {"key": "...", '
        '"input": {...}}',
    )
    batch.add_argument("--out", required=True, metavar="DIR", help="each item's files: DIR/KEY/")
    batch.add_argument(
        "--journal",
        metavar="FILE",
        help=f"SQLite journal (default: DIR/{JOURNAL}[-shard-I-of-N].sqlite)",
    )
    batch.add_argument(
        "--concurrency",
        type=parse_concurrency,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"predictions in flight at most (default {DEFAULT_CONCURRENCY})",
    )
    batch.add_argument(
        "--rate",
        type=parse_rate,
        default=DEFAULT_RATE,
        metavar="N/min",
        help=f"creates per minute at most, or unlimited (default {DEFAULT_RATE:g}/min)",
    )
    batch.add_argument(
        "--timeout", type=parse_seconds(0), metavar="S", help="seconds per prediction"
    )
    batch.add_argument(
        "--shard", type=parse_shard, metavar="I/N", help="only the items whose key hashes to I"
    )
    batch.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="send the inputs unchecked by the model's vendored document",
    )
    batch.add_argument(
        "--recreate-unknown",
        action="store_true",
        help="create again the items whose create was sent but never answered (may pay twice)",
    )


def read_inputs(path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(key, input)`` per non-blank line, read lazily; a file that cannot be opened or read is a
    usage error, like ``run``'s ``@file``."""
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield _parse_line(line, f"{path}:{number}", str(number))
    except OSError as exc:
        raise UsageError(f"--inputs {path}: {exc.strerror or exc}") from None


def _parse_line(line: str, where: str, number: str) -> tuple[str, dict[str, Any]]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise UsageError(f"{where}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{where}: each line must be a JSON object")
    if set(value) == {"key", "input"}:
        key, model_input = value["key"], value["input"]
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY:
            raise UsageError(f"{where}: key must be a string of 1 to {MAX_KEY} characters")
        if not isinstance(model_input, dict):
            raise UsageError(f"{where}: input must be a JSON object")
        return key, model_input
    return number, value


def preflight(args: argparse.Namespace, journal: str) -> int:
    """The number of items of this shard, once it is known the run would not be refused: a
    key that appears twice, or an input that differs from the one an existing journal recorded
    for its key, is a :class:`UsageError`; another model's journal a :class:`JournalError`.
    Creates no journal."""
    keys: set[str] = set()
    schema = model_schema(args.model) if args.validate else None
    problems: list[tuple[str, str]] = []
    recorded = SqliteJournal(journal, args.model) if Path(journal).exists() else None
    try:
        for key, model_input in read_inputs(args.inputs):
            if not in_shard(key, args.shard):
                continue
            if key in keys:
                raise UsageError(f"--inputs {args.inputs}: key {key!r} appears twice")
            keys.add(key)
            if schema is not None and len(problems) < MAX_PROBLEMS:
                problems += [
                    (f"item {key}: {f}", p)
                    for f, p in schema.problems(model_input, command_line=True)
                ]
            if recorded is not None:
                try:
                    checked_input(key, model_input, recorded.lookup(key))
                except ValueError as exc:
                    raise UsageError(str(exc)) from None
    finally:
        if recorded is not None:
            recorded.close()
    if problems and schema is not None:  # every item checked, nothing created
        raise InvalidInputError(schema.model, problems[:MAX_PROBLEMS])
    return len(keys)


def journal_path(args: argparse.Namespace) -> str:
    if args.journal:
        return str(args.journal)
    suffix = f"-shard-{args.shard[0]}-of-{args.shard[1]}" if args.shard else ""
    return str(Path(args.out) / f"{JOURNAL}{suffix}.sqlite")


def resume_command(args: argparse.Namespace, journal: str) -> str:
    words = ["cometapi-replicate", "batch", args.model, "--inputs", args.inputs]
    words += ["--out", args.out, "--journal", journal, "--concurrency", str(args.concurrency)]
    words += ["--rate", "unlimited" if args.rate is None else f"{args.rate:g}/min"]
    if args.timeout is not None:
        words += ["--timeout", f"{args.timeout:g}"]
    if args.shard:
        words += ["--shard", f"{args.shard[0]}/{args.shard[1]}"]
    if not args.validate:
        words.append("--no-validate")
    if args.base_url:
        words += ["--base-url", args.base_url]
    if args.json:
        words.append("--json")
    return shlex.join(words)


class BatchDisplay:
    """One live bar on a terminal (done, failed, unknown, in flight, rate, ETA); lines
    otherwise. ``failed`` is every item that did not succeed but those of unknown outcome."""

    def __init__(self, stream: TextIO, total: int, *, quiet: bool = False) -> None:
        self.stream, self.total, self.quiet = stream, total, quiet
        self.last = 0.0
        self.shown: tuple[int, int, int, int] | None = None
        self.bar: Any = None
        if not quiet and stream.isatty():
            try:
                from .livebar import batch_bar
            except ImportError:  # the ``cli`` extra is not installed: plain lines
                return
            self.bar, self.task = batch_bar(stream, total)

    def update(self, summary: BatchSummary, final: bool = False) -> None:
        unknown = summary.unknown
        failed = summary.not_succeeded - unknown
        if self.bar is not None:
            self.bar.update(
                self.task,
                completed=summary.done,
                failed=failed,
                unknown=unknown,
                flight=summary.in_flight,
                rate=summary.per_minute,
            )
            return
        now = time.monotonic()
        counts = (summary.done, failed, unknown, summary.in_flight)
        if self.quiet or (now - self.last < PLAIN_EVERY if not final else counts == self.shown):
            return  # the final line only when it tells something the last line did not
        self.last, self.shown = now, counts
        left = max(self.total - summary.done, 0)
        eta = f", ETA {format_eta(60 * left / summary.per_minute)}" if summary.per_minute else ""
        print(
            f"{summary.done}/{self.total} done, {failed} failed, {unknown} unknown, "
            f"{summary.in_flight} in flight, {summary.per_minute:.0f}/min{eta}",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def run_batch(args: argparse.Namespace) -> int:
    """The ``batch`` command; returns the exit code."""
    journal = journal_path(args)
    resume = resume_command(args, journal)
    try:
        total = preflight(args, journal)
        client = Client(base_url=args.base_url)
    except (UsageError, OSError, ValueError, CometAPIError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError | ValueError) else EXIT_ERROR
    try:
        batch = client.batch(
            args.model,
            read_inputs(args.inputs),
            journal=journal,
            concurrency=args.concurrency,
            download=args.out,
            timeout=args.timeout,
            rate=args.rate,
            recreate_unknown=args.recreate_unknown,
            shard=args.shard,
            validate=args.validate,
        )
    except ValueError as exc:  # --concurrency 0, --timeout -1: refused before anything runs
        client.close()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"journal: {journal}; resume with: {resume}", file=sys.stderr, flush=True)
    display = BatchDisplay(sys.stderr, total, quiet=args.quiet)
    try:
        with sigterm_as_interrupt(), client, batch:
            for result in batch:
                if args.json:
                    print(json.dumps(result.to_json()), flush=True)
                elif not result.ok:
                    print(f"{result.key}: {result.status or 'not created'}: {result.error}")
                display.update(batch.summary)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (a job runner stopping the shard)
        display.close()
        stopped = isinstance(exc, Terminated)
        print(
            f"{'terminated' if stopped else 'interrupted'}; resume with: {resume}", file=sys.stderr
        )
        return EXIT_TERMINATED if stopped else EXIT_INTERRUPTED
    except (UsageError, ValueError, TypeError) as exc:
        display.close()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # API, journal, files, or a bug: the journal has what was done
        display.close()
        hint = "" if isinstance(exc, JournalError) else f"; resume with: {resume}"
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and exc.strerror:  # not "[Errno 17] ..."
            detail = f"{exc.filename}: {exc.strerror}"
        print(f"error: {detail}{hint}", file=sys.stderr)
        return EXIT_ERROR
    summary = batch.summary
    display.update(summary, final=True)
    display.close()
    print(str(summary), file=sys.stderr if args.json else sys.stdout)
    unknown = summary.unknown
    if unknown:
        print(
            f"{unknown} items unknown: their create was sent and never answered, so they may "
            "exist and be billed; --recreate-unknown creates them again",
            file=sys.stderr,
        )
    return EXIT_OK if summary.ok else EXIT_FAILED
