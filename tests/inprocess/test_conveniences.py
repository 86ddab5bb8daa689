"""Library conveniences: a prediction as JSON, base URLs as the docs write them, COMETAPI_LOG."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys

import httpx
import pytest

from cometapi_replicate import AsyncClient, Client, Prediction, to_json
from cometapi_replicate._http import normalize_base_url
from cometapi_replicate._logs import setup_logging

from ..conftest import KEY, prediction_body


def test_to_json_round_trips_a_prediction() -> None:
    body = prediction_body(
        "succeeded", output=["https://x.example/a.png"], input={"prompt": "ü"}, extra_field=1
    )
    prediction = Prediction.from_dict(body)
    text = to_json(prediction)
    assert json.loads(text) == body, "the API's field names, unknown fields kept"
    assert Prediction.from_dict(json.loads(text)) == prediction
    assert '\n  "id": "pred1",\n' in to_json(prediction, indent=2)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("https://api.cometapi.com", "https://api.cometapi.com"),
        ("https://api.cometapi.com/", "https://api.cometapi.com/"),
        ("https://api.cometapi.com/replicate", "https://api.cometapi.com/"),
        ("https://api.cometapi.com/replicate/v1", "https://api.cometapi.com/"),
        ("https://api.cometapi.com/replicate/v1/", "https://api.cometapi.com/"),
        ("https://proxy.example/comet/replicate/v1", "https://proxy.example/comet/"),
        ("https://proxy.example/notreplicate", "https://proxy.example/notreplicate"),
    ],
)
def test_a_base_url_as_the_docs_write_it_is_accepted(given: str, used: str) -> None:
    assert str(normalize_base_url(httpx.URL(given))) == used


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_requests_go_to_replicate_v1_once(cls: type[Client] | type[AsyncClient]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=prediction_body("succeeded"))

    if cls is Client:
        with Client(
            KEY,
            base_url="https://api.test.example/replicate/v1/",
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        ) as client:
            client.predictions.get("pred1")
    else:

        async def go() -> None:
            async with AsyncClient(
                KEY,
                base_url="https://api.test.example/replicate",
                http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
            ) as client:
                await client.predictions.get("pred1")

        asyncio.run(go())
    assert seen == ["https://api.test.example/replicate/v1/predictions/pred1"]


@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), ("INFO", logging.INFO)])
def test_setup_logging_adds_one_stderr_handler(value: str, level: int) -> None:
    logger = logging.getLogger("cometapi_replicate")
    before, root = logger.level, list(logging.getLogger().handlers)
    handler = setup_logging(value)
    try:
        assert handler in logger.handlers and logger.level == level
        assert logging.getLogger().handlers == root, "the root logger is the application's"
    finally:
        logger.removeHandler(handler)  # type: ignore[arg-type]
        logger.setLevel(before)


@pytest.mark.parametrize("value", [None, "", "verbose", "warning"])
def test_other_values_leave_logging_alone(
    value: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMETAPI_LOG", raising=False)
    assert setup_logging(value) is None


def test_cometapi_log_is_read_at_import() -> None:
    code = (
        "import logging, cometapi_replicate; "
        "logging.getLogger('cometapi_replicate._plans').debug('hello from the sdk'); "
        "print(len(logging.getLogger().handlers))"
    )
    env = {"COMETAPI_LOG": "debug", "PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "cometapi_replicate._plans DEBUG] hello from the sdk" in result.stderr
    assert result.stdout == "0\n", "the root logger is left alone"
