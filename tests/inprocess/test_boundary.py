"""Everything a server sends goes through one defensive boundary; the key never comes back out.

In process (httpx.MockTransport, simulated clock), with ``hypothesis`` fuzzing ids, model names,
bodies and headers: every outcome is a prediction or one of the SDK's own errors.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cometapi_replicate import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    Client,
    CometAPIError,
    OutputUnavailableError,
    PredictionFailedError,
    ResponseValidationError,
    WaitTimeoutError,
    raise_for_failure,
)
from cometapi_replicate._responses import MAX_HEADER_VALUE, MAX_RESPONSE_BYTES, parse_retry_after
from cometapi_replicate._secret import Secret, normalize_key

from ..conftest import (
    BASE,
    KEY,
    FakeClock,
    assert_hidden,
    exception_chain,
    exposed,
    json_response,
    outcome_of,
    prediction_body,
)

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ESCAPED = "".join(f"\\u{ord(c):04x}" for c in KEY)


def escaped_json(template: dict[str, Any], form: str = ESCAPED) -> bytes:
    """``template`` as JSON with ``@KEY@`` replaced by ``form`` inside its strings."""
    return json.dumps(template).replace("@KEY@", form).encode()


def client_on(respond: Any, **kwargs: Any) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = respond(request) if callable(respond) else respond
        return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)

    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("clock", FakeClock())
    mock = httpx.Client(transport=httpx.MockTransport(handler))
    return Client(KEY, base_url=BASE, http_client=mock, **kwargs), seen


def shown(error: BaseException) -> str:
    return exposed(error, skip=__file__)


# -- deep nesting, sizes, Retry-After -----------------------------------------------------------


@pytest.mark.parametrize("status", [200, 500])
def test_a_body_nested_100000_deep_is_a_typed_error(status: int) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    client, _ = client_on(httpx.Response(status, content=deep))
    expected = ResponseValidationError if status == 200 else APIStatusError
    with pytest.raises(expected):
        client.predictions.get("pred1")


def test_a_body_nested_past_the_depth_limit_is_a_typed_error() -> None:
    node: dict[str, Any] = {}
    body = {"id": "pred1", "status": "processing", "input": node}
    for _ in range(500):
        node["x"] = {}
        node = node["x"]
    client, _ = client_on(json_response(body))
    with pytest.raises(ResponseValidationError, match="nested"):
        client.predictions.get("pred1")


def test_a_body_over_max_response_bytes_is_refused() -> None:
    big = prediction_body(logs="x" * 5000)
    client, _ = client_on(json_response(big), max_response_bytes=4096)
    with pytest.raises(ResponseValidationError, match="larger than 4096 bytes"):
        client.predictions.get("pred1")
    client, _ = client_on(json_response(big))
    assert client.predictions.get("pred1").logs == "x" * 5000
    assert MAX_RESPONSE_BYTES == 16 * 1024 * 1024
    with pytest.raises(ValueError, match="max_response_bytes"):
        Client(KEY, base_url=BASE, max_response_bytes=0)


@pytest.mark.parametrize(
    "value",
    [
        "Tue, 01 Jan 99999 00:00:00 GMT",
        "Tue, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Tue, 01 Jan 2026 00:00:00 +99999999999999999999",
        "Tue, 01 Jan 2026 00:00:00 +9999",
        "Tue, 01 Jan 0000 00:00:00 -9999",
        "1e999",
        "nan",
        "9" * 5000,
    ],
)
def test_an_absurd_retry_after_on_a_success_is_ignored(value: str) -> None:
    client, _ = client_on(
        json_response(prediction_body("succeeded"), 200, **{"retry-after": value})
    )
    assert client.predictions.get("pred1").status == "succeeded"
    assert parse_retry_after({"retry-after": value}, 0.0) is None


@FUZZ
@given(
    st.one_of(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
        st.builds(
            "{}, {:02d} {} {} {:02d}:{:02d}:{:02d} {}".format,
            st.sampled_from(["Tue", "Xyz", ""]),
            st.integers(-5, 99),
            st.sampled_from(["Jan", "Feb", "Foo"]),
            st.integers(-(10**25), 10**25),
            st.integers(0, 99),
            st.integers(0, 99),
            st.integers(0, 99),
            st.sampled_from(["GMT", "UTC", "+9999", "-9999", "+0000", "EST", "Z", ""]),
        ),
    )
)
def test_any_retry_after_is_a_number_of_seconds_or_none(value: str) -> None:
    for name in ("retry-after", "retry-after-ms"):
        seconds = parse_retry_after({name: value}, 1.7e9)
        assert seconds is None or 0 <= seconds < float("inf")


# -- ids and model names -----------------------------------------------------------------------


def test_an_id_with_a_lone_surrogate_is_a_value_error_before_the_network() -> None:
    client, seen = client_on(json_response(prediction_body()))
    for bad in ("\ud800", "pred\udfff1", "a\u2028b"):
        with pytest.raises(ValueError, match="prediction id"):
            client.predictions.get(bad)
    assert seen == []


@FUZZ
@given(st.text(max_size=140))
def test_any_id_is_sent_as_one_path_segment_or_refused_before_the_network(text: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:  # the prediction asked for
        asked = request.url.path.removeprefix("/replicate/v1/predictions/")
        return json_response(prediction_body("processing", id=asked))

    client, seen = client_on(answer)
    try:
        client.predictions.get(text)
    except ValueError:
        assert seen == []
    else:
        assert len(seen) == 1
        path = seen[0].url.path
        assert path.startswith("/replicate/v1/predictions/")
        assert path.removeprefix("/replicate/v1/predictions/") == text


@FUZZ
@given(st.text(max_size=60))
def test_any_model_name_is_sent_to_its_route_or_refused_before_the_network(model: str) -> None:
    client, seen = client_on(json_response(prediction_body("starting")))
    try:
        client.predictions.create(model, {})
    except ValueError:
        assert seen == []
    else:
        owner, name = model.split("/")
        assert seen[0].url.path == f"/replicate/v1/models/{owner}/{name}/predictions"


# -- any body, any status, any header ----------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "status", "output", "error", "logs", "urls", "x"]) | st.text(),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
BODIES = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries(
        {"id": st.text(max_size=10) | st.just("pred1"), "status": JSON | st.just("succeeded")},
        optional={"output": JSON, "error": JSON, "logs": JSON, "urls": JSON, "input": JSON},
    ).map(lambda value: json.dumps(value).encode()),
)
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300)


@FUZZ
@given(
    st.sampled_from([200, 201, 204, 301, 400, 401, 404, 408, 429, 500, 502, 524, 599]),
    BODIES,
    st.dictionaries(
        st.sampled_from(["retry-after", "retry-after-ms", "x-request-id", "content-type", "x-a"]),
        HEADER_TEXT,
        max_size=4,
    ),
)
def test_any_response_is_a_prediction_or_the_sdks_own_error(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    client, _ = client_on(httpx.Response(status, content=body, headers=headers))
    outcome = outcome_of(lambda: client.predictions.get("pred1"))
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, APIStatusError | ResponseValidationError), repr(outcome)
        assert all(isinstance(link, CometAPIError) for link in exception_chain(outcome))
    else:
        assert isinstance(outcome.id, str) and isinstance(outcome.status, str)


# -- the key: normalised, never echoed -------------------------------------------------------


def test_the_key_is_normalised_once() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return json_response(prediction_body("succeeded"))

    for raw in (f"{KEY}\n", f"  {KEY}\r\n", f"\t{KEY}"):
        mock = httpx.Client(transport=httpx.MockTransport(handler))
        with Client(raw, base_url=BASE, http_client=mock) as client:
            client.predictions.get("pred1")
    assert seen == [f"Bearer {KEY}"] * 3
    for bad in (f"{KEY[:5]} {KEY[5:]}", f"{KEY}\x00x", f"{KEY}\nx", f"{KEY}é"):
        with pytest.raises(ValueError, match="API key") as refused:
            Client(bad, base_url=BASE)
        assert KEY[5:] not in str(refused.value)
    assert isinstance(normalize_key(KEY), Secret)


@pytest.mark.parametrize("form", [KEY, ESCAPED, KEY.replace("-", "\\u002D")])
def test_an_echoed_key_never_reaches_an_error(form: str) -> None:
    body = escaped_json({"error": {"message": "bad key @KEY@", "code": "bad"}}, form)
    headers = {"www-authenticate": f'Bearer token="{form}"', "location": f"https://x/?k={form}"}
    client, _ = client_on(httpx.Response(401, content=body, headers=headers))
    with pytest.raises(AuthenticationError) as raised:
        client.predictions.get("pred1")
    assert_hidden(shown(raised.value))
    assert (
        form not in str(raised.value.headers) and "<redacted>" in raised.value.headers["location"]
    )
    assert form not in raised.value.body


@pytest.mark.parametrize("form", [KEY, ESCAPED])
def test_server_fields_that_echo_the_key_are_redacted_everywhere(
    form: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    failed = escaped_json(prediction_body("failed", error="bad @KEY@"), form)
    client, _ = client_on(httpx.Response(200, content=failed))
    with pytest.raises(PredictionFailedError) as raised:
        raise_for_failure(client.predictions.get("pred1"))
    assert_hidden(shown(raised.value))

    clock = FakeClock()
    odd = escaped_json(prediction_body("@KEY@"), form)
    client, _ = client_on(httpx.Response(200, content=odd), clock=clock)
    with pytest.raises(WaitTimeoutError) as waited:
        client.predictions.wait("pred1", timeout=3)
    assert_hidden(shown(waited.value))

    output = escaped_json(prediction_body("succeeded", output=["@KEY@:x"]), form)
    client, _ = client_on(httpx.Response(200, content=output))
    prediction = client.predictions.get("pred1")
    with pytest.raises(OutputUnavailableError) as refused:  # not a URL: text, no files
        client.predictions.download(prediction, tmp_path)
    assert_hidden(shown(refused.value))
    assert any("unknown status" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert_hidden(record.getMessage())


def test_a_foreign_exception_never_hangs_on_the_sdks_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot send {request.headers['authorization']}")

    mock = httpx.Client(transport=httpx.MockTransport(refuse))
    client = Client(KEY, base_url=BASE, http_client=mock, max_retries=0)
    with pytest.raises(APIConnectionError, match="ConnectError") as raised:
        client.predictions.get("pred1")
    assert all(isinstance(link, CometAPIError) for link in exception_chain(raised.value))
    assert_hidden(shown(raised.value))


def test_plain_http_is_for_loopback_unless_allowed() -> None:
    with pytest.raises(ValueError, match="allow_insecure_http") as refused:
        Client(KEY, base_url="http://api.cometapi.com")
    assert KEY not in str(refused.value)
    for loopback in ("http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"):
        Client(KEY, base_url=loopback).close()
    Client(KEY, base_url="http://api.cometapi.com", allow_insecure_http=True).close()


def test_a_prediction_whose_id_cannot_go_in_a_url_is_a_validation_error() -> None:
    for bad in ("a/b", "..", "x\ud800", ""):
        client, _ = client_on(json_response(prediction_body("processing", id=bad)))
        with pytest.raises(ResponseValidationError, match="id"):
            client.predictions.get("pred1")


def test_headers_kept_on_an_error_are_cut_to_a_bounded_size() -> None:
    huge = {"x-huge": "y" * 100_000, "www-authenticate": f"Bearer {KEY}"}
    client, _ = client_on(json_response({"error": "no"}, 403, **huge))
    with pytest.raises(APIStatusError) as raised:
        client.predictions.get("pred1")
    assert raised.value.headers["x-huge"] == "y" * MAX_HEADER_VALUE
    assert raised.value.headers["WWW-Authenticate"] == "Bearer <redacted>"
