"""``cometapi-replicate``: get, wait for, run and download predictions from the shell.

The key and base URL come from ``COMETAPI_KEY`` and ``COMETAPI_BASE_URL`` (``--base-url``
overrides the URL); a key on the command line would end up in shell history.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from cometapi_replicate_api.models import Prediction

from ._version import __version__
from .client import Client
from .errors import CometAPIError, PredictionError, WaitTimeoutError
from .progress import parse_progress
from .status import PredictionStatus, normalize_status, output_urls

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_CODES = """exit codes:
  0  succeeded        1  failed, canceled or aborted     2  usage
  3  timed out        4  API, network or file error      130  interrupted"""


class UsageError(Exception):
    pass


def parse_value(text: str) -> Any:
    """``-i`` values: ``@path`` is a file, JSON literals are typed, anything else is a string."""
    if text.startswith("@"):
        return Path(text[1:])
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_input(pairs: Sequence[str], json_file: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if json_file:
        try:
            loaded = json.loads(Path(json_file).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--input-json {json_file}: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--input-json must hold a JSON object")
        data.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"-i takes key=value, not {pair!r}")
        data[key] = parse_value(value)
    return data


class Display:
    """Progress on stderr: a live bar on a terminal, plain status lines otherwise."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream, self.quiet, self.started = stream, quiet, time.monotonic()
        self.last_line: str | None = None
        self.bar: Any = None
        self.task: Any = None
        if not quiet and stream.isatty():
            try:
                from rich.console import Console
                from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
            except ImportError:  # the ``cli`` extra is not installed: plain lines
                return
            console = Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")))
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[step]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task("starting", total=100, step="")

    def update(self, prediction: Prediction) -> None:
        if self.quiet:
            return
        logs = prediction.logs if isinstance(prediction.logs, str) else None
        progress = parse_progress(logs)
        step = f"{progress.current}/{progress.total}" if progress and progress.total else ""
        percent = progress.percentage * 100 if progress else 0.0
        if prediction.status == PredictionStatus.SUCCEEDED:
            percent = 100.0
        if self.bar is not None:
            label = f"{prediction.id} {prediction.status}"
            self.bar.update(self.task, description=label, completed=percent, step=step)
            return
        elapsed = time.monotonic() - self.started
        shown = f" {percent:.0f}%" + (f" ({step})" if step else "") if progress else ""
        line = f"{prediction.id}: {prediction.status}{shown}"
        bucket = f"{prediction.status}{int(percent // 10)}"
        if bucket != self.last_line:
            self.last_line = bucket
            print(f"{line} [{elapsed:.0f}s]", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def describe(prediction: Prediction) -> str:
    lines = [f"id:      {prediction.id}", f"status:  {prediction.status}"]
    if isinstance(prediction.model, str):
        lines.append(f"model:   {prediction.model}")
    progress = parse_progress(prediction.logs if isinstance(prediction.logs, str) else None)
    if progress is not None and normalize_status(prediction.status) is PredictionStatus.PROCESSING:
        lines.append(f"progress: {progress.percentage:.0%}")
    if isinstance(prediction.error, str):
        lines.append(f"error:   {prediction.error}")
    lines.extend(f"output:  {url}" for url in output_urls(prediction))
    if prediction.data_removed is True:
        lines.append("output:  removed (data is kept about an hour after completion)")
    return "\n".join(lines)


def exit_code_for(prediction: Prediction) -> int:
    status = normalize_status(prediction.status)
    failed = (PredictionStatus.FAILED, PredictionStatus.CANCELED, PredictionStatus.ABORTED)
    return EXIT_FAILED if status in failed else EXIT_OK


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON on stdout for scripts")
    common.add_argument("--base-url", help="API base URL (default: $COMETAPI_BASE_URL or CometAPI)")
    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument("--timeout", type=float, help="give up after this many seconds")
    waiting.add_argument("--download", metavar="DIR", help="save the outputs into DIR")
    waiting.add_argument("--overwrite", action="store_true", help="replace existing files in DIR")

    top = argparse.ArgumentParser(
        prog="cometapi-replicate",
        description="Replicate predictions through CometAPI. Key: $COMETAPI_KEY.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"cometapi-replicate {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    get = commands.add_parser("get", parents=[common], help="show a prediction")
    get.add_argument("id")
    wait = commands.add_parser(
        "wait", parents=[common, waiting], help="wait for a prediction to end"
    )
    wait.add_argument("id")
    wait.add_argument("--interval", type=float, help="poll every S seconds instead of adaptively")
    run = commands.add_parser("run", parents=[common, waiting], help="create a prediction and wait")
    run.add_argument("model", help="owner/name, e.g. black-forest-labs/flux-schnell")
    run.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an input (JSON literal, @file, or text); repeatable",
    )
    run.add_argument("--input-json", metavar="FILE", help="inputs from a JSON object in FILE")
    download = commands.add_parser("download", parents=[common], help="save a prediction's outputs")
    download.add_argument("id")
    download.add_argument("directory")
    download.add_argument("--overwrite", action="store_true", help="replace existing files")
    sandbox = commands.add_parser("sandbox", help="serve a local sandbox API on 127.0.0.1")
    sandbox.add_argument("--port", type=int, default=0, help="0 picks a free port")
    sandbox.add_argument("--json", action="store_true", help="print the URLs and key as JSON")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "sandbox":
        return serve_sandbox(args.port, args.json)
    display = Display(sys.stderr, quiet=False)
    seen: dict[str, str] = {"id": args.id} if args.command == "wait" else {}

    def on_update(prediction: Prediction) -> None:
        seen["id"] = prediction.id
        display.update(prediction)

    try:
        with Client(base_url=args.base_url) as client:
            prediction, files = execute(client, args, on_update, display)
    except (KeyboardInterrupt, CometAPIError, OSError, UsageError, ValueError, TypeError) as exc:
        display.close()
        code, message = failure(exc, seen.get("id"))
        print(message, file=sys.stderr)
        return code
    report(sys.stdout, args.json, prediction, files)
    return exit_code_for(prediction) if prediction is not None else EXIT_OK


def execute(
    client: Client,
    args: argparse.Namespace,
    on_update: Callable[[Prediction], None],
    display: Display,
) -> tuple[Prediction | None, list[Path] | None]:
    """Carry out ``get``, ``download``, ``wait`` or ``run``."""
    if args.command == "get":
        return client.predictions.get(args.id), None
    if args.command == "download":
        return None, client.predictions.download(args.id, args.directory, overwrite=args.overwrite)
    if args.command == "wait":
        prediction = client.predictions.wait(
            args.id, timeout=args.timeout, poll_interval=args.interval, on_update=on_update
        )
    else:
        model_input = build_input(args.input, args.input_json)
        created = client.predictions.create(args.model, model_input)
        on_update(created)
        prediction = client.predictions.wait(created, timeout=args.timeout, on_update=on_update)
    display.close()
    files = None
    if args.download and exit_code_for(prediction) == EXIT_OK:
        files = client.predictions.download(prediction, args.download, overwrite=args.overwrite)
    return prediction, files


def failure(exc: BaseException, prediction_id: str | None) -> tuple[int, str]:
    """The exit code and the one line to print for an error."""
    if isinstance(exc, KeyboardInterrupt):
        resume = f"; resume with: cometapi-replicate wait {prediction_id}" if prediction_id else ""
        return EXIT_INTERRUPTED, f"interrupted{resume}"
    if isinstance(exc, WaitTimeoutError):
        return EXIT_TIMEOUT, f"timed out: {exc}"
    if isinstance(exc, UsageError | ValueError | TypeError):
        return EXIT_USAGE, f"error: {exc}"
    if isinstance(exc, PredictionError):
        return EXIT_FAILED, f"error: {exc}"
    return EXIT_ERROR, f"error: {exc}"


def report(
    out: TextIO, as_json: bool, prediction: Prediction | None, files: list[Path] | None
) -> None:
    paths = [str(p) for p in files] if files is not None else None
    if as_json:
        if prediction is None:
            payload: Any = paths
        elif paths is None:
            payload = prediction.to_dict()
        else:
            payload = {"prediction": prediction.to_dict(), "files": paths}
        print(json.dumps(payload, indent=2), file=out)
        return
    if prediction is not None:
        print(describe(prediction), file=out)
    for path in paths or []:
        print(f"saved:   {path}", file=out)


def serve_sandbox(port: int, as_json: bool) -> int:
    try:
        from .testing import SandboxServer
    except ImportError:
        print(
            "error: the sandbox needs uvicorn: pip install 'cometapi-replicate[sandbox]'",
            file=sys.stderr,
        )
        return EXIT_ERROR
    server = SandboxServer(port=port)
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    sandbox = server.sandbox
    if as_json:
        print(
            json.dumps(
                {"base_url": sandbox.api_url, "files_url": sandbox.files_url, "key": sandbox.key}
            ),
            flush=True,
        )
    else:
        print(sandbox.api_url, flush=True)
        print(
            f"sandbox API at {sandbox.api_url} (files at {sandbox.files_url}); "
            f"use COMETAPI_KEY={sandbox.key}; Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


def entry() -> None:  # pragma: no cover - the console script
    sys.exit(main())
