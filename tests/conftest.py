"""Shared test doubles: a simulated clock and a scripted API on httpx.MockTransport.

Every test that polls or retries runs on the simulated clock, sync and async alike: nothing
here sleeps for real.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, settings

from cometapi_replicate import AsyncClient, Client, Clock, Prediction
from cometapi_replicate.testing import SANDBOX_KEY, Sandbox, SandboxServer

from . import pythons
from .tree import INNER, commit_tree, make_in

T = TypeVar("T")

# Property tests judge answers, not speed: on a busy machine a slow draw or example is no
# failure (the suite passes however it is started).
settings.register_profile(
    "suite", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("suite")

KEY = "sk-test-5ecret-key-0123456789"
BASE = "https://api.test.example"

Handler = Callable[[httpx.Request], httpx.Response]


def outcome_of(call: Callable[[], T]) -> T | BaseException:
    """What ``call`` returns, or the exception it raises."""
    try:
        return call()
    except Exception as error:
        return error


def assert_hidden(text: str, key: str = KEY) -> None:
    """``key`` is nowhere in ``text``: neither plain, JSON-escaped, nor as a bytes repr shows
    that escape (its backslash doubled)."""
    escaped = "".join(f"\\u{ord(c):04x}" for c in key)
    for form in (key, escaped, escaped.replace("\\", "\\\\")):
        assert form not in text


def exception_chain(error: BaseException) -> list[BaseException]:
    links: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in links:
        links.append(link)
        link = link.__cause__ or link.__context__
    return links


def exposed(error: BaseException, *, skip: str) -> str:
    """All a crash reporter could print of ``error``: every exception of its chain, their
    fields, and the locals of each of their frames but those of the file ``skip`` (a test
    holds the key it checks for)."""
    text = ""
    for link in exception_chain(error):
        text += repr(link) + str(link) + repr(vars(link))
        text += "".join(traceback.format_exception_only(link))
        frame = link.__traceback__
        while frame is not None:
            if frame.tb_frame.f_code.co_filename != skip:
                text += repr(frame.tb_frame.f_locals)
            frame = frame.tb_next
    return text


@dataclass
class FakeClock(Clock):
    """Simulated time through the client's ``clock=`` seam: sleeping only advances ``now``."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    epoch: float = field(default_factory=time.time)

    def monotonic(self) -> float:
        return self.now

    __call__ = monotonic  # the sandbox's clock

    def time(self) -> float:
        return self.epoch + self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def prediction_body(status: str = "processing", **extra: Any) -> dict[str, Any]:
    return {"id": "pred1", "model": "owner/model", "status": status, "output": None, **extra}


def json_response(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)


@dataclass
class ScriptedAPI:
    """Answers each request with the next scripted item (a response, a body, or an exception)."""

    script: list[Any]
    clock: FakeClock
    requests: list[httpx.Request] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    repeat_last: bool = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(self.clock.now)
        item = (
            self.script.pop(0) if len(self.script) > 1 or not self.repeat_last else self.script[0]
        )
        if callable(item):
            item = item(request)
        if isinstance(item, Exception):
            raise item
        if isinstance(
            item, httpx.Response
        ):  # a fresh copy: scripts are shared by sync and async runs
            return httpx.Response(item.status_code, headers=item.headers, content=item.read())
        return json_response(item)


class Facade:
    """One synchronous face over Client or AsyncClient, so each test runs against both."""

    def __init__(self, kind: str, handler: Handler, clock: FakeClock, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("base_url", BASE)
        kwargs.setdefault("clock", clock)
        transport = httpx.MockTransport(handler)
        if kind == "sync":
            self.client: Any = Client(**kwargs, http_client=httpx.Client(transport=transport))
        else:
            self.client = AsyncClient(**kwargs, http_client=httpx.AsyncClient(transport=transport))

    def _run(self, awaitable_or_value: Any) -> Any:
        if self.kind == "sync":
            return awaitable_or_value
        return asyncio.run(awaitable_or_value)

    def get(self, *args: Any, **kwargs: Any) -> Prediction:
        prediction: Prediction = self._run(self.client.predictions.get(*args, **kwargs))
        return prediction

    def wait(self, *args: Any, **kwargs: Any) -> Prediction:
        prediction: Prediction = self._run(self.client.predictions.wait(*args, **kwargs))
        return prediction

    def watch(self, *args: Any, **kwargs: Any) -> list[Prediction]:
        iterator = self.client.predictions.watch(*args, **kwargs)
        if self.kind == "sync":
            return list(iterator)

        async def collect(it: AsyncIterator[Prediction]) -> list[Prediction]:
            return [p async for p in it]

        return asyncio.run(collect(iterator))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(kind: str, clock: FakeClock) -> Callable[..., tuple[Facade, ScriptedAPI]]:
    """``make(script, **client_kwargs)`` -> (facade, api): a client on a scripted API."""

    def factory(script: list[Any], **kwargs: Any) -> tuple[Facade, ScriptedAPI]:
        api = ScriptedAPI(list(script), clock)
        return Facade(kind, api, clock, **kwargs), api

    return factory


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """The sandbox on 127.0.0.1 (one per test module)."""
    with SandboxServer(Sandbox(queue=0.2, run=1.0), host="127.0.0.1") as running:
        yield running


@pytest.fixture
def env(server: SandboxServer) -> dict[str, str]:
    """The environment of a command line run against ``server``."""
    base = {
        k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COMETAPI_KEY", "COMETAPI_LOG")
    }
    return {**base, "COMETAPI_BASE_URL": server.base_url, "COMETAPI_KEY": SANDBOX_KEY}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the test run of a tree copy made by a ``spec_update`` test, leave those tests out
    (deselected, not skipped): the run is already inside one."""
    if os.environ.get(INNER) != "1":
        return
    inner = [item for item in items if item.get_closest_marker("spec_update")]
    if inner:
        config.hook.pytest_deselected(items=inner)
        items[:] = [item for item in items if item not in inner]


WHEEL_ON_EACH_PYTHON = "test_the_wheel_installs_and_runs_on_each_python"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say which CPython versions the wheel was tested on, and which this machine lacks (from
    the reports: with ``-n``, the tests ran in other processes)."""
    reports = [r for kind in terminalreporter.stats.values() for r in kind]
    if any(WHEEL_ON_EACH_PYTHON in getattr(r, "nodeid", "") for r in reports):
        terminalreporter.write_line(pythons.summary())


@pytest.fixture(scope="session")
def release_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean git commit of the work tree as it is now, with ``make build`` run in it once:
    ``dist/`` there holds the session's sdist and wheel (the repository's own is never touched)."""
    tree = commit_tree(tmp_path_factory.mktemp("release") / "repo")
    built = make_in(tree, "-s", "build")
    assert built.returncode == 0, built.stdout + built.stderr
    return tree


@pytest.fixture(scope="session")
def wheel(release_tree: Path) -> Path:
    (path,) = (release_tree / "dist").glob("cometapi_replicate-*.whl")
    return path


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port another socket holds (bound and listening) for the test's length."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])
