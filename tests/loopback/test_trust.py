"""A response is trusted only when it answers the request, over real loopback sockets.

The sandbox server (127.0.0.1, port 0) runs on the test's simulated clock, as the client
does: a prediction ages only as the client sleeps, so every timing below is a count of polls
or a simulated second, never a wall-clock measurement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate import (
    AsyncClient,
    Client,
    OutputUnavailableError,
    ResponseValidationError,
    WaitTimeoutError,
    is_terminal,
)
from cometapi_replicate._schedule import AdaptiveSchedule
from cometapi_replicate._timing import Timing
from cometapi_replicate.testing import SANDBOX_KEY, Fault, Sandbox, SandboxServer

from ..conftest import FakeClock
from ..inprocess.test_boundary import client_on

MODEL = "acme/painter"
GRACE = Timing().output_grace


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def server(clock: FakeClock) -> Iterator[SandboxServer]:
    sandbox = Sandbox(queue=1.0, run=2.0, steps=4, clock=clock)
    with SandboxServer(sandbox, host="127.0.0.1") as running:
        yield running


@pytest.fixture
def sandbox(server: SandboxServer) -> Iterator[Sandbox]:
    yield server.sandbox
    server.sandbox._faults.clear()


class User:
    """A user's calls on ``Client`` or ``AsyncClient``, one synchronous face for both."""

    def __init__(self, kind: str, server: SandboxServer, clock: FakeClock) -> None:
        self.kind, self.server, self.clock = kind, server, clock

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        options: dict[str, Any] = {
            "api_key": SANDBOX_KEY,
            "base_url": self.server.base_url,
            "clock": self.clock,
        }
        if self.kind == "sync":
            with Client(**options) as client:
                return _call(client, method, args, kwargs)

        async def main() -> Any:
            async with AsyncClient(**options) as client:
                result = _call(client, method, args, kwargs)
                if method == "watch":
                    return [p async for p in result]
                return await result

        return asyncio.run(main())


def _call(client: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if method == "run":
        return client.run(*args, **kwargs)
    result = getattr(client.predictions, method)(*args, **kwargs)
    return list(result) if method == "watch" and not hasattr(result, "__aiter__") else result


@pytest.fixture
def user(kind: str, server: SandboxServer, clock: FakeClock) -> User:
    return User(kind, server, clock)


def gets(sandbox: Sandbox) -> int:
    return int(sandbox.stats()["requests"].get("get", 0))


# -- another prediction's body -------------------------------------------------------------------


def test_a_get_answered_with_another_prediction_is_refused(user: User, sandbox: Sandbox) -> None:
    created = user("create", MODEL, {"prompt": "mine"})
    sandbox.inject(Fault.wrong_id(), times=10, on="get")
    with pytest.raises(ResponseValidationError, match=f"asked for prediction {created.id}"):
        user("get", created.id)


def test_a_wait_never_returns_another_prediction_and_polls_on_to_its_own(
    user: User, sandbox: Sandbox, clock: FakeClock
) -> None:
    created = user("create", MODEL, {"prompt": "mine"})
    clock.sleep(10)  # it has succeeded; the proxy answers with someone else's, twice
    sandbox.inject(Fault.wrong_id(), times=2, on="get")
    before = gets(sandbox)
    final = user("wait", created.id, timeout=60)
    assert final.id == created.id and final.status == "succeeded" and final.output
    assert gets(sandbox) - before == 3  # the two wrong answers were polled past


def test_a_wait_given_only_other_predictions_ends_at_its_timeout(
    user: User, sandbox: Sandbox, clock: FakeClock
) -> None:
    created = user("create", MODEL, {"prompt": "mine"})
    sandbox.inject(Fault.wrong_id(), times=1000, on="get")
    began = clock.now
    with pytest.raises(WaitTimeoutError) as caught:
        user("wait", created.id, timeout=20)
    assert isinstance(caught.value.__cause__, ResponseValidationError)
    assert clock.now - began <= 20


def test_a_create_answered_without_a_usable_id_is_refused(user: User, sandbox: Sandbox) -> None:
    sandbox.inject(Fault.wrong_id("a/b"), on="create")
    with pytest.raises(ResponseValidationError, match="id"):
        user("create", MODEL, {"prompt": "x"})
    sandbox.inject(Fault.wrong_id(""), on="create")
    with pytest.raises(ResponseValidationError, match="id"):
        user("create", MODEL, {"prompt": "x"})


# -- an id that is not UTF-8 ---------------------------------------------------------------------


def test_an_id_that_is_not_utf8_is_refused_not_replaced(user: User, sandbox: Sandbox) -> None:
    sandbox.inject(Fault.wrong_id(b"\xc0\xaf"), on="create")
    with pytest.raises(ResponseValidationError, match="not UTF-8"):
        user("create", MODEL, {"prompt": "x"})
    created = user("create", MODEL, {"prompt": "y"})
    sandbox.inject(Fault.wrong_id(created.id.encode() + b"\xff"), times=10, on="get")
    with pytest.raises(ResponseValidationError, match="not UTF-8"):
        user("get", created.id)


def test_only_the_id_must_be_utf8_logs_are_read_with_replacement() -> None:
    body = b'{"id": "p1", "status": "processing", "output": null, "logs": "50%\xff done"}'
    client, _ = client_on(httpx.Response(200, content=body))
    prediction = client.predictions.get("p1")
    assert prediction.id == "p1" and prediction.logs == "50%\ufffd done"


# -- succeeded before the output is there -------------------------------------------------------


@pytest.mark.parametrize("lag", [1, 3])
@pytest.mark.parametrize("method", ["wait", "watch", "run"])
def test_output_lagging_behind_succeeded_is_waited_for(
    user: User, sandbox: Sandbox, clock: FakeClock, method: str, lag: int, tmp_path: Path
) -> None:
    work = {"prompt": f"lag {lag} {method}", "sandbox_output_lag": lag}
    if method == "run":
        final = user("run", MODEL, work, timeout=60)
    else:
        created = user("create", MODEL, work)
        result = user(method, created.id, timeout=60)
        final = result[-1] if method == "watch" else result
        if method == "watch":  # no state without its output is handed over as the end
            assert [p.status for p in result].count("succeeded") == 1
    assert final.status == "succeeded" and final.output
    [path] = user("download", final, tmp_path)
    assert path.read_bytes().startswith(b"\x89PNG")


def test_a_model_whose_output_stays_null_is_returned_after_the_grace(
    user: User, sandbox: Sandbox, clock: FakeClock
) -> None:
    created = user("create", MODEL, {"prompt": "nothing", "sandbox_output": None})
    clock.sleep(10)  # it has succeeded, with no output at all
    began, before = clock.now, gets(sandbox)
    final = user("wait", created.id, timeout=60)
    assert final.status == "succeeded" and final.output is None
    waited = clock.now - began
    assert waited == pytest.approx(GRACE)  # polled on for the grace, not for the timeout
    assert gets(sandbox) - before >= 4  # on the ordinary schedule: three polls fit
    with pytest.raises(OutputUnavailableError):
        user("download", final, "unused")


def test_the_grace_never_outlasts_the_timeout(
    user: User, sandbox: Sandbox, clock: FakeClock
) -> None:
    created = user("create", MODEL, {"prompt": "nothing, soon", "sandbox_output": None})
    clock.sleep(10)
    began = clock.now
    final = user("wait", created.id, timeout=GRACE / 3)
    assert final.status == "succeeded" and final.output is None  # returned, not a timeout
    assert clock.now - began <= GRACE / 3


def test_removed_data_returns_at_once(user: User, sandbox: Sandbox, clock: FakeClock) -> None:
    created = user("create", MODEL, {"prompt": "old"})
    clock.sleep(sandbox.removal + 10)
    before = gets(sandbox)
    final = user("wait", created.id)
    assert final.data_removed is True and final.output is None
    assert gets(sandbox) - before == 1


def test_three_polls_fit_in_the_grace_at_the_schedules_longest_pause() -> None:
    old = AdaptiveSchedule()
    old.aged(3600.0)  # an hour old and no progress: the longest blind pause
    assert 3 * old.next_delay(0.0) <= GRACE
    assert is_terminal("succeeded")  # the grace changes no status
