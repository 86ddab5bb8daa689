"""A hostile server over real loopback sockets: deadlines bind, and the key never prints.

The sandbox server (127.0.0.1, port 0) misbehaves on demand: dripping bodies, hangs, deep
nesting, the key echoed back plain and JSON-escaped. Each wait ends with the right outcome
within its deadline (``timeout`` plus the documented one-second minimum for a last request,
plus a margin for a loaded machine: a promise about deadlines, not a speed measurement), and
every log line, exception chain, repr and CLI output is scanned for the key.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest

from cometapi_replicate import (
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    Client,
    PredictionFailedError,
    ResponseValidationError,
    WaitTimeoutError,
    raise_for_failure,
)
from cometapi_replicate._deadline import bound_requests
from cometapi_replicate.testing import Fault, Sandbox, SandboxServer

from ..conftest import assert_hidden as assert_key_hidden
from ..conftest import exposed, outcome_of

KEY = "sk-hostile-9f8e7d6c5b4a39281706"
MARGIN = 4.0
"""Seconds a deadline may be overrun: the last request's minimum (1 s) and a loaded machine."""
CLI = [sys.executable, "-m", "cometapi_replicate"]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox(key=KEY, queue=0.2, run=0.6, steps=3), host="127.0.0.1") as up:
        yield up


@pytest.fixture
def sandbox(server: SandboxServer) -> Iterator[Sandbox]:
    yield server.sandbox
    server.sandbox._faults.clear()


def texts_of(error: BaseException) -> str:
    return exposed(error, skip=__file__)


def assert_hidden(text: str) -> None:
    assert_key_hidden(text, KEY)


# -- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "sync, own http_client", "async"])
def test_a_body_dripping_a_byte_a_second_cannot_hold_get(sandbox: Sandbox, kind: str) -> None:
    kwargs: dict[str, Any] = {"api_key": KEY, "base_url": sandbox.api_url, "max_retries": 0}
    with Client(**kwargs) as client:
        prediction = client.predictions.create("o/m", {"sandbox_queue": 60})
    sandbox.inject(Fault.drip(1.0), on="get")

    async def get() -> None:
        async with AsyncClient(**kwargs, timeout=2) as client:
            await client.predictions.get(prediction.id)

    def call() -> None:
        if kind == "async":
            asyncio.run(get())
            return
        with httpx.Client() as mine:
            own: dict[str, Any] = {"http_client": mine} if "own" in kind else {}
            Client(**kwargs, **own, timeout=2).predictions.get(prediction.id)

    began = time.monotonic()
    with pytest.raises(APITimeoutError, match="within 2s"):
        call()
    assert time.monotonic() - began < 2 + MARGIN


def test_a_slow_name_lookup_cannot_hold_a_request(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Socket timeouts leave out name resolution: a resolver stalling for seconds must not
    stretch a request past its deadline."""
    resolve = socket.getaddrinfo

    def stalled(*args: Any, **kwargs: Any) -> Any:
        time.sleep(4)
        return resolve(*args, **kwargs)

    url = sandbox.api_url.replace("127.0.0.1", "localhost")
    with Client(KEY, base_url=url, timeout=1, max_retries=0) as client:
        monkeypatch.setattr(socket, "getaddrinfo", stalled)
        began = time.monotonic()
        with pytest.raises(APITimeoutError, match="within 1s"):
            client.predictions.get("p1")
        assert time.monotonic() - began < 3


def test_an_httpcore_without_public_backends_falls_back_to_a_thread_per_request(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx 0.23 comes with an httpcore (< 0.17) whose backends the deadline module cannot
    wrap; so does an httpx whose client keeps its transports elsewhere."""
    assert bound_requests(cast(httpx.Client, types.SimpleNamespace())) is False
    monkeypatch.setitem(sys.modules, "cometapi_replicate._deadline", None)  # its import fails
    with Client(KEY, base_url=sandbox.api_url, timeout=2, max_retries=0) as client:
        assert client._bounded is False
        prediction = client.predictions.create("o/m", {"sandbox_queue": 60})
        sandbox.inject(Fault.drip(1.0), on="get")
        began = time.monotonic()
        with pytest.raises(APITimeoutError, match="within 2s"):
            client.predictions.get(prediction.id)
        assert time.monotonic() - began < 2 + MARGIN


def test_a_default_client_bounds_each_request_without_a_thread(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline is kept by the connection's own reads and writes, not a helper thread
    per request (which cost about a third of a call)."""
    with Client(KEY, base_url=sandbox.api_url, timeout=5) as client:
        prediction = client.predictions.create("o/m", {})

        def no_thread(self: threading.Thread) -> None:
            raise AssertionError(f"a thread was started: {self.name}")

        monkeypatch.setattr(threading.Thread, "start", no_thread)
        assert client.predictions.get(prediction.id).id == prediction.id


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_wait_ends_at_its_timeout_when_the_server_never_answers(
    sandbox: Sandbox, kind: str
) -> None:
    kwargs: dict[str, Any] = {"api_key": KEY, "base_url": sandbox.api_url, "timeout": 8}
    with Client(**kwargs) as client:
        prediction = client.predictions.create("o/m", {"sandbox_queue": 60})
    sandbox.inject(Fault.hang(), on="get")

    async def wait() -> None:
        async with AsyncClient(**kwargs) as client:
            await client.predictions.wait(prediction.id, timeout=1)

    began = time.monotonic()
    with pytest.raises(WaitTimeoutError) as waited:
        Client(**kwargs).predictions.wait(
            prediction.id, timeout=1
        ) if kind == "sync" else asyncio.run(wait())
    assert time.monotonic() - began < 1 + MARGIN
    assert isinstance(waited.value.__cause__, APITimeoutError)


# -- the fault storm ---------------------------------------------------------------------------

STORM: list[tuple[str, Fault, int, type[BaseException] | str]] = [
    ("502 twice", Fault.server_error(502), 2, "succeeded"),
    ("429 with Retry-After", Fault.rate_limit(0.2), 2, "succeeded"),
    ("an HTML page", Fault.html(), 1, "succeeded"),
    ("slow", Fault.slow(0.3), 1, "succeeded"),
    ("dropped connection", Fault.drop(), 1, "succeeded"),
    ("truncated body", Fault.truncate(), 1, "succeeded"),
    ("hang", Fault.hang(), 1, WaitTimeoutError),
    ("drip", Fault.drip(0.5), 1, WaitTimeoutError),
    ("nested 100,000 deep", Fault.nested(), 1, ResponseValidationError),
    ("nested 5xx", Fault.nested(status=502), 1, "succeeded"),
    ("key as status", Fault.echo("status"), 1, "succeeded"),
    ("escaped key as status", Fault.echo("status", escaped=True), 1, "succeeded"),
    ("key as error", Fault.echo("error"), 1, PredictionFailedError),
    ("escaped key as error", Fault.echo("error", escaped=True), 1, PredictionFailedError),
    ("key in the body", Fault.echo("body"), 1, AuthenticationError),
    ("escaped key in the body", Fault.echo("body", escaped=True), 1, AuthenticationError),
    ("key in headers", Fault.echo("header"), 1, AuthenticationError),
    ("escaped key in headers", Fault.echo("header", escaped=True), 1, AuthenticationError),
]


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
@pytest.mark.parametrize(("name", "fault", "times", "outcome"), STORM, ids=[s[0] for s in STORM])
def test_one_wait_per_fault_ends_right_and_in_time_with_no_key_in_any_log(
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    level: int,
    name: str,
    fault: Fault,
    times: int,
    outcome: type[BaseException] | str,
) -> None:
    caplog.set_level(level)  # the root logger: httpx at INFO, httpcore at DEBUG
    timeout = 5.0  # shorter than a request's own limit: the wait's deadline binds each poll
    with Client(KEY, base_url=sandbox.api_url, timeout=8) as client:
        prediction = client.predictions.create("o/m", {})
        sandbox.inject(fault, times=times, on="get")
        began = time.monotonic()
        final = outcome_of(
            lambda: raise_for_failure(client.predictions.wait(prediction.id, timeout=timeout))
        )
        assert time.monotonic() - began < timeout + MARGIN
    if isinstance(final, BaseException):
        assert isinstance(outcome, type) and isinstance(final, outcome), repr(final)
        assert_hidden(texts_of(final))
        assert_hidden(repr(final) + str(getattr(final, "headers", "")))
    else:
        assert final.status == outcome
    assert caplog.records, "the scan saw the SDK's and httpx's records"
    for record in caplog.records:
        assert_hidden(record.getMessage())


def test_a_mixed_storm_of_concurrent_waits_all_succeed_in_time(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transient = [
        Fault.server_error(503),
        Fault.rate_limit(0.1),
        Fault.html(),
        Fault.drop(),
        Fault.truncate(),
        Fault.slow(0.2),
        Fault.hang(),
        Fault.drip(0.5),
        Fault.nested(status=500),
        Fault.echo("status"),
        Fault.echo("status", escaped=True),
    ]
    for fault in random.Random(11).choices(transient, k=30):
        sandbox.inject(fault, on="get")
    timeout = 30.0

    async def storm() -> list[str]:
        async with AsyncClient(KEY, base_url=sandbox.api_url, timeout=1.5) as client:
            created = [await client.predictions.create("o/m", {}) for _ in range(8)]
            waits = [client.predictions.wait(p, timeout=timeout) for p in created]
            return [p.status for p in await asyncio.gather(*waits)]

    began = time.monotonic()
    assert asyncio.run(storm()) == ["succeeded"] * 8
    assert time.monotonic() - began < timeout + MARGIN
    for record in caplog.records:
        assert_hidden(record.getMessage())


# -- the command line --------------------------------------------------------------------------


def cli(sandbox: Sandbox, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COMETAPI_KEY")}
    env.update(COMETAPI_BASE_URL=sandbox.api_url, COMETAPI_KEY=key)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_cli_reads_a_key_with_a_trailing_newline_and_never_prints_it(sandbox: Sandbox) -> None:
    with Client(KEY, base_url=sandbox.api_url) as client:
        prediction = client.predictions.create("o/m", {"sandbox_run": 0, "sandbox_queue": 0})
    result = cli(sandbox, f"{KEY}\r\n", "get", prediction.id, "--json")
    assert result.returncode == 0, result.stderr
    for place in ("body", "header"):
        for escaped in (False, True):
            sandbox.inject(Fault.echo(place, escaped=escaped), on="get")
            result = cli(sandbox, f"{KEY}\n", "get", prediction.id)
            assert result.returncode != 0
            assert "401" in result.stderr
            assert_hidden(result.stdout + result.stderr)
    result = cli(sandbox, f"{KEY[:6]} {KEY[6:]}", "get", prediction.id)
    assert result.returncode == 2 and "API key" in result.stderr
    assert KEY[6:] not in result.stdout + result.stderr
