"""Typed inputs through the clients, the batch and the sandbox, in process: a refused input
sends nothing (the sandbox counts every request), an ``Input`` instance is sent as its dict,
and ``validate=False`` is the way past an outdated vendored document."""

from __future__ import annotations

import asyncio
import copy
import sys
import types
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cometapi_replicate_models.black_forest_labs.flux_schnell import AspectRatio, Input
from cometapi_replicate_models.black_forest_labs.flux_schnell.schema import SCHEMAS

import cometapi_replicate
from cometapi_replicate import (
    APIStatusError,
    AsyncClient,
    Client,
    InvalidInputError,
    OutputUnavailableError,
    _models,
    input_type,
    output_text,
)
from cometapi_replicate._model_inputs import ModelSchema
from cometapi_replicate.testing import Sandbox

FLUX = "black-forest-labs/flux-schnell"
FAST = {"sandbox_queue": 0, "sandbox_run": 0}
BAD: list[dict[str, Any]] = [
    {"prompt": "a fox", "aspectratio": "1:1"},
    {"prompt": "a fox", "aspect_ratio": "16x9"},
    {"prompt": "a fox", "num_outputs": 5},
    {"prompt": "a fox", "num_inference_steps": "many"},
    {"aspect_ratio": "1:1"},
]


def client_of(sandbox: Sandbox) -> Client:
    return Client(
        **sandbox.client_kwargs(), http_client=httpx.Client(transport=sandbox.transport())
    )


def aclient_of(sandbox: Sandbox) -> AsyncClient:
    http = httpx.AsyncClient(transport=sandbox.transport())
    return AsyncClient(**sandbox.client_kwargs(), http_client=http)


def newer(schemas: dict[str, Any], name: str = "style") -> dict[str, Any]:
    """The vendored schemas with one more input: the live model after an update."""
    live = copy.deepcopy(schemas)
    live["Input"]["properties"][name] = {"type": "string", "x-order": 99}
    return live


@pytest.mark.parametrize("bad", BAD)
def test_a_refused_input_sends_nothing_from_create_or_run(bad: dict[str, Any]) -> None:
    sandbox = Sandbox()
    with client_of(sandbox) as client:
        with pytest.raises(InvalidInputError):
            client.predictions.create(FLUX, bad)
        with pytest.raises(ValueError, match=FLUX):
            client.run(FLUX, bad)
    assert sandbox.requests == []


@pytest.mark.parametrize("bad", BAD)
def test_the_async_client_refuses_before_sending_too(bad: dict[str, Any]) -> None:
    sandbox = Sandbox()

    async def main() -> None:
        async with aclient_of(sandbox) as client:
            with pytest.raises(InvalidInputError):
                await client.predictions.create(FLUX, bad)
            with pytest.raises(InvalidInputError):
                await client.run(FLUX, bad)

    asyncio.run(main())
    assert sandbox.requests == []


def test_an_input_instance_is_sent_as_its_dict() -> None:
    sandbox = Sandbox(queue=0, run=0)
    typed = Input(prompt="a fox", aspect_ratio=AspectRatio.V16_9, num_outputs=2)
    with client_of(sandbox) as client:
        prediction = client.run(FLUX, typed)
    assert sandbox.creates == {Sandbox.input_key(typed.to_dict()): 1}
    assert len(cometapi_replicate.output_urls(prediction)) == 2

    async def main() -> None:
        async with aclient_of(sandbox) as client:
            await client.predictions.create(FLUX, typed)

    asyncio.run(main())
    assert sandbox.creates[Sandbox.input_key(typed.to_dict())] == 2


def test_an_input_instance_with_a_bad_value_is_refused() -> None:
    sandbox = Sandbox()
    typed = Input(prompt="a fox", num_outputs=9)
    with client_of(sandbox) as client, pytest.raises(InvalidInputError) as refused:
        client.predictions.create(FLUX, typed)
    assert refused.value.fields == ["num_outputs"]
    assert sandbox.requests == []


def test_neither_a_dict_nor_an_input_is_a_type_error_before_sending() -> None:
    sandbox = Sandbox()
    with client_of(sandbox) as client:
        for wrong in (["prompt"], Input, "prompt=a"):
            with pytest.raises(TypeError, match="Input class"):
                client.predictions.create(FLUX, wrong)  # type: ignore[arg-type]
    assert sandbox.requests == []


def test_the_sandbox_answers_422_naming_the_field_when_validation_is_off() -> None:
    sandbox = Sandbox()
    with client_of(sandbox) as client, pytest.raises(APIStatusError) as refused:
        client.predictions.create(FLUX, {"prompt": "a fox", "aspect_ratio": "16x9"}, validate=False)
    error = refused.value
    assert error.status_code == 422 and error.code == "invalid_input"
    assert "input.aspect_ratio" in error.message and '"16:9"' in error.message
    assert '"param": "aspect_ratio"' in error.body
    assert sandbox.stats()["requests"] == {"create": 1} and sandbox.creates == {}


def test_validate_false_reaches_a_live_model_with_an_input_the_document_lacks() -> None:
    """The escape: the live model (the sandbox, given its newer schemas) takes ``style``,
    which the vendored document does not list."""
    sandbox = Sandbox(queue=0, run=0, schemas={FLUX: newer(SCHEMAS)})
    wanted = {"prompt": "a fox", "style": "ink", **FAST}
    with client_of(sandbox) as client:
        with pytest.raises(InvalidInputError, match="style: unknown input"):
            client.run(FLUX, wanted)  # the outdated document refuses it
        assert sandbox.requests == []
        prediction = client.run(FLUX, wanted, validate=False)
    assert prediction.status == "succeeded"
    assert sandbox.creates == {Sandbox.input_key(wanted): 1}

    async def main() -> None:
        async with aclient_of(sandbox) as client:
            await client.run(FLUX, wanted, validate=False)

    asyncio.run(main())
    assert sandbox.creates == {Sandbox.input_key(wanted): 2}


def test_the_sandbox_can_accept_every_input() -> None:
    for sandbox in (Sandbox(validate_inputs=False), Sandbox(schemas={FLUX: None})):
        with client_of(sandbox) as client:
            created = client.predictions.create(FLUX, {"anything": 1}, validate=False)
        assert created.status == "starting"


def test_a_model_without_a_document_is_sent_as_it_is() -> None:
    sandbox = Sandbox(queue=0, run=0)
    with client_of(sandbox) as client:
        client.run("someone/unvendored", {"whatever": [1, 2], **FAST})
    assert input_type("someone/unvendored") is None
    assert sum(sandbox.creates.values()) == 1


def test_input_type_finds_the_generated_class() -> None:
    assert input_type(FLUX) is Input
    assert input_type("Black-Forest-Labs/flux-schnell") is Input
    assert input_type("nobody/nothing") is None
    with pytest.raises(ValueError, match="owner/name"):
        input_type("flux-schnell")


def test_a_list_batch_checks_every_item_before_the_first_create() -> None:
    sandbox = Sandbox(queue=0, run=0)
    items: list[Any] = [
        {"prompt": "a", **FAST},
        {"prompt": "b", "num_outputs": 7},
        ("c", {"promt": "c"}),
    ]
    with client_of(sandbox) as client:
        with pytest.raises(InvalidInputError) as refused:
            client.batch(FLUX, items)
        assert refused.value.fields == ["item 1: num_outputs", "item c: prompt", "item c: promt"]
        with pytest.raises(InvalidInputError):
            aclient_of(sandbox).batch(FLUX, items)
    assert sandbox.requests == []


def test_a_batch_takes_input_instances_and_validate_false() -> None:
    sandbox = Sandbox(queue=0, run=0, schemas={FLUX: newer(SCHEMAS)})
    items: list[Any] = [Input(prompt="a"), ("b", Input(prompt="b")), {"prompt": "c", "style": "x"}]
    with client_of(sandbox) as client:
        results = list(client.batch(FLUX, items, validate=False))
    assert sorted(r.key for r in results if r.ok) == ["0", "2", "b"]
    assert sum(sandbox.creates.values()) == 3


def test_an_iterator_batch_refuses_a_bad_item_as_its_result_and_sends_nothing_for_it() -> None:
    sandbox = Sandbox(queue=0, run=0)

    def items() -> Iterator[dict[str, Any]]:
        yield {"prompt": "a", **FAST}
        yield {"prompt": "b", "aspect_ratio": "16x9"}

    with client_of(sandbox) as client:
        results = {r.key: r for r in client.batch(FLUX, items())}
    assert results["0"].ok and not results["1"].ok
    assert "aspect_ratio" in str(results["1"].error)
    assert sandbox.stats()["requests"]["create"] == 1


def test_output_text_joins_streamed_text_as_the_document_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    streamer = {
        "Input": {"type": "object", "properties": {"prompt": {"type": "string"}}},
        "Output": {
            "type": "array",
            "items": {"type": "string"},
            "x-cog-array-type": "iterator",
            "x-cog-array-display": "concatenate",
        },
    }
    lister = {**streamer, "Output": {"type": "array", "items": {"type": "string"}}}
    monkeypatch.setitem(_models._schemas, "test/streamer", ModelSchema("test/streamer", streamer))
    monkeypatch.setitem(_models._schemas, "test/lister", ModelSchema("test/lister", lister))
    sandbox = Sandbox(queue=0, run=0, validate_inputs=False)
    tokens = {"prompt": "hi", "sandbox_output": ["Hel", "lo", " there"]}
    with client_of(sandbox) as client:
        assert output_text(client.run("test/streamer", tokens)) == "Hello there"
        assert output_text(client.run("other/llm", tokens)) == "Hello there"  # no document
        with pytest.raises(OutputUnavailableError, match="not text"):
            output_text(client.run("test/lister", tokens))  # a list of labels, not tokens
        text = client.run("other/echo", {"sandbox_output": "plain", **FAST})
        assert output_text(text) == "plain"
        files = client.run(FLUX, {"prompt": "a", **FAST})
        with pytest.raises(OutputUnavailableError, match="files, not text"):
            output_text(files)
        started = client.predictions.create("test/streamer", {"sandbox_queue": 5})
        assert output_text(started) == ""  # no text yet


def test_an_untyped_model_has_no_class_but_its_input_is_still_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A document the generator could not type: ``TYPED = False`` and no ``Input``."""
    schema = types.ModuleType("cometapi_replicate_models.test_owner.untyped.schema")
    schema.MODEL, schema.VERSION, schema.TYPED = "test-owner/untyped", None, False  # type: ignore[attr-defined]
    schema.SCHEMAS = {  # type: ignore[attr-defined]
        "Input": {"type": "object", "properties": {"n": {"type": "integer", "maximum": 3}}}
    }
    monkeypatch.setitem(sys.modules, schema.__name__, schema)
    index = {**_models._index(), "test-owner/untyped": "test_owner.untyped"}
    monkeypatch.setattr(_models, "_index", lambda: index)
    monkeypatch.setattr(_models, "_schemas", {})
    assert input_type("test-owner/untyped") is None
    sandbox = Sandbox()
    with client_of(sandbox) as client, pytest.raises(InvalidInputError, match="n: an integer"):
        client.predictions.create("test-owner/untyped", {"n": 4})
    assert sandbox.requests == []
