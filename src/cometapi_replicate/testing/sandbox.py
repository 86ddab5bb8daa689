"""A CometAPI-compatible fake of the Replicate prediction API, with predictions that live in time.

``Sandbox.handle`` answers one request (no I/O); ``transport()`` serves it in-process to httpx,
and ``server.SandboxServer`` serves it over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from .._model_inputs import ModelSchema
from .._models import model_schema
from .png import make_png, padded_png

__all__ = ["OUTCOMES", "SANDBOX_KEY", "Fault", "Reply", "Sandbox", "parse_fault"]

SANDBOX_KEY = "sk-sandbox-0000000000000000"
"""The key the sandbox accepts unless told otherwise. Not a secret."""
OUTCOMES = ("succeeded", "failed", "canceled", "aborted")
IN_PROCESS_API = "https://api.sandbox.invalid"
IN_PROCESS_FILES = "https://files.sandbox.invalid"

_CREATE = re.compile(r"^/replicate/v1/models/([A-Za-z0-9._-]+)/([A-Za-z0-9._-]+)/predictions$")
_GET = re.compile(r"^/replicate/v1/predictions/([A-Za-z0-9]+)$")
_FILE = re.compile(r"^/files/([A-Za-z0-9]+)/out-(\d+)\.png$")
ADMIN_PREFIX = "/sandbox/v1/"
STATS_PATH = "/sandbox/v1/stats"
FAULTS_PATH = "/sandbox/v1/faults"
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_FILE_REF = re.compile(r"^\$file(\d+)$")
REPLICATE_API = "https://api.replicate.com/v1"
REPLICATE_STREAM = "https://stream.replicate.com/v1"
"""Where the real API's ``urls`` point (Replicate's hosts): a client must never follow them."""
MAX_OUTPUT_BYTES = 1 << 30
MAX_TIMES = 1_000_000
"""The most requests one injected fault may cover."""
MAX_DEPTH = 10_000_000
"""The deepest ``Fault.nested`` body."""

Target = Literal["create", "get", "file", "any"]
EchoPlace = Literal["body", "header", "status", "error"]


class _BadArgument(ValueError):
    """A fault's argument out of its range."""


def _seconds(value: float) -> float:
    if not 0 <= value < math.inf:  # NaN fails every comparison
        raise _BadArgument(f"seconds are finite and 0 or more, not {value!r}")
    return value


def _status(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise _BadArgument(f"the status is {low}-{high}, not {value!r}")
    return value


@dataclass(frozen=True)
class Fault:
    """A misbehaviour for the next matching request(s); build one with the class methods
    (an argument out of its range is a :class:`ValueError`)."""

    kind: Literal[
        "status", "html", "slow", "hang", "drop", "truncate", "drip", "nested", "echo", "id"
    ]
    status: int = 200
    seconds: float = 0.0
    retry_after: float | None = None
    depth: int = 0
    place: EchoPlace = "body"
    escaped: bool = False
    id: bytes = b""

    @classmethod
    def server_error(cls, status: int = 502) -> Fault:
        """A 5xx with CometAPI's error envelope."""
        return cls("status", status=_status(status, 500, 599))

    @classmethod
    def rate_limit(cls, retry_after: float = 1.0) -> Fault:
        """A 429 with ``Retry-After`` (seconds, finite and 0 or more)."""
        return cls("status", status=429, retry_after=_seconds(retry_after))

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """An HTML error page (a 4xx or 5xx), as a proxy in front of the API sends."""
        return cls("html", status=_status(status, 400, 599))

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """The normal answer, ``seconds`` (finite, 0 or more) late."""
        return cls("slow", seconds=_seconds(seconds))

    @classmethod
    def hang(cls) -> Fault:
        """No answer at all (the client's timeout must end it)."""
        return cls("hang")

    @classmethod
    def drop(cls) -> Fault:
        """The connection closes after the response headers."""
        return cls("drop")

    @classmethod
    def truncate(cls) -> Fault:
        """The body stops halfway through its announced length."""
        return cls("truncate")

    @classmethod
    def drip(cls, seconds: float = 1.0) -> Fault:
        """The normal answer, its body sent one byte every ``seconds`` (over real sockets;
        in process, the whole body arrives after ``seconds`` per byte)."""
        return cls("drip", seconds=_seconds(seconds))

    @classmethod
    def nested(cls, depth: int = 100_000, status: int = 200) -> Fault:
        """A JSON body of lists nested ``depth`` deep (1 to ``MAX_DEPTH``), with ``status``
        (200-599)."""
        if not 1 <= depth <= MAX_DEPTH:
            raise _BadArgument(f"the depth is 1-{MAX_DEPTH}, not {depth!r}")
        return cls("nested", status=_status(status, 200, 599), depth=depth)

    @classmethod
    def echo(cls, place: EchoPlace, *, escaped: bool = False) -> Fault:
        """The request's key sent back: in a 401 error ``body``, in the headers of a 401
        (``WWW-Authenticate``, ``Location``), as the prediction's ``status``, or as the
        ``error`` of a failed prediction; ``escaped``: as JSON ``\\uXXXX`` escapes."""
        return cls("echo", place=place, escaped=escaped)

    @classmethod
    def wrong_id(cls, prediction_id: str | bytes = "someoneelses0prediction00") -> Fault:
        """The prediction answered with another id (a proxy's cache or routing fault): a
        ``str``, or raw ``bytes`` put between the quotes as they are (``b"\\xc0\\xaf"``: not
        UTF-8)."""
        raw = prediction_id if isinstance(prediction_id, bytes) else prediction_id.encode()
        return cls("id", id=raw)


_FAULT_ARGS: dict[str, Callable[[str], Any] | None] = {
    "server_error": int,
    "rate_limit": float,
    "html": int,
    "slow": float,
    "hang": None,
    "drop": None,
    "truncate": None,
    "drip": float,
    "nested": int,
    "echo": lambda place: place if place in ("body", "header", "status", "error") else None,
    "wrong_id": str,
}
_TARGETS: dict[str, Target] = {"create": "create", "get": "get", "file": "file", "any": "any"}


def parse_fault(spec: str) -> tuple[Fault, int, Target]:
    """``KIND[:ARG][*TIMES][@ON]`` (``rate_limit:2*3@get``: a 429 with ``Retry-After: 2`` on
    the next 3 GETs) as the arguments of :meth:`Sandbox.inject`: ``KIND`` is a :class:`Fault`
    class method, ``ARG`` its first argument (in its range); ``TIMES`` (1 to ``MAX_TIMES``)
    defaults to 1, ``ON`` to ``any``. Anything else is a :class:`ValueError`."""
    text, at, on = spec.strip().partition("@")
    text, star, times_text = text.partition("*")
    kind, colon, arg = text.partition(":")
    try:
        times = int(times_text) if star else 1
        target = _TARGETS[on if at else "any"]
        convert = _FAULT_ARGS[kind]
        if not 1 <= times <= MAX_TIMES or (colon and convert is None):
            raise ValueError
        value = convert(arg) if colon and convert is not None else None
        factory = getattr(Fault, kind)
        fault: Fault = factory() if value is None else factory(value)
    except (KeyError, TypeError, ValueError) as exc:
        reason = f" ({exc})" if isinstance(exc, _BadArgument) else ""
        raise ValueError(
            f"a fault is KIND[:ARG][*TIMES][@ON], KIND one of {', '.join(_FAULT_ARGS)}, "
            f"TIMES at least 1 and at most {MAX_TIMES}, ON one of {', '.join(_TARGETS)}; "
            f"not {spec!r}{reason}"
        ) from None
    return fault, times, target


@dataclass
class _Pending:
    """An injected fault and how many more requests of kind ``on`` it answers."""

    on: Target
    fault: Fault
    times: int


@dataclass(frozen=True)
class Reply:
    """One response: what to send, and how to misbehave while sending it."""

    status: int
    headers: dict[str, str]
    body: bytes
    fault: Fault | None = None


@dataclass
class _Prediction:
    id: str
    model: str
    input: dict[str, Any]
    created: float
    created_wall: float
    queue: float
    run: float
    outcome: str
    steps: int
    outputs: int
    progress: bool = True
    output: Any = None
    """The ``sandbox_output`` template, or ``None`` for a list of the PNG files."""
    output_bytes: int = 0
    null_output: bool = False
    """``sandbox_output`` was ``null``: the model succeeds with no output at all."""
    output_lag: int = 0
    """Polls still to answer ``succeeded`` with ``output: null`` before the output shows."""


@dataclass
class Sandbox:
    """The fake API's state and behaviour.

    Timing and outcome for new predictions come from these attributes, or per request from
    the input keys ``sandbox_queue``, ``sandbox_run``, ``sandbox_outcome``, ``sandbox_steps``,
    ``sandbox_progress`` (``false``: logs without tqdm lines), ``sandbox_output_bytes`` (each
    output PNG padded to that size) and ``sandbox_output_lag`` (the first that many polls that
    see it succeeded get ``output: null``, as from a proxy whose copy of the output lags);
    ``num_outputs`` sets the number of images. Defaults: 1 s
    starting, 3 s processing in 20 tqdm steps, then succeeded with one 64x64 PNG.

    ``create_rate`` (creates per second, bursts of ``create_burst``) limits creates like a
    real account: beyond it the create is refused with 429 and ``Retry-After``. ``creates``
    counts the creates of each distinct input, so a test can prove nothing was created twice.

    The input ``sandbox_output`` sets the output to any JSON value, in which a string
    ``"$file0"``, ``"$file1"``... becomes the URL of a PNG file; ``null``: no output at all.
    """

    key: str = SANDBOX_KEY
    queue: float = 1.0
    run: float = 3.0
    outcome: str = "succeeded"
    steps: int = 20
    outputs: int = 1
    progress: bool = True
    """Whether processing writes tqdm progress lines to ``logs``."""
    output_bytes: int = 0
    """Size of each output file: the PNG is padded to it (0: the plain 64x64 image)."""
    removal: float = 3600.0
    """Seconds after completion when the output is removed (``data_removed``)."""
    clock: Callable[[], float] = time.monotonic
    api_url: str = IN_PROCESS_API
    files_url: str = IN_PROCESS_FILES
    create_rate: float | None = None
    create_burst: int = 1
    models: Collection[str] | None = None
    """The models it knows (``owner/name``); a create of another is a 404. ``None``: any."""
    validate_inputs: bool = True
    """Whether a create of a model with a vendored document has its input checked against it,
    as CometAPI checks it: a 422 naming the field otherwise (``sandbox_...`` controls aside)."""
    schemas: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    """Per model (``owner/name``), the ``components.schemas`` to check its input against in
    place of the vendored document's (a newer document of the live model, say); ``None``: that
    model's input is not checked."""
    requests: list[tuple[str, str]] = field(default_factory=list, init=False, repr=False)
    """``(method, url)`` of every request served but its own admin routes, for assertions."""
    creates: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    """Predictions created per input (the input as canonical JSON)."""
    rate_limited: int = field(default=0, init=False)
    """Creates refused by ``create_rate`` with 429."""
    _predictions: dict[str, _Prediction] = field(default_factory=dict, init=False, repr=False)
    _faults: list[_Pending] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _tokens: float | None = field(default=None, init=False, repr=False)
    _refilled: float = field(default=0.0, init=False, repr=False)

    @staticmethod
    def input_key(model_input: Mapping[str, Any]) -> str:
        """How ``creates`` names an input: canonical JSON."""
        return json.dumps(model_input, sort_keys=True, separators=(",", ":"))

    def stats(self) -> dict[str, Any]:
        """Counts for a test or a benchmark (also served at ``GET /sandbox/v1/stats``)."""
        with self._lock:
            return self._stats()

    def _stats(self) -> dict[str, Any]:
        kinds: Counter[str] = Counter()
        for method, url in self.requests:
            files = url.startswith(self.files_url)
            kinds["create" if method == "POST" else "file" if files else "get"] += 1
        return {
            "requests": dict(kinds),
            "predictions": len(self._predictions),
            "rate_limited": self.rate_limited,
            "inputs": len(self.creates),
            "max_creates_per_input": max(self.creates.values(), default=0),
        }

    def inject(self, fault: Fault, *, times: int = 1, on: Target = "any") -> None:
        """Misbehave on the next ``times`` requests of kind ``on``."""
        with self._lock:
            self._inject(fault, times, on)

    def _inject(self, fault: Fault, times: int, on: Target) -> None:
        if times > 0:
            self._faults.append(_Pending(on, fault, times))

    def transport(self) -> httpx.MockTransport:
        """An in-process httpx transport (sync and async) serving the API and the files."""
        return httpx.MockTransport(self._mock_handler)

    def client_kwargs(self) -> dict[str, Any]:
        """``api_key`` and ``base_url`` for a Client talking to this sandbox."""
        return {"api_key": self.key, "base_url": self.api_url}

    # -- requests ---------------------------------------------------------------------------

    def handle(
        self, origin: str, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        """Answer one request; ``origin`` is ``"api"`` or ``"files"``."""
        with self._lock:
            if origin == "api" and path.startswith(ADMIN_PREFIX):
                return self._admin(method, path, headers, body)  # not counted, never faulted
            base = self.api_url if origin == "api" else self.files_url
            self.requests.append((method, base + path))
            kind: Target = "file" if origin == "files" else "create" if method == "POST" else "get"
            fault = self._take_fault(kind)
            if fault is not None and fault.kind in ("status", "html", "nested"):
                return _fault_reply(fault)
            reply = (
                self._files(method, path)
                if origin == "files"
                else self._api(method, path, headers, body)
            )
        if fault is not None and fault.kind == "echo":
            return _echo(fault, headers.get("authorization", "").removeprefix("Bearer "), reply)
        if fault is not None and fault.kind == "id":
            return _with_id(reply, fault.id)
        if fault is not None:
            return Reply(reply.status, reply.headers, reply.body, fault)
        return reply

    def _take_fault(self, kind: Target) -> Fault | None:
        for index, pending in enumerate(self._faults):
            if pending.on in (kind, "any"):
                pending.times -= 1
                if not pending.times:
                    del self._faults[index]
                return pending.fault
        return None

    def _api(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        if headers.get("authorization") != f"Bearer {self.key}":
            return _error(401, "Invalid token", "invalid_api_key")
        if method == "POST" and (match := _CREATE.match(path)):
            wait = self._throttle()
            if wait is not None:
                self.rate_limited += 1
                return _error(429, "Request was throttled", "", **{"retry-after": f"{wait:.3f}"})
            return self._create(f"{match[1]}/{match[2]}", body)
        if method == "GET" and (match := _GET.match(path)):
            prediction = self._predictions.get(match[1])
            if prediction is None:
                return _error(404, "Prediction not found", "")
            view = self.view(prediction)
            if view["status"] == "succeeded" and prediction.output_lag > 0:
                prediction.output_lag -= 1
                view["output"] = None
            return _json(200, view)
        return _error(404, f"No route for {method} {path}", "")

    def _admin(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """``GET /sandbox/v1/stats``; ``POST /sandbox/v1/faults`` with ``{"fault": SPEC}``
        (see :func:`parse_fault`), ``DELETE`` to drop the pending ones. Bearer key required."""
        if headers.get("authorization") != f"Bearer {self.key}":
            return _error(401, "Invalid token", "invalid_api_key")
        if method == "GET" and path == STATS_PATH:
            return _json(200, self._stats())
        if method == "DELETE" and path == FAULTS_PATH:
            self._faults.clear()
            return _json(200, {"pending": 0})
        if method == "POST" and path == FAULTS_PATH:
            try:
                spec = json.loads(body)["fault"]
            except (ValueError, KeyError, TypeError, RecursionError):
                spec = None
            if not isinstance(spec, str):
                return _error(400, 'The body must be {"fault": "KIND..."}', "invalid_request")
            try:
                fault, times, on = parse_fault(spec)
            except ValueError as exc:
                return _error(400, str(exc), "invalid_request")
            self._inject(fault, times, on)
            return _json(200, {"pending": sum(p.times for p in self._faults)})
        return _error(404, f"No route for {method} {path}", "")

    def _throttle(self) -> float | None:
        """``None`` when a create may go ahead (taking a token), else seconds until it may."""
        if self.create_rate is None:
            return None
        now = self.clock()
        if self._tokens is None:
            self._tokens, self._refilled = float(self.create_burst), now
        self._tokens = min(
            float(self.create_burst), self._tokens + (now - self._refilled) * self.create_rate
        )
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.create_rate

    def _create(self, model: str, body: bytes) -> Reply:
        if self.models is not None and model not in self.models:
            return _error(404, f"Model {model} not found", "model_not_found")
        try:
            payload = json.loads(body)
            given = payload["input"]
            if not isinstance(given, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(400, 'The body must be {"input": {...}}', "invalid_request")
        refused = self._refused(model, given)
        if refused is not None:
            return refused
        try:
            outcome = str(given.get("sandbox_outcome", self.outcome))
            if outcome not in OUTCOMES:
                raise ValueError(f"sandbox_outcome must be one of {', '.join(OUTCOMES)}")
            queue = float(given.get("sandbox_queue", self.queue))
            run = float(given.get("sandbox_run", self.run))
            steps = int(given.get("sandbox_steps", self.steps))
            outputs = int(given.get("num_outputs", self.outputs))
            progress = given.get("sandbox_progress", self.progress)
            output_bytes = int(given.get("sandbox_output_bytes", self.output_bytes))
            output_lag = int(given.get("sandbox_output_lag", 0))
            if min(queue, run) < 0 or steps < 1 or not 1 <= outputs <= 16:
                raise ValueError(
                    "sandbox_queue and sandbox_run >= 0, sandbox_steps >= 1, num_outputs 1-16"
                )
            template = given.get("sandbox_output")
            if template is not None:
                outputs = 1 + max(_file_refs(template), default=-1)
                if outputs > 16:
                    raise ValueError("sandbox_output refers to $file0 to $file15 at most")
            if not isinstance(progress, bool) or not 0 <= output_bytes <= MAX_OUTPUT_BYTES:
                raise ValueError(
                    f"sandbox_progress is true or false, sandbox_output_bytes 0-{MAX_OUTPUT_BYTES}"
                )
            if output_lag < 0:
                raise ValueError("sandbox_output_lag is 0 or more polls")
        except (TypeError, ValueError, ArithmeticError) as exc:
            return _error(400, str(exc)[:200] or type(exc).__name__, "invalid_request")
        prediction = _Prediction(
            id="".join(secrets.choice(_ID_ALPHABET) for _ in range(26)),
            model=model,
            input=given,
            created=self.clock(),
            created_wall=time.time(),
            queue=queue,
            run=run,
            outcome=outcome,
            steps=steps,
            outputs=outputs,
            progress=progress,
            output=template,
            output_bytes=output_bytes,
            null_output="sandbox_output" in given and template is None,
            output_lag=output_lag,
        )
        self._predictions[prediction.id] = prediction
        self.creates[self.input_key(given)] += 1
        return _json(200, self.view(prediction))

    def _refused(self, model: str, given: dict[str, Any]) -> Reply | None:
        """The 422 for an input the model's document refuses, or ``None``."""
        if not self.validate_inputs:
            return None
        if model in self.schemas:
            schemas = self.schemas[model]
            schema = ModelSchema(model, schemas) if schemas is not None else None
        else:
            try:
                schema = model_schema(model)
            except ValueError:
                return None
        try:
            problems = schema.problems(given) if schema is not None else []
        except Exception:  # a hostile body is refused, never a 500
            problems = [("", "could not be checked")]
        if not problems:
            return None
        detail = "; ".join(f"input.{field}: {problem}" for field, problem in problems)
        return _error(
            422, f"Input validation failed: {detail}", "invalid_input", param=problems[0][0]
        )

    def _files(self, method: str, path: str) -> Reply:
        match = _FILE.match(path)
        prediction = self._predictions.get(match[1]) if match else None
        if (
            method != "GET"
            or match is None
            or prediction is None
            or int(match[2]) >= prediction.outputs
        ):
            return Reply(404, {"content-type": "text/plain"}, b"not found")
        if self._phase(prediction)[0] != "succeeded" or self._removed(prediction):
            return Reply(404, {"content-type": "text/plain"}, b"not found")
        image = (
            padded_png(prediction.output_bytes)
            if prediction.output_bytes
            else make_png(hash((prediction.id, int(match[2]))) & 0xFFFF)
        )
        return Reply(200, {"content-type": "image/png", "content-length": str(len(image))}, image)

    # -- the prediction's state over time ---------------------------------------------------

    def _phase(self, p: _Prediction) -> tuple[str, float]:
        """(status, seconds of processing so far)."""
        age = self.clock() - p.created
        if p.outcome == "aborted":
            return ("aborted" if age >= p.queue else "starting"), 0.0
        if age < p.queue:
            return "starting", 0.0
        if age < p.queue + p.run:
            return "processing", age - p.queue
        return p.outcome, p.run

    def _removed(self, p: _Prediction) -> bool:
        return self.clock() - p.created >= p.queue + p.run + self.removal

    def view(self, p: _Prediction) -> dict[str, Any]:
        """The prediction as the API returns it now."""
        status, ran = self._phase(p)
        done = status in OUTCOMES
        removed = done and self._removed(p)
        api = f"{REPLICATE_API}/predictions/{p.id}"
        body: dict[str, Any] = {
            "id": p.id,
            "model": p.model,
            "version": "hidden",
            "input": p.input,
            "logs": _tqdm_logs(ran, p.run, p.steps, p.progress) if status != "aborted" else "",
            "output": None,
            "data_removed": removed,
            "error": None,
            "status": status,
            "created_at": _iso(p.created_wall),
            "started_at": _iso(p.created_wall + p.queue)
            if status not in ("starting", "aborted")
            else None,
            "completed_at": _iso(p.created_wall + p.queue + p.run) if done else None,
            "urls": {
                "get": api,
                "cancel": f"{api}/cancel",
                "stream": f"{REPLICATE_STREAM}/files/{p.id}",
                "web": f"https://replicate.com/p/{p.id}",
            },
        }
        if status == "succeeded":
            body["metrics"] = {"image_count": p.outputs, "predict_time": round(p.run, 3)}
            if not removed and not p.null_output:
                files = [f"{self.files_url}/files/{p.id}/out-{i}.png" for i in range(p.outputs)]
                body["output"] = files if p.output is None else _fill_files(p.output, files)
        elif status == "failed":
            body["error"] = "The model raised an error: CUDA out of memory (sandbox)"
        return body

    def _mock_handler(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = "files" if f"{url.scheme}://{url.netloc.decode()}" == self.files_url else "api"
        reply = self.handle(origin, request.method, url.path, request.headers, request.read())
        fault = reply.fault
        if fault is not None:
            if fault.kind in ("slow", "drip"):
                time.sleep(fault.seconds * (len(reply.body) if fault.kind == "drip" else 1))
            elif fault.kind == "hang":
                raise httpx.ReadTimeout("the sandbox never answered", request=request)
            elif fault.kind == "drop":
                raise httpx.RemoteProtocolError(
                    "the sandbox dropped the connection", request=request
                )
            elif fault.kind == "truncate":
                return httpx.Response(
                    reply.status, headers=reply.headers, content=reply.body[: len(reply.body) // 2]
                )
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)


def _file_refs(value: Any) -> list[int]:
    if isinstance(value, str):
        match = _FILE_REF.match(value)
        return [int(match[1])] if match else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [n for item in value for n in _file_refs(item)]
    return []


def _fill_files(value: Any, files: list[str]) -> Any:
    """``value`` with each ``"$fileN"`` replaced by the URL of file N."""
    if isinstance(value, str):
        match = _FILE_REF.match(value)
        return files[int(match[1])] if match else value
    if isinstance(value, dict):
        return {key: _fill_files(item, files) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill_files(item, files) for item in value]
    return value


def _tqdm_logs(ran: float, run: float, steps: int, progress: bool = True) -> str:
    if ran <= 0:
        return ""
    if not progress:
        return "Loading model weights (sandbox)\nworking\n"
    done = steps if ran >= run else min(steps, math.floor(ran / run * steps))
    lines = ["Loading model weights (sandbox)"]
    for current in range(done + 1):
        pct = 100 * current // steps
        bar = ("#" * (pct // 10)).ljust(10)
        elapsed = run * current / steps
        rate = steps / run if run else 0.0
        lines.append(
            f"{pct:3d}%|{bar}| {current}/{steps} "
            f"[{_mmss(elapsed)}<{_mmss(run - elapsed)}, {rate:.2f}it/s]"
        )
    return "\n".join(lines) + "\n"


def _mmss(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(status: int, body: object, **headers: str) -> Reply:
    return Reply(status, {"content-type": "application/json", **headers}, json.dumps(body).encode())


def _error(status: int, message: str, code: str, param: str = "", **headers: str) -> Reply:
    request_id = secrets.token_hex(8)
    envelope = {
        "error": {
            "message": f"{message} (request id: {request_id})",
            "type": "comet_api_error",
            "param": param,
            "code": code,
        }
    }
    return _json(status, envelope, **{"x-request-id": request_id, **headers})


def _fault_reply(fault: Fault) -> Reply:
    if fault.kind == "nested":
        body = b"[" * fault.depth + b"]" * fault.depth
        return Reply(fault.status, {"content-type": "application/json"}, body)
    if fault.kind == "html":
        title = f"{fault.status} Bad Gateway"
        page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return Reply(fault.status, {"content-type": "text/html"}, page.encode())
    extra = {"retry-after": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    message = "Too many requests" if fault.status == 429 else "Upstream error"
    return _error(fault.status, message, "", **extra)


_ECHO = "__sandbox_echo__"


def _echo(fault: Fault, key: str, reply: Reply) -> Reply:
    """``reply`` (or a 401) with ``key`` sent back where ``fault.place`` says."""
    form = "".join(f"\\u{ord(c):04x}" for c in key) if fault.escaped else key
    if fault.place == "header":
        headers = {
            "www-authenticate": f'Bearer error="invalid_token", token="{form}"',
            "location": f"https://login.example.invalid/?key={form}",
        }
        return _error(401, "Invalid token", "invalid_api_key", **headers)
    if fault.place == "body":
        envelope = {"error": {"message": f"Invalid token {_ECHO}", "code": "invalid_api_key"}}
        return Reply(401, {"content-type": "application/json"}, _fill(envelope, form))
    if reply.status != 200:
        return reply
    view = json.loads(reply.body)
    view.update(
        {"status": "failed", "error": f"bad key {_ECHO}"}
        if fault.place == "error"
        else {"status": _ECHO}
    )
    return Reply(200, reply.headers, _fill(view, form))


def _with_id(reply: Reply, raw: bytes) -> Reply:
    """``reply`` (a prediction) with ``raw`` in place of its id, byte for byte."""
    if reply.status != 200:
        return reply
    view = json.loads(reply.body)
    view["id"] = _ECHO
    body = json.dumps(view).encode().replace(_ECHO.encode(), raw)
    return Reply(200, reply.headers, body)


def _fill(body: object, form: str) -> bytes:
    return json.dumps(body).replace(_ECHO, form.replace('"', '\\"')).encode()
