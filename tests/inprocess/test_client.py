"""Client behaviour on httpx.MockTransport, each test against both Client and AsyncClient."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import cometapi_replicate as cr
from cometapi_replicate import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    CometAPIError,
    InternalServerError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    Prediction,
    RateLimitError,
    ResponseValidationError,
    WaitTimeoutError,
)

from ..conftest import BASE, KEY, FakeClock, json_response, prediction_body

ENVELOPE = {
    "error": {
        "message": "bad things (request id: req-42)",
        "type": "comet_api_error",
        "param": "",
        "code": "upstream_error",
    }
}


# --- configuration ---------------------------------------------------------------------------


def test_no_key_anywhere_is_an_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    with pytest.raises(CometAPIError, match="COMETAPI_KEY"):
        Client()
    with pytest.raises(CometAPIError, match="COMETAPI_KEY"):
        AsyncClient()


def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMETAPI_KEY", KEY)
    monkeypatch.setenv("COMETAPI_BASE_URL", "http://127.0.0.1:9")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(prediction_body(id="abc"))

    with Client(http_client=httpx.Client(transport=httpx.MockTransport(handler))) as client:
        client.predictions.get("abc")
    assert str(seen[0].url) == "http://127.0.0.1:9/replicate/v1/predictions/abc"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMETAPI_BASE_URL", raising=False)
    assert Client(KEY).base_url == "https://api.cometapi.com"


@pytest.mark.parametrize("url", ["ftp://x", "not a url", "/relative"])
def test_bad_base_url_is_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        Client(KEY, base_url=url)


def test_repr_of_clients_shows_no_key() -> None:
    for client in (Client(KEY, base_url=BASE), AsyncClient(KEY, base_url=BASE)):
        assert KEY not in repr(client)
        assert KEY not in repr(client.__dict__)
        assert KEY not in repr(vars(client._http))


def test_users_http_client_keeps_its_hooks_but_sdk_url_auth_and_timeout_apply() -> None:
    seen: list[httpx.Request] = []
    hooked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(prediction_body(id="abc"))

    mine = httpx.Client(
        base_url="https://elsewhere.example/prefix",
        transport=httpx.MockTransport(handler),
        event_hooks={"request": [lambda r: hooked.append(str(r.url))]},
        headers={"X-Team": "vision"},
        timeout=999,
    )
    with Client(KEY, base_url=BASE, timeout=7.0, http_client=mine) as client:
        client.predictions.get("abc")
    assert str(seen[0].url) == f"{BASE}/replicate/v1/predictions/abc"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert seen[0].extensions["timeout"]["read"] == 7.0
    assert hooked == [f"{BASE}/replicate/v1/predictions/abc"]
    assert not mine.is_closed, "closing the SDK client leaves the caller's client open"
    mine.close()


def test_polls_of_one_path_send_what_httpx_builds_cookies_included(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A GET's URL is parsed once per path and kept: later requests must still be exactly what
    httpx would build (headers, a cookie the server set, the timeout, a deadline's cut)."""
    from cometapi_replicate._http import Requests

    monkeypatch.setattr(Requests, "KEPT", 2)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = prediction_body("processing", id=request.url.path.rsplit("/", 1)[1])
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"Set-Cookie": "lb=node7; Path=/"}
        )

    mine = httpx.Client(transport=httpx.MockTransport(handler))
    with Client(KEY, base_url=BASE, timeout=7.0, http_client=mine) as client:
        for prediction_id in ["abc", "abc", "abc", "def", "ghi", "abc", "abc"]:
            client.predictions.get(prediction_id)
        client._requests.build({"method": "get", "url": "/replicate/v1/predictions/abc"}, 0.5)
        assert len(client._requests._urls) <= 2, "the kept URLs are bounded"
        cut = client._requests.build({"method": "get", "url": "/replicate/v1/predictions/abc"}, 0.5)
    reference = httpx.Client(base_url=BASE, headers={"User-Agent": seen[0].headers["user-agent"]})
    reference.cookies.set("lb", "node7")
    for request in seen[1:]:
        expected = reference.build_request("GET", request.url.path, timeout=7.0)
        assert request.url == expected.url
        assert request.headers.get("cookie") == "lb=node7"
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert sorted(request.headers.multi_items()) == sorted(
            [*expected.headers.multi_items(), ("authorization", f"Bearer {KEY}")]
        )
        assert request.extensions["timeout"] == expected.extensions["timeout"]
    ids = [r.url.path.rsplit("/", 1)[1] for r in seen]
    assert ids == ["abc", "abc", "abc", "def", "ghi", "abc", "abc"]
    assert "cookie" not in seen[0].headers
    assert cut.extensions["timeout"] == dict.fromkeys(["connect", "read", "write", "pool"], 0.5)
    mine.close()
    reference.close()


def test_authorization_goes_only_to_the_api_origin() -> None:
    from cometapi_replicate._http import OriginBearerAuth
    from cometapi_replicate._secret import Secret

    auth = OriginBearerAuth(Secret(KEY), httpx.URL(BASE))
    for url, expected in [
        (f"{BASE}/x", f"Bearer {KEY}"),
        ("https://replicate.delivery/x", None),
        ("http://api.test.example/x", None),
        ("https://api.test.example:8443/x", None),
    ]:
        request = httpx.Request("GET", url, headers={"Authorization": "stale"})
        sent = next(auth.auth_flow(request))
        assert sent.headers.get("authorization") == (expected or None), url
    assert KEY not in repr(auth)


# --- reading a prediction --------------------------------------------------------------------


def test_get_parses_the_specs_own_example(make: Any) -> None:
    example = {
        "id": "<prediction_id>",
        "model": "black-forest-labs/flux-schnell",
        "status": "succeeded",
        "output": ["https://replicate.delivery/xezq/.../out-0.webp"],
        "error": None,
    }
    client, api = make([{**example, "id": "p1"}])
    prediction = client.get("p1")
    assert prediction.status == "succeeded"
    assert cr.output_urls(prediction) == example["output"]
    assert api.requests[0].url.path == "/replicate/v1/predictions/p1"


def test_get_handles_a_single_string_output(make: Any) -> None:
    client, _ = make([prediction_body("succeeded", output="https://replicate.delivery/a.png")])
    prediction = client.get("pred1")
    assert prediction.output == "https://replicate.delivery/a.png"
    assert cr.output_urls(prediction) == ["https://replicate.delivery/a.png"]


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        ".",
        "..",
        "a/b",
        "../x",
        "a?b",
        "a#b",
        "a%2e",
        "a b",
        "a\tb",
        "a\nb",
        "a\x00",
        "a\\b",
        "x" * 129,
        None,
        5,
    ],
)
def test_malformed_ids_raise_value_error_and_send_nothing(make: Any, bad_id: Any) -> None:
    client, api = make([prediction_body()])
    with pytest.raises(ValueError):
        client.get(bad_id)
    with pytest.raises(ValueError):
        client.wait(bad_id)
    assert api.requests == []


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIStatusError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (524, InternalServerError),
    ],
)
def test_each_status_maps_to_its_error(make: Any, status: int, cls: type[APIStatusError]) -> None:
    client, _ = make([json_response(ENVELOPE, status)], max_retries=0)
    with pytest.raises(cls) as info:
        client.get("pred1")
    error = info.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.message == "bad things (request id: req-42)"
    assert error.code == "upstream_error"
    assert error.request_id == "req-42"
    assert "bad things" in str(error)


def test_replicate_problem_details_give_the_message(make: Any) -> None:
    body = {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Request was throttled. Your rate limit resets in ~30s.",
    }
    client, _ = make([json_response(body, 429, **{"x-request-id": "rid-7"})], max_retries=0)
    with pytest.raises(RateLimitError) as info:
        client.get("pred1")
    assert info.value.message.startswith("Request was throttled")
    assert info.value.request_id == "rid-7"


@pytest.mark.parametrize(
    ("content", "content_type", "note"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html", "HTML page"),
        (b"", "text/plain", "empty response body"),
        (b"upstream exploded", "text/plain", "non-JSON body"),
    ],
)
def test_html_or_empty_error_bodies_get_a_short_note(
    make: Any, content: bytes, content_type: str, note: str
) -> None:
    client, _ = make(
        [httpx.Response(502, content=content, headers={"content-type": content_type})],
        max_retries=0,
    )
    with pytest.raises(InternalServerError, match=note):
        client.get("pred1")


def test_error_body_is_bounded(make: Any) -> None:
    client, _ = make([httpx.Response(500, content=b"x" * 100_000)], max_retries=0)
    with pytest.raises(InternalServerError) as info:
        client.get("pred1")
    assert len(info.value.body) <= 4096
    assert len(str(info.value)) < 1000


def test_a_redirect_is_an_error_not_followed(make: Any) -> None:
    client, api = make([httpx.Response(301, headers={"location": "https://evil.example/"})])
    with pytest.raises(APIStatusError) as info:
        client.get("pred1")
    assert info.value.status_code == 301
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(200, content=b"<html>maintenance</html>"), "not JSON"),
        (json_response({"status": "succeeded"}), "not a prediction"),
        (json_response({"id": "p1"}), "not a prediction"),
        (json_response(["a", "b"]), "not a prediction"),
        (json_response({"id": 5, "status": None}), "not a prediction"),
        (json_response({"id": "p1", "status": "succeeded", "urls": "nope"}), "not a prediction"),
    ],
)
def test_a_200_that_is_not_a_prediction_is_a_validation_error(
    make: Any, response: httpx.Response, match: str
) -> None:
    client, api = make([response])
    with pytest.raises(ResponseValidationError, match=match):
        client.get("pred1")
    assert len(api.requests) == 1, "a broken 200 is not retried"


def test_transport_errors_map_to_connection_and_timeout_errors(make: Any) -> None:
    client, _ = make([httpx.ConnectError("refused")], max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        client.get("pred1")
    assert not isinstance(info.value, APITimeoutError)
    client, _ = make([httpx.ReadTimeout("slow")], max_retries=0)
    with pytest.raises(APITimeoutError):
        client.get("pred1")


# --- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 524])
def test_transient_statuses_are_retried_up_to_max_retries(
    make: Any, clock: FakeClock, status: int
) -> None:
    client, api = make([json_response(ENVELOPE, status)], max_retries=3)
    with pytest.raises(APIStatusError):
        client.get("pred1")
    assert len(api.requests) == 4
    assert len(clock.sleeps) == 3
    assert all(0 < s <= 8.0 for s in clock.sleeps)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_never_retried(make: Any, status: int) -> None:
    client, api = make([json_response(ENVELOPE, status)], max_retries=5)
    with pytest.raises(APIStatusError):
        client.get("pred1")
    assert len(api.requests) == 1


def test_a_500_invalid_request_is_not_retried(make: Any) -> None:
    body = {"error": {"message": "bad input", "type": "comet_api_error", "code": "invalid_request"}}
    client, api = make([json_response(body, 500)], max_retries=5)
    with pytest.raises(InternalServerError):
        client.get("pred1")
    assert len(api.requests) == 1


def test_transient_failures_then_success(make: Any) -> None:
    client, api = make(
        [
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            json_response(ENVELOPE, 502),
            prediction_body("succeeded"),
        ],
        max_retries=3,
    )
    assert client.get("pred1").status == "succeeded"
    assert len(api.requests) == 4


def test_backoff_grows_with_jitter_and_a_cap(make: Any, clock: FakeClock) -> None:
    client, _ = make([json_response(ENVELOPE, 503)], max_retries=8)
    with pytest.raises(InternalServerError):
        client.get("pred1")
    assert all(0.25 <= s <= 8.0 for s in clock.sleeps)
    assert clock.sleeps[0] < 0.5 + 1e-9 and clock.sleeps[-1] >= 4.0


@pytest.mark.parametrize(
    "headers",
    [{"retry-after": "7"}, {"retry-after-ms": "7000"}, {"retry-after": "HTTPDATE"}],
)
def test_retry_after_is_honoured(make: Any, clock: FakeClock, headers: dict[str, str]) -> None:
    if headers.get("retry-after") == "HTTPDATE":
        headers = {
            "retry-after": format_datetime(datetime.now(UTC) + timedelta(seconds=8), usegmt=True)
        }
    client, api = make([json_response(ENVELOPE, 429, **headers), prediction_body("succeeded")])
    client.get("pred1")
    assert len(api.requests) == 2
    assert 6.0 <= clock.sleeps[0] <= 8.5


def test_retry_after_is_capped(make: Any, clock: FakeClock) -> None:
    client, _ = make(
        [json_response(ENVELOPE, 429, **{"retry-after": "86400"}), prediction_body("succeeded")]
    )
    client.get("pred1")
    assert clock.sleeps == [60.0]


# --- wait and watch --------------------------------------------------------------------------


def test_watch_yields_each_change_and_ends_with_the_terminal_state(make: Any) -> None:
    script = [
        prediction_body("starting"),
        prediction_body("starting"),
        prediction_body("processing", logs=" 10%|#         | 1/10 [00:01<00:09]"),
        prediction_body("processing", logs=" 10%|#         | 1/10 [00:01<00:09]"),
        prediction_body("processing", logs=" 50%|#####     | 5/10 [00:05<00:05]"),
        prediction_body("succeeded", output=["https://replicate.delivery/a.png"]),
    ]
    client, api = make(script)
    states = client.watch("pred1")
    assert [p.status for p in states] == ["starting", "processing", "processing", "succeeded"]
    assert cr.parse_progress(states[2].logs) == cr.Progress(0.5, 5, 10)
    assert len(api.requests) == 6


def test_wait_returns_the_last_item_of_watch_and_reports_updates(make: Any) -> None:
    client, _ = make(
        [
            prediction_body("starting"),
            prediction_body("processing"),
            prediction_body("failed", error="boom"),
        ]
    )
    updates: list[str] = []
    final = client.wait("pred1", on_update=lambda p: updates.append(p.status))
    assert final.status == "failed"
    assert updates == ["starting", "processing", "failed"]
    with pytest.raises(cr.PredictionFailedError, match="boom"):
        cr.raise_for_failure(final)


def test_wait_on_a_terminal_prediction_returns_at_once(make: Any) -> None:
    client, api = make([prediction_body()])
    for body in (
        prediction_body("succeeded", output=["https://x.example/o.png"]),
        prediction_body("succeeded", data_removed=True),
        prediction_body("failed"),
    ):
        done = Prediction.from_dict(body)
        assert client.wait(done) is done
        assert client.watch(done) == [done]
    assert api.requests == []


def test_wait_on_a_prediction_succeeded_without_output_polls_for_it(make: Any) -> None:
    files = ["https://x.example/o.png"]
    client, api = make([prediction_body("succeeded"), prediction_body("succeeded", output=files)])
    updates: list[Prediction] = []
    early = Prediction.from_dict(prediction_body("succeeded"))  # e.g. a create's answer
    assert client.wait(early, on_update=updates.append).output == files
    assert len(api.requests) == 2 and [p.output for p in updates] == [files]


def test_wait_polls_a_non_terminal_prediction_object(make: Any) -> None:
    client, api = make([prediction_body("succeeded", output="done")])
    assert client.wait(Prediction.from_dict(prediction_body("starting"))).status == "succeeded"
    assert len(api.requests) == 1


def test_cancelled_spelling_is_terminal(make: Any) -> None:
    client, api = make([prediction_body("processing"), prediction_body("cancelled")])
    assert client.wait("pred1").status == "cancelled"
    assert len(api.requests) == 2


def test_deadline_raises_wait_timeout_with_the_last_state(make: Any, clock: FakeClock) -> None:
    client, api = make([prediction_body("processing", logs="still going")])
    with pytest.raises(WaitTimeoutError) as info:
        client.wait("pred1", timeout=30)
    assert isinstance(info.value, TimeoutError)
    assert info.value.prediction is not None and info.value.prediction.logs == "still going"
    assert clock.now <= 30.0 + 1e-9, "never sleeps past the deadline"
    assert api.times[-1] == pytest.approx(30.0), "a last look at the deadline"


def test_fixed_poll_interval(make: Any, clock: FakeClock) -> None:
    done = prediction_body("succeeded", output="done")
    client, _ = make([prediction_body("processing")] * 4 + [done])
    client.wait("pred1", poll_interval=2.5)
    assert clock.sleeps == [2.5] * 4


@pytest.mark.parametrize(
    "kwargs", [{"poll_interval": 0.01}, {"poll_interval": -1}, {"timeout": -1}]
)
def test_bad_wait_arguments(make: Any, kwargs: dict[str, float]) -> None:
    client, api = make([prediction_body()])
    with pytest.raises(ValueError):
        client.wait("pred1", **kwargs)
    assert api.requests == []


def test_a_minute_of_failures_does_not_end_a_ten_minute_wait(make: Any, clock: FakeClock) -> None:
    def script(request: httpx.Request) -> Any:
        if clock.now < 10:
            return prediction_body("processing")
        if clock.now < 70:
            return (
                httpx.ConnectError("refused")
                if int(clock.now) % 2
                else json_response(ENVELOPE, 502)
            )
        return prediction_body("succeeded")

    client, api = make([script])
    assert client.wait("pred1", timeout=600).status == "succeeded"
    assert 70 <= clock.now < 120
    assert len(api.requests) > 10, "the failures were polled through"


def test_persistent_failure_ends_the_wait_with_the_last_error(make: Any, clock: FakeClock) -> None:
    client, api = make([prediction_body("processing"), json_response(ENVELOPE, 503)])
    with pytest.raises(InternalServerError):
        client.wait("pred1")
    assert 300 <= clock.now <= 400
    assert len(api.requests) < 200


def test_failure_past_the_deadline_ends_in_a_wait_timeout(make: Any, clock: FakeClock) -> None:
    client, _ = make([prediction_body("processing"), httpx.ConnectError("refused")])
    with pytest.raises(WaitTimeoutError, match="refused") as waited:
        client.wait("pred1", timeout=20)
    assert clock.now <= 20
    # it may end before 20 s (no retry fits): the message must not claim 20 s went by
    assert "20s timeout leaves no time to try again" in str(waited.value)
    assert waited.value.prediction is not None
    assert isinstance(waited.value.__cause__, APIConnectionError)


def test_a_permanent_error_ends_the_wait_at_once(make: Any) -> None:
    client, api = make([prediction_body("processing"), json_response(ENVELOPE, 404)])
    with pytest.raises(NotFoundError):
        client.wait("pred1")
    assert len(api.requests) == 2


def test_retry_after_on_a_poll_is_honoured(make: Any, clock: FakeClock) -> None:
    client, _ = make(
        [
            json_response(prediction_body("processing"), 200, **{"retry-after": "12"}),
            prediction_body("succeeded", output="done"),
        ]
    )
    client.wait("pred1")
    assert clock.sleeps == [12.0]


def test_unknown_status_is_not_terminal_and_warned_once(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cometapi_replicate")
    client, _ = make(
        [
            prediction_body("queued"),
            prediction_body("queued", logs="x"),
            prediction_body("succeeded"),
        ]
    )
    assert client.wait("pred1").status == "succeeded"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "queued" in warnings[0].getMessage()


# --- redaction -------------------------------------------------------------------------------


def test_the_key_never_appears_in_errors_or_logs(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"invalid key {KEY}", "code": "bad_key"}}
    client, _ = make(
        [
            json_response(prediction_body("processing"), 200),
            httpx.ConnectError(f"could not reach host with {KEY}"),
            json_response(echo, 503, **{"x-request-id": KEY}),
            json_response(echo, 401),
        ]
    )
    with pytest.raises(AuthenticationError) as info:
        client.wait("pred1")
    error = info.value
    assert KEY not in str(error) and KEY not in error.body and KEY not in repr(error.args)
    assert "<redacted>" in error.message
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "retry" in logged or "poll" in logged, "DEBUG logging is on"
    assert KEY not in logged
    assert KEY not in caplog.text


# --- async specifics -------------------------------------------------------------------------


def test_cancelling_an_async_wait_ends_it_promptly_and_closes_cleanly() -> None:
    hits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(0)
        return json_response(prediction_body("processing"))

    async def main() -> None:
        transport = httpx.MockTransport(handler)
        async with AsyncClient(
            KEY, base_url=BASE, http_client=httpx.AsyncClient(transport=transport)
        ) as client:
            task = asyncio.create_task(client.predictions.wait("pred1", poll_interval=5))
            await asyncio.sleep(0.05)
            task.cancel()
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert loop.time() - started < 1.0
        assert client._http.is_closed

    asyncio.run(main())
    assert len(hits) == 1


def test_wait_reports_only_states_the_caller_has_not_seen(make: Any) -> None:
    client, api = make(
        [prediction_body("processing"), prediction_body("processing"), prediction_body("failed")]
    )
    updates: list[str] = []
    given = Prediction.from_dict(prediction_body("processing"))
    final = client.wait(given, on_update=lambda p: updates.append(p.status))
    assert final.status == "failed" and len(api.requests) == 3
    assert updates == ["failed"], "not the stale prediction it was given, nor a repeat of it"
    done = Prediction.from_dict(prediction_body("succeeded", output="done"))
    assert client.wait(done, on_update=lambda p: updates.append("again")) is done
    assert updates == ["failed"]


def test_async_client_awaits_an_async_on_update_and_calls_a_plain_one() -> None:
    script = [
        prediction_body("starting"),
        prediction_body("processing"),
        prediction_body("succeeded"),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(script.pop(0) if len(script) > 1 else script[0])

    seen: list[str] = []

    async def record(prediction: Prediction) -> None:
        await asyncio.sleep(0)
        seen.append(f"async {prediction.status}")

    async def main() -> None:
        mock = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with AsyncClient(KEY, base_url=BASE, http_client=mock, clock=FakeClock()) as client:
            await client.predictions.wait("pred1", on_update=record)
            script[:] = [prediction_body("starting"), prediction_body("succeeded")]
            await client.run("o/m", {}, on_update=record)
            await client.predictions.wait("pred1", on_update=lambda p: seen.append(p.status))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" fails the test
        asyncio.run(main())
    assert seen == [
        "async starting",
        "async processing",
        "async succeeded",
        "async starting",
        "async succeeded",
        "succeeded",
    ]


_SNIFFIO_PROBE = """
import asyncio, sys, httpx
from cometapi_replicate import AsyncClient
from cometapi_replicate.testing import Sandbox
sandbox = Sandbox()
def marked():
    return "absent" if "sniffio" in sys.modules and sys.modules["sniffio"] is None else "free"
async def main():
    http = httpx.AsyncClient(transport=sandbox.transport())
    async with AsyncClient(**sandbox.client_kwargs(), http_client=http) as client:
        async with AsyncClient(**sandbox.client_kwargs(), http_client=http):
            created = await client.predictions.create("o/m", {})
        print((await client.predictions.get(created.id)).id == created.id, marked())
    print(marked())
asyncio.run(main())
import sniffio
print("sniffio", sniffio.__name__)
"""


@pytest.mark.parametrize("installed", [False, True])
def test_an_open_async_client_makes_a_missing_sniffio_fail_fast_and_leaves_one_installed(
    tmp_path: Path, installed: bool
) -> None:
    """httpcore imports ``sniffio`` on every async request; missing, each try searched the whole
    ``sys.path``. An open AsyncClient marks it absent, and the last one closed undoes that: a
    ``sniffio`` installed meanwhile (here: put on the path) imports afterwards."""
    stub = "def current_async_library():\n    return 'asyncio'\n"
    if installed:
        (tmp_path / "sniffio.py").write_text(stub)
    else:  # appears on the path only after the clients are closed
        probe_dir = tmp_path / "later"
        probe_dir.mkdir()
        (probe_dir / "sniffio.py").write_text(stub)
    later = "" if installed else f"sys.path.insert(0, {str(tmp_path / 'later')!r})\n"
    probe = _SNIFFIO_PROBE.replace("import sniffio\n", later + "import sniffio\n")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    inside = "True free" if installed else "True absent"
    assert done.stdout.splitlines() == [inside, "free", "sniffio sniffio"]


def test_the_bodys_input_is_input_and_to_dict_gives_the_body_back() -> None:
    """As the README's public surface says: ``input`` is a builtin's name, so the field is
    ``input_``; ``to_dict()`` still writes ``input``."""
    body = prediction_body("starting", input={"prompt": "a boat", "num_outputs": 2})
    prediction = Prediction.from_dict(body)
    assert prediction.input_ is not None and prediction.input_["prompt"] == "a boat"
    assert prediction.to_dict() == body


@pytest.mark.parametrize("key", [None, "", "   "])
def test_no_key_is_a_named_error_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    for client_class in (Client, AsyncClient):
        with pytest.raises(MissingAPIKeyError, match="no API key: pass api_key= or set COMETAPI"):
            client_class(key)
    assert issubclass(MissingAPIKeyError, CometAPIError)


# -- succeeded before its output: one grace per wait ------------------------------------------

NO_OUTPUT = prediction_body("succeeded")
WITH_OUTPUT = prediction_body("succeeded", output=["https://replicate.delivery/x/out-0.png"])


def test_a_server_flipping_back_to_processing_does_not_restart_the_grace(
    make: Any, clock: FakeClock
) -> None:
    flips = [NO_OUTPUT, prediction_body("processing")] * 50
    client, api = make(flips)
    p = client.wait("pred1", timeout=600)  # the grace, not the timeout, ends it
    assert p.status == "succeeded" and p.output is None
    grace = cr.OUTPUT_GRACE
    assert clock.now <= grace + 2.0 and len(api.requests) < 20, (clock.now, len(api.requests))


def test_a_poll_refused_during_the_grace_returns_the_state_already_seen(
    make: Any, clock: FakeClock
) -> None:
    gone = json_response({"detail": "gone"}, status=404)
    client, _ = make([NO_OUTPUT, gone])
    p = client.wait("pred1")
    assert p.status == "succeeded" and p.output is None and clock.now < cr.OUTPUT_GRACE


def test_run_reports_no_state_without_its_output_to_on_update(make: Any) -> None:
    client, _ = make([NO_OUTPUT, WITH_OUTPUT])
    seen: list[Any] = []
    p = client._run(client.client.run("o/m", {}, on_update=lambda s: seen.append(s.output)))
    assert p.output == WITH_OUTPUT["output"]
    assert seen == [WITH_OUTPUT["output"]], "the create's answer had no output: not reported"
