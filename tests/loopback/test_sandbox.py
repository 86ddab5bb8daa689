"""The sandbox: the contract it serves (upstream schemas), its timeline, auth and faults."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from cometapi_replicate import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    Clock,
    InternalServerError,
    NotFoundError,
    PredictionCanceledError,
    PredictionFailedError,
    RateLimitError,
    ResponseValidationError,
    parse_progress,
)
from cometapi_replicate.testing import (
    OUTCOMES,
    SANDBOX_KEY,
    Fault,
    Sandbox,
    SandboxServer,
    parse_fault,
)
from tools.generate import ROOT, load_yaml

from ..conftest import FakeClock


def open_strings(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without the ``enum`` of its properties: the SDK takes every string of a
    prediction as open (the overlay drops any enum upstream adds), and the sandbox serves
    statuses Replicate uses whether or not a document lists them (``aborted``)."""
    properties = {
        name: {k: v for k, v in prop.items() if k != "enum"}
        for name, prop in schema.get("properties", {}).items()
    }
    return {**schema, "properties": properties}


QUERY = load_yaml(ROOT / "openapi" / "replicate-query.openapi.yaml")
CREATE = load_yaml(ROOT / "openapi" / "create-predictions.openapi.yaml")
QUERY_SCHEMA = open_strings(
    QUERY["paths"]["/replicate/v1/predictions/{id}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
)
CREATE_SCHEMA = open_strings(
    CREATE["paths"]["/replicate/v1/models/{models}/predictions"]["post"]["responses"]["200"][
        "content"
    ]["application/json"]["schema"]
)
ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {k: {"type": "string"} for k in ("message", "type", "param", "code")},
        }
    },
}


def raw(
    sandbox: Sandbox, method: str, path: str, body: Any = None, key: str | None = SANDBOX_KEY
) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(transport=sandbox.transport(), base_url=sandbox.api_url) as http:
        return http.request(method, path, json=body, headers=headers)


def test_validators_reject_a_wrong_body() -> None:
    assert not Draft202012Validator(QUERY_SCHEMA).is_valid({"id": "x", "status": "succeeded"})
    assert not Draft202012Validator(ENVELOPE_SCHEMA).is_valid({"detail": "x"})


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_body_validates_against_the_upstream_schemas(outcome: str) -> None:
    clock = FakeClock()
    sandbox = Sandbox(queue=1.0, run=4.0, outcome=outcome, clock=clock, removal=60)
    created = raw(
        sandbox,
        "POST",
        "/replicate/v1/models/black-forest-labs/flux-schnell/predictions",
        {"input": {"prompt": "x"}},
    )
    assert created.status_code == 200
    Draft202012Validator(CREATE_SCHEMA).validate(created.json())
    Draft202012Validator(QUERY_SCHEMA).validate(created.json())
    seen = set()
    for t in (0.5, 1.5, 3.0, 5.5, 70.0):
        clock.now = t
        body = raw(sandbox, "GET", f"/replicate/v1/predictions/{created.json()['id']}").json()
        Draft202012Validator(QUERY_SCHEMA).validate(body)
        seen.add(body["status"])
    expected = (
        {"starting", outcome} if outcome == "aborted" else {"starting", "processing", outcome}
    )
    assert seen == expected
    if outcome == "succeeded":
        assert body["data_removed"] is True and body["output"] is None


def test_errors_use_cometapis_envelope() -> None:
    sandbox = Sandbox()
    for response in (
        raw(sandbox, "GET", "/replicate/v1/predictions/abc", key=None),
        raw(sandbox, "GET", "/replicate/v1/predictions/abc", key="wrong"),
        raw(sandbox, "GET", "/replicate/v1/predictions/abc"),
        raw(sandbox, "POST", "/replicate/v1/models/o/m/predictions", {"prompt": "no input"}),
    ):
        assert response.status_code in (400, 401, 404)
        Draft202012Validator(ENVELOPE_SCHEMA).validate(response.json())


def test_a_prediction_lives_in_time_with_progress_in_its_logs() -> None:
    clock = FakeClock()
    sandbox = Sandbox(queue=1.0, run=10.0, steps=10, clock=clock)
    with Client(
        **sandbox.client_kwargs(), http_client=httpx.Client(transport=sandbox.transport())
    ) as client:
        prediction = client.predictions.create("o/m", {"prompt": "x", "num_outputs": 3})
        assert prediction.status == "starting" and prediction.logs == ""
        clock.now = 6.0
        now = client.predictions.get(prediction.id)
        assert now.status == "processing"
        assert isinstance(now.logs, str) and "5/10" in now.logs.splitlines()[-1]
        clock.now = 11.0
        done = client.predictions.get(prediction.id)
        assert done.status == "succeeded" and isinstance(done.output, list)
        assert len(done.output) == 3
        image = httpx.Client(transport=sandbox.transport()).get(done.output[0]).content
        assert image[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", image[16:24]) == (64, 64)


def test_timing_and_outcome_are_selectable_from_the_request() -> None:
    sandbox = Sandbox()
    with Client(
        **sandbox.client_kwargs(), http_client=httpx.Client(transport=sandbox.transport())
    ) as client:
        with pytest.raises(PredictionFailedError, match="out of memory"):
            client.run("o/m", {"sandbox_outcome": "failed", "sandbox_queue": 0, "sandbox_run": 0})
        with pytest.raises(PredictionCanceledError):
            client.run("o/m", {"sandbox_outcome": "aborted", "sandbox_queue": 0})
        with pytest.raises(Exception, match="sandbox_outcome"):
            client.predictions.create("o/m", {"sandbox_outcome": "exploded"})


class NoSleep(Clock):
    def sleep(self, seconds: float) -> None:
        pass


def fast_client(sandbox: Sandbox, **kwargs: Any) -> Client:
    return Client(
        **sandbox.client_kwargs(),
        http_client=httpx.Client(transport=sandbox.transport()),
        clock=NoSleep(),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.rate_limit(2), RateLimitError),
        (Fault.server_error(503), InternalServerError),
        (Fault.html(502), InternalServerError),
        (Fault.drop(), APIConnectionError),
        (Fault.hang(), APITimeoutError),
        (Fault.truncate(), ResponseValidationError),
    ],
)
def test_each_fault_reaches_the_client_as_its_error(fault: Fault, error: type[Exception]) -> None:
    sandbox = Sandbox(queue=0, run=0)
    with fast_client(sandbox, max_retries=0) as client:
        prediction = client.predictions.create("o/m", {})
        sandbox.inject(fault, on="get")
        with pytest.raises(error):
            client.predictions.get(prediction.id)
        assert client.predictions.get(prediction.id).status == "succeeded", "one request only"


def test_a_wait_rides_out_a_burst_of_faults() -> None:
    sandbox = Sandbox(queue=0, run=0)
    with fast_client(sandbox) as client:
        prediction = client.predictions.create("o/m", {})
        sandbox.inject(Fault.rate_limit(1), times=3, on="get")
        sandbox.inject(Fault.server_error(502), times=5, on="get")
        sandbox.inject(Fault.drop(), times=2, on="get")
        assert client.predictions.wait(prediction.id).status == "succeeded"
        assert sum(1 for method, _ in sandbox.requests if method == "GET") == 11


def test_async_client_in_process() -> None:
    sandbox = Sandbox(queue=0.05, run=0.2)

    async def main() -> tuple[str, list[str]]:
        http = httpx.AsyncClient(transport=sandbox.transport())
        async with AsyncClient(**sandbox.client_kwargs(), http_client=http) as client:
            prediction = await client.run("o/m", {"num_outputs": 2})
            paths = await client.predictions.download(prediction, directory)
            return prediction.id, [p.name for p in paths]

    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        pid, names = asyncio.run(main())
        assert names == [f"{pid}-0.png", f"{pid}-1.png"]


def test_unknown_ids_and_bad_keys() -> None:
    sandbox = Sandbox()
    with fast_client(sandbox) as client, pytest.raises(NotFoundError):
        client.predictions.get("doesnotexist")
    with Client(
        "wrong", base_url=sandbox.api_url, http_client=httpx.Client(transport=sandbox.transport())
    ) as bad:
        with pytest.raises(AuthenticationError) as info:
            bad.predictions.get("abc")
        assert (
            info.value.request_id
            and json.loads(info.value.body)["error"]["type"] == "comet_api_error"
        )


def test_progress_can_be_left_out_of_the_logs() -> None:
    clock = FakeClock()
    sandbox = Sandbox(queue=0, run=10.0, steps=10, clock=clock)
    with fast_client(sandbox) as client:
        silent = client.predictions.create("o/m", {"sandbox_progress": False})
        loud = client.predictions.create("o/m", {})
        clock.now = 5.0
        silent_logs = client.predictions.get(silent.id).logs
        assert isinstance(silent_logs, str) and silent_logs.strip() != ""
        assert parse_progress(silent_logs) is None
        loud_logs = client.predictions.get(loud.id).logs
        assert isinstance(loud_logs, str)
        progress = parse_progress(loud_logs)
        assert progress is not None and progress.current == 5
        with pytest.raises(BadRequestError, match="sandbox_progress"):
            client.predictions.create("o/m", {"sandbox_progress": "no"})


def test_outputs_of_a_chosen_size_are_valid_pngs_over_real_sockets(tmp_path: Path) -> None:
    size = 2 * 1024 * 1024 + 12345  # more than two of the server's 1 MiB pieces
    with (
        SandboxServer(Sandbox(queue=0, run=0)) as server,
        Client(**server.sandbox.client_kwargs()) as client,
    ):
        prediction = client.predictions.create(
            "o/m", {"num_outputs": 2, "sandbox_output_bytes": size}
        )
        paths = client.predictions.download(prediction.id, tmp_path)
        with pytest.raises(BadRequestError, match="sandbox_output_bytes"):
            client.predictions.create("o/m", {"sandbox_output_bytes": -1})
    for path in paths:
        data = path.read_bytes()
        assert len(data) == size
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (64, 64)
        assert data[-12:] == struct.pack(">I", 0) + b"IEND" + struct.pack(">I", 0xAE426082)
        offset, kinds = 8, []  # every chunk's length and CRC hold
        while offset < len(data):
            (length,) = struct.unpack(">I", data[offset : offset + 4])
            kind = data[offset + 4 : offset + 8]
            (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
            assert crc == zlib.crc32(data[offset + 4 : offset + 8 + length]) & 0xFFFFFFFF
            kinds.append(kind)
            offset += 12 + length
        assert kinds == [b"IHDR", b"IDAT", b"skIp", b"IEND"]


def test_a_port_in_use_is_an_oserror_from_start_and_a_bad_port_a_valueerror(
    held_port: int,
) -> None:
    with pytest.raises(OSError) as raised, SandboxServer(Sandbox(), port=held_port):
        pass
    assert raised.value.errno == errno.EADDRINUSE
    server = SandboxServer(Sandbox(), port=held_port)
    with pytest.raises(OSError):
        server.start()
    for port in (99999, -1):
        with pytest.raises(ValueError, match="0 to 65535"):
            SandboxServer(Sandbox(), port=port)


def test_known_models_and_faults_written_as_text() -> None:
    sandbox = Sandbox(queue=0, run=0, models={"o/m"})
    fault, times, on = parse_fault("rate_limit:2*3@get")
    assert (fault, times, on) == (Fault.rate_limit(2.0), 3, "get")
    assert parse_fault("echo:body") == (Fault.echo("body"), 1, "any")
    assert parse_fault("server_error") == (Fault.server_error(502), 1, "any")
    assert parse_fault("wrong_id:abc@get") == (Fault.wrong_id("abc"), 1, "get")
    assert parse_fault("wrong_id") == (Fault.wrong_id(), 1, "any")
    sandbox.inject(fault, times=times, on=on)
    with Client(
        **sandbox.client_kwargs(),
        http_client=httpx.Client(transport=sandbox.transport()),
        max_retries=0,
    ) as client:
        with pytest.raises(NotFoundError, match="Model x/y not found"):
            client.predictions.create("x/y", {})
        prediction = client.predictions.create("o/m", {})
        with pytest.raises(RateLimitError):
            client.predictions.get(prediction.id)
    for bad in ("melt", "slow", "hang:1", "drop*0", "drop@post", "echo:nowhere", "rate_limit:x"):
        with pytest.raises(ValueError, match="a fault is KIND"):
            parse_fault(bad)


def test_help_shows_the_settings_and_no_private_field() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "from cometapi_replicate.testing import Sandbox; help(Sandbox)"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PAGER": "cat", "TERM": "dumb"},
    ).stdout
    constructor = shown.split("__init__(self,", 1)[1].split(")", 1)[0]
    assert "queue: 'float' = 1.0" in constructor and "models:" in constructor
    assert not re.search(r"\b_\w+:", constructor), constructor
    assert "requests:" not in constructor and "rate_limited" not in constructor


OUT_OF_RANGE = [
    "slow:nan",
    "slow:-1",
    "slow:inf",
    "drip:-1",
    "drip:nan",
    "rate_limit:nan",
    "rate_limit:-2",
    "server_error:99999",
    "server_error:-1",
    "server_error:404",
    "html:0",
    "html:200",
    "nested:-5",
    "nested:0",
    "nested:99999999999",
    "server_error*99999999999",
    "drop*1000001",
]


@pytest.mark.parametrize("spec", OUT_OF_RANGE)
def test_a_fault_argument_out_of_its_range_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="a fault is KIND"):
        parse_fault(spec)


def test_fault_constructors_refuse_arguments_out_of_range() -> None:
    builds: list[Callable[[], Fault]] = [
        lambda: Fault.slow(-1),
        lambda: Fault.slow(float("nan")),
        lambda: Fault.drip(float("inf")),
        lambda: Fault.rate_limit(-1),
        lambda: Fault.server_error(404),
        lambda: Fault.html(0),
        lambda: Fault.nested(0),
        lambda: Fault.nested(status=99999),
    ]
    for build in builds:
        with pytest.raises(ValueError):
            build()
    assert parse_fault("html:404") == (Fault.html(404), 1, "any")
    assert parse_fault("drop*1000000") == (Fault.drop(), 1_000_000, "any")


def test_the_cli_refuses_a_fault_out_of_range_as_a_usage_error() -> None:
    for spec in ("server_error*99999999999", "slow:nan", "html:0"):
        result = subprocess.run(
            [sys.executable, "-m", "cometapi_replicate", "sandbox", "--fault", spec],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert "a fault is KIND" in result.stderr and "Traceback" not in result.stderr


def test_the_fault_route_answers_400_to_a_bad_fault_or_body_and_counts_many_times() -> None:
    """A million-fold fault is one entry, not a million: the count is what pending says."""
    with SandboxServer(Sandbox(queue=0, run=0)) as server:
        url = f"{server.base_url}/sandbox/v1/faults"
        auth = {"authorization": f"Bearer {SANDBOX_KEY}"}
        for body in (
            json.dumps({"fault": "server_error*99999999999"}).encode(),
            json.dumps({"fault": "html:0"}).encode(),
            b"[" * 100_000,
        ):
            refused = httpx.post(url, content=body, headers=auth)
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["message"]
        added = httpx.post(url, json={"fault": "server_error:503*1000000@get"}, headers=auth)
        assert added.json() == {"pending": 1_000_000}
        with Client(SANDBOX_KEY, base_url=server.base_url, max_retries=0) as client:
            prediction = client.predictions.create("o/m", {})  # the fault waits for a GET
            with pytest.raises(InternalServerError):
                client.predictions.get(prediction.id)
        added = httpx.post(url, json={"fault": "drop@file"}, headers=auth)
        assert added.json() == {"pending": 1_000_000}
