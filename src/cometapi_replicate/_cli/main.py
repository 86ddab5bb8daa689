"""``cometapi-replicate``: get, wait for, run and download predictions from the shell.

The key comes from ``COMETAPI_KEY`` (a key on the command line would end up in shell history);
the base URL from ``--base-url`` or ``COMETAPI_BASE_URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cometapi_replicate_api.models import Prediction

from .._client import Client
from .._errors import CometAPIError, InvalidInputError, PredictionError, WaitTimeoutError
from .._filenames import DEFAULT_NAME, check_name_template
from .._model_inputs import MISSING
from .._models import model_schema, vendored_models
from .._progress import parse_progress
from .._schedule import FLOOR
from .._status import PredictionStatus, normalize_status, output_urls
from .._version import __version__
from .common import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_DOWNLOAD,
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    NO_KEY,
    Terminated,
    UsageError,
    parse_fault_spec,
    parse_models,
    parse_port,
    parse_seconds,
    parse_value,
    sigterm_as_interrupt,
)
from .estimate import ProgressEstimate, Shown, format_eta

if TYPE_CHECKING:
    from .._model_inputs import ModelSchema


class DownloadFailed(Exception):
    """The download step failed after the prediction succeeded."""

    def __init__(self, prediction: Prediction, error: Exception) -> None:
        super().__init__(str(error))
        self.prediction, self.error = prediction, error


def build_input(
    pairs: Sequence[str],
    json_file: str | None,
    schema: ModelSchema | None = None,
    *,
    validate: bool = True,
) -> dict[str, Any]:
    """The input of ``--input-json`` and the ``-i`` pairs; with the model's ``schema``, each
    value is read as its field's type (``num_outputs=2`` an integer, ``prompt=42`` text) and
    the whole is checked (:class:`InvalidInputError`, a ``ValueError``) unless not
    ``validate``."""
    data: dict[str, Any] = {}
    if json_file:
        try:
            loaded = json.loads(Path(json_file).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--input-json {json_file}: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--input-json must hold a JSON object")
        data.update(loaded)
    problems: list[tuple[str, str]] = []
    given: set[str] = set()
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"-i takes key=value, not {pair[:80]!r}")
        spec = schema.field(key) if schema is not None else None
        if key in given and not (spec is not None and spec.type.startswith("array")):
            raise UsageError(
                f"-i {key[:80]} is given twice; only an array input takes one item per -i"
            )
        given.add(key)
        try:
            data[key] = _value(key, value, schema, data.get(key), validate)
        except UsageError as exc:
            raise UsageError(f"-i {key}={exc}") from None
        except InvalidInputError as exc:  # every unreadable value is reported, not the first
            problems.extend(exc.problems)
    if problems:
        assert schema is not None
        raise InvalidInputError(schema.model, problems)
    if schema is not None and validate:
        schema.check(data, command_line=True)
    return data


def _value(key: str, text: str, schema: ModelSchema | None, previous: Any, validate: bool) -> Any:
    if schema is None or schema.field(key) is None:
        return parse_value(text)
    if text.strip().lower() == "null" and schema.required(key) is False:
        return None  # an optional input given as null: not given (the model's default)
    try:
        value = schema.coerce(key, text, previous)
    except ValueError:
        if validate:
            raise
        return parse_value(text)  # --no-validate: as if the model had no document
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, Path):
            parse_value(f"@{item}")  # a file that cannot be read is a usage error
    return value


class Display:
    """Progress on stderr: a live bar on a terminal (the ``cli`` extra), plain lines otherwise.

    The bar advances between polls from :class:`ProgressEstimate` and shows an ETA; it only
    reads the states the wait returned, so it never adds a request.
    """

    def __init__(
        self, stream: TextIO, quiet: bool, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream, self.quiet, self.clock = stream, quiet, clock
        self.started = clock()
        self.estimate = ProgressEstimate()
        self.lock = threading.Lock()  # the bar is drawn from rich's refresh thread
        self.last_line: str | None = None
        self.bar: Any = None
        self.task: Any = None
        if not quiet and stream.isatty():
            try:
                from .livebar import live_bar
            except ImportError:  # the ``cli`` extra is not installed: plain lines
                return
            self.bar, self.task = live_bar(stream, self)

    def shown(self) -> Shown:
        with self.lock:
            return self.estimate.shown(self.clock() - self.started)

    def update(self, prediction: Prediction) -> None:
        if self.quiet:
            return
        elapsed = self.clock() - self.started
        progress = parse_progress(prediction.logs if isinstance(prediction.logs, str) else None)
        with self.lock:
            self.estimate.observe(elapsed, prediction.status, progress)
            remaining = self.estimate.remaining(elapsed)
        step = f"{progress.current}/{progress.total}" if progress and progress.total else ""
        if self.bar is not None:
            label = f"{prediction.id} {prediction.status}"
            self.bar.update(self.task, description=label, step=step)
            return
        percent = progress.percentage * 100 if progress else 0.0
        if prediction.status == PredictionStatus.SUCCEEDED:
            percent = 100.0
        shown = f" {percent:.0f}%" + (f" ({step})" if step else "") if progress else ""
        eta = f", eta {format_eta(remaining)}" if remaining is not None else ""
        bucket = f"{prediction.status}{int(percent // 10)}"
        if bucket != self.last_line:
            self.last_line = bucket
            line = f"{prediction.id}: {prediction.status}{shown}{eta}"
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
    lines.extend(output_lines(prediction.to_dict().get("output")))
    if prediction.data_removed is True:
        lines.append("output:  removed (data is kept about an hour after completion)")
    return "\n".join(lines)


def output_lines(output: object) -> list[str]:
    """File URLs one a line, text as text, anything else (numbers, objects, lists) as JSON."""
    if output is None:
        return []
    if isinstance(output, str):
        return [f"output:  {output}"]
    if isinstance(output, list) and output and len(output_urls(output)) == len(output):
        return [f"output:  {url}" for url in output]
    return ["output:  " + json.dumps(output, indent=2, ensure_ascii=False, default=str)]


def exit_code_for(prediction: Prediction) -> int:
    status = normalize_status(prediction.status)
    failed = (PredictionStatus.FAILED, PredictionStatus.CANCELED, PredictionStatus.ABORTED)
    return EXIT_FAILED if status in failed else EXIT_OK


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--json``, ``--base-url``, ``--quiet``: before or after the command. Only the top
    parser has defaults, so an option given before the command is not reset after it."""
    off: Any = False if top else argparse.SUPPRESS
    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument("--json", action="store_true", default=off, help="print JSON on stdout")
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=None if top else argparse.SUPPRESS,
        help="API base URL (default: $COMETAPI_BASE_URL or https://api.cometapi.com)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=off, help="no progress on stderr"
    )


COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (one-line help, description, examples)
    "get": (
        "show a prediction",
        "Show a prediction's current state once: status, progress, error and output URLs.",
        "cometapi-replicate get ufawqhfynnddngldkgtslldrkq\n"
        "cometapi-replicate get ufawqhfynnddngldkgtslldrkq --json | jq .status",
    ),
    "wait": (
        "wait for a prediction to end",
        "Poll a prediction until it ends, with a progress bar on stderr, then show it.\n"
        "Polls adaptively (rarely while the end is far) unless --interval is given.",
        "cometapi-replicate wait ID\n"
        "cometapi-replicate wait ID --timeout 600 --download out/\n"
        "cometapi-replicate wait ID --interval 2 --json > prediction.json",
    ),
    "create": (
        "create a prediction and print its id",
        "Create a prediction of MODEL with the given inputs and print its id (with --json: the\n"
        "prediction), without waiting: then wait, get or download it by that id.",
        'ID=$(cometapi-replicate create black-forest-labs/flux-schnell -i prompt="a boat")\n'
        'cometapi-replicate wait "$ID" --download out/',
    ),
    "run": (
        "create a prediction and wait",
        "Create a prediction of MODEL with the given inputs, wait for it with a progress bar\n"
        "on stderr, then show it (and save its outputs with --download).",
        'cometapi-replicate run black-forest-labs/flux-schnell -i prompt="a paper boat"\n'
        "cometapi-replicate run owner/model -i image=@photo.png -i steps=30 --download out/\n"
        "cometapi-replicate run owner/model --input-json inputs.json --timeout 300 --json",
    ),
    "inputs": (
        "list a model's inputs",
        "List the inputs of MODEL from its vendored document, in the model's order: name,\n"
        "type, default, allowed values or range, description; then what its output is.\n"
        "Works offline: no key needed.",
        "cometapi-replicate inputs black-forest-labs/flux-schnell\n"
        "cometapi-replicate inputs black-forest-labs/flux-schnell --json | jq '.[].name'",
    ),
    "download": (
        "save a prediction's outputs",
        "Save the output files of a succeeded prediction into DIRECTORY, in output order,\n"
        "named by --name. All files appear once all are complete, or none does; existing\n"
        "files are kept unless --overwrite.",
        "cometapi-replicate download ID out/\n"
        'cometapi-replicate download ID out/ --name "{index}-{stem}{ext}" --overwrite',
    ),
    "sandbox": (
        "serve a local sandbox API on 127.0.0.1",
        "Serve a local CometAPI-compatible sandbox on 127.0.0.1 until Ctrl-C (the sandbox\n"
        "extra: pip install 'cometapi-replicate[sandbox]'). Prints its base URL on stdout.",
        "cometapi-replicate sandbox --port 8000\n"
        "cometapi-replicate sandbox --json   # base_url, files_url and key as JSON\n"
        "cometapi-replicate sandbox --models o/m,o/n --fault server_error:502*2@get",
    ),
}

NAME_HELP = "file names: {id}, {index}, {stem}, {ext} (default: %(default)s)"


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)  # every command's parent
    _global_options(common, top=False)
    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument(
        "--timeout", type=parse_seconds(0), metavar="S", help="give up after S seconds"
    )
    waiting.add_argument(
        "--interval",
        type=parse_seconds(FLOOR),
        metavar="S",
        help="poll every S seconds instead of adaptively",
    )
    waiting.add_argument("--download", metavar="DIR", help="save the outputs into DIR")
    waiting.add_argument("--overwrite", action="store_true", help="replace existing files in DIR")
    waiting.add_argument("--name", default=DEFAULT_NAME, help=NAME_HELP)
    ident = argparse.ArgumentParser(add_help=False)
    ident.add_argument("id", help="the prediction's id, as create or run printed it")

    top = argparse.ArgumentParser(
        prog="cometapi-replicate",
        description="Replicate predictions through CometAPI. Key: export COMETAPI_KEY=...",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"cometapi-replicate {__version__}")
    _global_options(top, top=True)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub: dict[str, argparse.ArgumentParser] = {}
    parents = {"get": [ident], "wait": [ident, waiting], "run": [waiting], "download": [ident]}
    for name, (help_text, description, examples) in COMMANDS.items():
        sub[name] = commands.add_parser(
            name,
            parents=[*parents.get(name, []), common],
            help=help_text,
            description=description,
            epilog=f"examples:\n  {examples.replace(chr(10), chr(10) + '  ')}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    for creating in (sub["create"], sub["run"]):
        creating.add_argument(
            "model", help="the model as owner/name, e.g. black-forest-labs/flux-schnell"
        )
        creating.add_argument(
            "-i",
            "--input",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="an input, repeatable: a JSON literal (4, true), @path for a file, or text",
        )
        creating.add_argument(
            "--input-json", metavar="FILE", help="inputs from a JSON object in FILE"
        )
        creating.add_argument(
            "--no-validate",
            dest="validate",
            action="store_false",
            help="send the input unchecked by the model's vendored document (a live model's "
            "new input)",
        )
    sub["inputs"].add_argument("model", help="the model as owner/name")
    download = sub["download"]
    download.add_argument("directory", help="where to save the files (created if missing)")
    download.add_argument("--overwrite", action="store_true", help="replace existing files")
    download.add_argument("--name", default=DEFAULT_NAME, help=NAME_HELP)
    sandbox = sub["sandbox"]
    sandbox.add_argument("--port", type=parse_port, default=0, help="0 picks a free port")
    sandbox.add_argument(
        "--models",
        type=parse_models,
        metavar="A/B,C/D",
        help="the models it knows; a create of another is a 404 (default: any model)",
    )
    sandbox.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="accept any input, even one a model's vendored document refuses (default: 422)",
    )
    sandbox.add_argument(
        "--fault",
        type=parse_fault_spec,
        action="append",
        default=[],
        metavar="KIND[:ARG][*N][@ON]",
        help="misbehave on the next N requests (default 1) of kind ON (create, get, file, any),"
        " repeatable: e.g. server_error:502*3@get, rate_limit:2@create, hang@get, drop",
    )
    from .batch_command import add_parser as add_batch

    add_batch(commands, common)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; the exit code."""
    # A descriptor closed by the caller (``>&-``, ``2>&-``) is None in Python: write nowhere.
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The Python docs' recipe (signal module, "Note on SIGPIPE"): the reader of stdout has
        # gone (``| head -1``). Point stdout at devnull so the final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # stdout cannot take the output (a full disk: ``>/dev/full``)
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"error: cannot write the output: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return code


def _main(argv: Sequence[str] | None) -> int:
    args = parser().parse_args(argv)
    if args.command == "sandbox":
        if args.base_url:
            print(
                "error: the sandbox serves its own URL; --base-url is for the other commands",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return serve_sandbox(args)
    if args.command == "inputs":
        return show_inputs(args.model, args.json)
    if not os.environ.get("COMETAPI_KEY"):
        print(NO_KEY, file=sys.stderr)
        return EXIT_USAGE
    if args.command == "batch":
        from .batch_command import run_batch

        return run_batch(args)
    # Only a wait has progress to show: get, create and download draw no bar.
    display = Display(sys.stderr, quiet=args.quiet or args.command not in ("wait", "run"))
    try:
        return _predict(args, display)
    finally:
        display.close()  # whatever happened: the bar hid the cursor, this shows it again


def _predict(args: argparse.Namespace, display: Display) -> int:
    """``get``, ``create``, ``wait``, ``run`` or ``download``: the exit code."""
    seen: dict[str, str] = {"id": args.id} if args.command == "wait" else {}

    def on_update(prediction: Prediction) -> None:
        seen["id"] = prediction.id
        display.update(prediction)

    try:
        with sigterm_as_interrupt(), Client(base_url=args.base_url) as client:
            prediction, files = execute(client, args, on_update, display)
    except DownloadFailed as exc:
        message = failure(exc.error, None)[1]
        print(message, file=sys.stderr)
        report(sys.stdout, args.json, exc.prediction, None, error=message.removeprefix("error: "))
        return EXIT_DOWNLOAD
    except (KeyboardInterrupt, CometAPIError, OSError, UsageError, ValueError, TypeError) as exc:
        display.close()
        code, message = failure(exc, seen.get("id"))
        if isinstance(exc, WaitTimeoutError) and exc.prediction is not None:
            report(sys.stdout, args.json, exc.prediction, None)  # the last state seen
        print(message, file=sys.stderr)
        return code
    if args.command == "create" and prediction is not None and not args.json:
        print(prediction.id)  # for ID=$(cometapi-replicate create ...)
        return EXIT_OK
    report(sys.stdout, args.json, prediction, files)
    return exit_code_for(prediction) if prediction is not None else EXIT_OK


def execute(
    client: Client,
    args: argparse.Namespace,
    on_update: Callable[[Prediction], None],
    display: Display,
) -> tuple[Prediction | None, list[Path] | None]:
    """Carry out ``get``, ``create``, ``download``, ``wait`` or ``run``."""
    if args.command == "get":
        return client.predictions.get(args.id), None
    if args.command == "create":
        model_input = _input(args)
        return client.predictions.create(args.model, model_input, validate=args.validate), None
    check_name_template(args.name)  # before anything is created or fetched
    if args.command == "download":
        return None, save(client, client.predictions.get(args.id), args.directory, args)
    if args.command == "wait":
        start: Prediction | str = args.id
    else:
        start = client.predictions.create(args.model, _input(args), validate=args.validate)
        on_update(start)
    prediction = client.predictions.wait(
        start, timeout=args.timeout, poll_interval=args.interval, on_update=on_update
    )
    display.close()
    files = None
    if args.download and exit_code_for(prediction) == EXIT_OK:
        files = save(client, prediction, args.download, args)
    return prediction, files


def _input(args: argparse.Namespace) -> dict[str, Any]:
    """The input of ``create`` or ``run``, read by the model's document when it has one."""
    schema = model_schema(args.model)
    return build_input(args.input, args.input_json, schema, validate=args.validate)


ADD_MODEL = (
    "add its document in a checkout of the SDK: make add-model SCHEMA=<the model's OpenAPI "
    "document or its model JSON, a path or URL> (MODEL=owner/name if the document does not "
    "name it); an editable install of that checkout (make install) sees it at once, any "
    "other installation once the SDK is rebuilt from it and reinstalled; without a document, "
    "its input is sent unchecked"
)


def show_inputs(model: str, as_json: bool) -> int:
    """The ``inputs`` command: the exit code."""
    try:
        schema = model_schema(model)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if schema is None:
        known = ", ".join(vendored_models()) or "none"
        print(
            f"error: {model} has no vendored document, so its inputs are unknown to the SDK; "
            f"{ADD_MODEL}. Models with one: {known}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if as_json:
        rows = [
            {
                "name": f.name,
                "type": f.type,
                "required": f.required,
                "default": None if f.default is MISSING else f.default,
                "choices": list(f.choices) if f.choices is not None else None,
                "minimum": f.minimum,
                "maximum": f.maximum,
                "description": f.description,
            }
            for f in schema.fields
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return EXIT_OK
    print(f"{schema.model}: {len(schema.fields)} input(s), in the model's order")
    for f in schema.fields:
        facts = [f.type, "required" if f.required else ""]
        if f.default is not MISSING and f.default is not None:
            facts.append(f"default {json.dumps(f.default, ensure_ascii=False, default=str)}")
        print(f"\n{f.name}  ({', '.join(x for x in facts if x)})")
        if f.allowed:
            print(f"    {'one of' if f.choices is not None else 'range'}: {f.allowed}")
        if f.description:
            print(f"    {f.description}")
    output = schema.output()
    kind = "streamed text (joined by output_text)" if output.streamed_text else output.type
    print(f"\noutput: {kind}")
    return EXIT_OK


def save(client: Client, prediction: Prediction, directory: str, args: Any) -> list[Path]:
    """The download step. Once the prediction has succeeded, its failures are
    :class:`DownloadFailed`; an output with no files (text, JSON) saves nothing."""
    if normalize_status(prediction.status) is not PredictionStatus.SUCCEEDED:
        return client.predictions.download(prediction, directory)  # raises: not succeeded
    if prediction.data_removed is not True and not output_urls(prediction):
        print(f"{prediction.id}: the output has no files to save", file=sys.stderr)
        return []
    try:
        return client.predictions.download(
            prediction, directory, overwrite=args.overwrite, name=args.name
        )
    except (CometAPIError, OSError) as exc:
        raise DownloadFailed(prediction, exc) from exc


def failure(exc: BaseException, prediction_id: str | None) -> tuple[int, str]:
    """The exit code and the one line to print for an error."""
    if isinstance(exc, KeyboardInterrupt):
        resume = f"; resume with: cometapi-replicate wait {prediction_id}" if prediction_id else ""
        stopped = isinstance(exc, Terminated)
        code = EXIT_TERMINATED if stopped else EXIT_INTERRUPTED
        return code, f"{'terminated' if stopped else 'interrupted'}{resume}"
    if isinstance(exc, WaitTimeoutError):
        return EXIT_TIMEOUT, f"timed out: {exc}"
    if isinstance(exc, FileExistsError):
        return EXIT_ERROR, f"error: {exc.filename} exists; pass --overwrite to replace it"
    if isinstance(exc, UsageError | ValueError | TypeError):
        return EXIT_USAGE, f"error: {exc}"
    if isinstance(exc, PredictionError):
        return EXIT_FAILED, f"error: {exc}"
    if isinstance(exc, OSError) and exc.filename and exc.strerror:  # not "[Errno 20] ..."
        return EXIT_ERROR, f"error: {exc.filename}: {exc.strerror}"
    return EXIT_ERROR, f"error: {exc}"


def report(
    out: TextIO,
    as_json: bool,
    prediction: Prediction | None,
    files: list[Path] | None,
    *,
    error: str | None = None,
) -> None:
    paths = [str(p) for p in files] if files is not None else None
    if as_json:
        if prediction is None:
            payload: Any = paths
        elif error is not None:
            payload = {"prediction": prediction.to_dict(), "files": None, "error": error}
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


def serve_sandbox(args: argparse.Namespace) -> int:
    port, as_json, quiet = args.port, args.json, args.quiet
    try:
        from ..testing import Sandbox, SandboxServer

        server = SandboxServer(
            Sandbox(models=args.models, validate_inputs=args.validate), port=port
        )
    except ImportError:
        print(
            "error: the sandbox needs the 'sandbox' extra: "
            "pip install 'cometapi-replicate[sandbox]'",
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        server.start()
    except OSError as exc:
        taken = exc.errno == errno.EADDRINUSE
        reason = "in use by another program; --port 0 picks a free one" if taken else exc.strerror
        print(f"error: cannot serve on 127.0.0.1:{port}: {reason or exc}", file=sys.stderr)
        return EXIT_ERROR
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    sandbox = server.sandbox
    for fault, times, on in args.fault:
        sandbox.inject(fault, times=times, on=on)
    if as_json:
        print(
            json.dumps(
                {"base_url": sandbox.api_url, "files_url": sandbox.files_url, "key": sandbox.key}
            ),
            flush=True,
        )
    else:
        print(sandbox.api_url, flush=True)
    if not (as_json or quiet):
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
