"""The API key is unprintable by construction: no repr, str or frame-local dump shows it."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import traceback
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest

from cometapi_replicate import (
    AsyncClient,
    AuthenticationError,
    Client,
    NotFoundError,
    Prediction,
)
from cometapi_replicate import _plans as plans
from cometapi_replicate._secret import Secret

from ..conftest import BASE, KEY, json_response, prediction_body

ECHO = {"error": {"message": f"invalid key {KEY}", "code": "bad_key"}}


def test_a_secret_never_shows_its_value() -> None:
    secret = Secret(KEY)
    assert secret.reveal() == KEY
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", format(secret, "")):
        assert KEY not in shown and "redacted" in shown
    assert secret.redact(f"echo {KEY}!") == "echo <redacted>!"
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        Secret("")


def reachable(root: object, depth: int = 6) -> Iterator[object]:
    """Every object reachable from ``root`` through attributes, dicts and sequences."""
    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        obj, level = stack.pop()
        if id(obj) in seen or level > depth:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, Secret | str | bytes | int | float | type) or callable(obj):
            continue  # a Secret is printed, never opened
        children: list[object] = []
        if isinstance(obj, dict):
            children = [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset):
            children = list(obj)
        else:
            children = list(getattr(obj, "__dict__", {}).values())
            for slot in getattr(type(obj), "__slots__", ()):
                children.append(getattr(obj, slot, None))
        stack.extend((child, level + 1) for child in children)


def assert_unprintable(root: object) -> None:
    for obj in reachable(root):
        assert KEY not in repr(obj), f"{type(obj).__name__} shows the key"
        assert KEY not in str(obj), f"{type(obj).__name__} shows the key"


def handler(request: httpx.Request) -> httpx.Response:
    return json_response(prediction_body("processing"))


def test_every_object_reachable_from_a_client_hides_the_key() -> None:
    for client in (
        Client(KEY, base_url=BASE),
        Client(KEY, base_url=BASE, http_client=httpx.Client()),
        AsyncClient(KEY, base_url=BASE),
        AsyncClient(KEY, base_url=BASE, http_client=httpx.AsyncClient()),
    ):
        assert_unprintable(client)
        settings = client._settings
        assert_unprintable(settings.context)
        assert_unprintable(client._http._auth)
        assert_unprintable(client._files._transport)


def test_a_plans_frame_locals_hide_the_key() -> None:
    client = Client(KEY, base_url=BASE)
    for plan in (
        plans.get("pred1", client._settings.context),
        plans.watch("pred1", client._settings.context),
        plans.run("o/m", {"prompt": "x"}, client._settings.context),
    ):
        next(plan)
        assert_unprintable(inspect.getgeneratorlocals(plan))
        plan.close()


def failing(script: list[httpx.Response]) -> Any:
    def respond(request: httpx.Request) -> httpx.Response:
        return script.pop(0) if len(script) > 1 else script[0]

    return respond


def formatted(error: BaseException) -> str:
    """The traceback with every frame's locals, as Sentry or ``--showlocals`` would show it."""
    text = "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    from rich.console import Console
    from rich.traceback import Traceback

    out = StringIO()
    console = Console(file=out, width=200)
    console.print(
        Traceback.from_exception(type(error), error, error.__traceback__, show_locals=True)
    )
    return text + out.getvalue()


def test_tracebacks_with_locals_hide_the_key_sync(tmp_path: Path) -> None:
    script = [json_response(prediction_body("processing")), json_response(ECHO, 401)]
    mock = httpx.Client(transport=httpx.MockTransport(failing(script)))
    with Client(KEY, base_url=BASE, http_client=mock, max_retries=0) as client:
        with pytest.raises(AuthenticationError) as waited:
            client.predictions.wait("pred1", poll_interval=0.25)
        own_file = prediction_body("succeeded", output=[f"{BASE}/files/a.png"])
        with pytest.raises(AuthenticationError) as downloaded:
            client.predictions.download(Prediction.from_dict(own_file), tmp_path)
    for info in (waited, downloaded):
        shown = formatted(info.value)
        assert "Traceback" in shown and "Context(timing=" in shown, "frame locals were printed"
        assert KEY not in shown


def test_tracebacks_with_locals_hide_the_key_async(tmp_path: Path) -> None:
    own_file = Prediction.from_dict(prediction_body("succeeded", output=[f"{BASE}/files/a.png"]))

    async def main() -> list[BaseException]:
        mock = httpx.AsyncClient(transport=httpx.MockTransport(failing([json_response(ECHO, 404)])))
        errors: list[BaseException] = []
        async with AsyncClient(KEY, base_url=BASE, http_client=mock) as client:
            with pytest.raises(NotFoundError) as waited:
                await client.predictions.wait("pred1")
            errors.append(waited.value)
            with pytest.raises(NotFoundError) as downloaded:
                await client.predictions.download(own_file, tmp_path)
            errors.append(downloaded.value)
        return errors

    for error in asyncio.run(main()):
        shown = formatted(error)
        assert "Context(timing=" in shown and KEY not in shown
