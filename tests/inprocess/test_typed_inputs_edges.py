"""Typed inputs at their edges: enum members and plain strings in either form of an input,
another model's ``Input``, ``None`` for an optional input, numbers too large for JSON, and
documents shaped to make a checker hang or refuse everything. The sandbox counts every
request: a refusal sends none, and a batch never calls an unsent item *unknown*."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cometapi_replicate_models.black_forest_labs.flux_schnell import AspectRatio, Input

from cometapi_replicate import APIStatusError, AsyncClient, Client, InvalidInputError, _models
from cometapi_replicate._model_inputs import MAX_SHOWN, ModelSchema
from cometapi_replicate.testing import Sandbox

FLUX = "black-forest-labs/flux-schnell"
FAST = {"sandbox_queue": 0, "sandbox_run": 0}
HUGE: list[Any] = [10**400, "1" * 400, "1" * 5000, -(10**400)]


def client_of(sandbox: Sandbox) -> Client:
    return Client(
        **sandbox.client_kwargs(), http_client=httpx.Client(transport=sandbox.transport())
    )


def sent_inputs(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The ``input`` of every create the sandbox kept, as it received it."""
    return [p.input for p in sandbox._predictions.values()]


def test_an_enum_member_in_a_dict_is_sent_as_its_value() -> None:
    sandbox = Sandbox(queue=0, run=0)
    with client_of(sandbox) as client:
        client.run(FLUX, {"prompt": "a", "aspect_ratio": AspectRatio.V16_9, **FAST})
    assert sent_inputs(sandbox) == [{"prompt": "a", "aspect_ratio": "16:9", **FAST}]


def test_a_plain_string_in_an_enum_field_of_an_input_is_checked_like_any_value() -> None:
    sandbox = Sandbox(queue=0, run=0)
    with client_of(sandbox) as client:
        client.predictions.create(FLUX, Input(prompt="a", aspect_ratio="16:9"))  # type: ignore[arg-type]
        assert sent_inputs(sandbox)[0]["aspect_ratio"] == "16:9"
        with pytest.raises(InvalidInputError) as refused:
            client.predictions.create(FLUX, Input(prompt="a", aspect_ratio="16x9"))  # type: ignore[arg-type]
    assert refused.value.fields == ["aspect_ratio"] and 'not "16x9"' in str(refused.value)
    assert sandbox.stats()["requests"] == {"create": 1}


@pytest.mark.parametrize("model", ["black-forest-labs/flux-dev", "someone/unvendored"])
def test_an_input_of_another_model_is_refused_naming_both(model: str) -> None:
    sandbox = Sandbox()
    with client_of(sandbox) as client, pytest.raises(TypeError) as refused:
        client.predictions.create(model, Input(prompt="a"))
    assert FLUX in str(refused.value) and model in str(refused.value)
    with client_of(sandbox) as client, pytest.raises(TypeError, match=FLUX):
        client.batch(model, [Input(prompt="a")])
    assert sandbox.requests == []


def test_none_for_an_optional_input_is_not_given() -> None:
    sandbox = Sandbox(queue=0, run=0)
    with client_of(sandbox) as client:
        client.run(FLUX, {"prompt": "a", "seed": None, "aspect_ratio": None, **FAST})
        with pytest.raises(InvalidInputError, match="prompt"):
            client.predictions.create(FLUX, {"prompt": None})  # required: still refused
    assert sent_inputs(sandbox) == [{"prompt": "a", **FAST}]


@pytest.mark.parametrize("number", HUGE, ids=["int", "400 digits", "5000 digits", "negative"])
def test_a_number_too_large_for_json_is_refused_not_a_crash(number: Any) -> None:
    sandbox = Sandbox()
    with client_of(sandbox) as client:
        for field in ("seed", "num_outputs"):
            with pytest.raises(InvalidInputError) as refused:
                client.predictions.create(FLUX, {"prompt": "a", field: number})
            assert refused.value.fields == [field] and len(str(refused.value)) < 400
    assert sandbox.requests == []


def test_a_batch_item_that_fails_before_sending_is_an_error_never_unknown(
    tmp_path: Path,
) -> None:
    """An iterator is checked item by item as it is read: a refused item, and one whose
    encoding fails with an exception no check foresaw, end as errors; the journal keeps them
    pending (sent again on resume), never *creating* ("may exist and be billed")."""

    class Unreadable:
        mode = "rb"

        def read(self) -> bytes:
            raise RuntimeError("the device is gone")

    def checked() -> Iterator[tuple[str, dict[str, Any]]]:
        yield "good", {"prompt": "a", **FAST}
        yield "huge", {"prompt": "b", "seed": 10**400}

    def unchecked() -> Iterator[tuple[str, dict[str, Any]]]:
        yield "good", {"prompt": "a", **FAST}
        yield "unreadable", {"prompt": "c", "image": Unreadable()}

    sandbox = Sandbox(queue=0, run=0, validate_inputs=False)
    with client_of(sandbox) as client:
        first = {r.key: r for r in client.batch(FLUX, checked(), journal=tmp_path / "1.db")}
        second = {
            r.key: r
            for r in client.batch(FLUX, unchecked(), validate=False, journal=tmp_path / "2.db")
        }
    assert first["good"].ok and second["good"].ok
    assert first["huge"].outcome == "error" and "seed" in str(first["huge"].error)
    assert second["unreadable"].outcome == "error"
    assert "device is gone" in str(second["unreadable"].error)
    assert sandbox.stats()["requests"]["create"] == 2
    for journal, key in ((tmp_path / "1.db", "huge"), (tmp_path / "2.db", "unreadable")):
        with sqlite3.connect(journal) as db:
            stages = dict(db.execute("SELECT key, stage FROM items").fetchall())
        assert stages[key] == "pending"


def test_the_async_batch_records_a_failure_before_sending_as_an_error() -> None:
    sandbox = Sandbox(queue=0, run=0)

    def items() -> Iterator[dict[str, Any]]:
        yield {"prompt": "a", "seed": 10**400}

    async def main() -> list[Any]:
        http = httpx.AsyncClient(transport=sandbox.transport())
        async with AsyncClient(**sandbox.client_kwargs(), http_client=http) as client:
            return [r async for r in client.batch(FLUX, items())]

    (result,) = asyncio.run(main())
    assert result.outcome == "error"
    assert sandbox.requests == []


@pytest.mark.parametrize(
    "hostile",
    [
        {"prompt": "a", "num_outputs": 10**400},
        {"prompt": "a", "sandbox_queue": 10**400},
        {"prompt": "a", "num_outputs": 1e308, "seed": -(10**400)},
    ],
)
def test_the_sandbox_answers_a_hostile_body_with_4xx_never_500(hostile: dict[str, Any]) -> None:
    for sandbox in (Sandbox(), Sandbox(validate_inputs=False)):
        with httpx.Client(transport=sandbox.transport()) as http:
            answer = http.post(
                f"{sandbox.api_url}/replicate/v1/models/{FLUX}/predictions",
                content=json.dumps({"input": hostile}).encode(),
                headers={"Authorization": f"Bearer {sandbox.key}"},
            )
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["error"]["message"]


def fan_out(levels: int) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        f"L{i}": {"allOf": [{"$ref": f"#/components/schemas/L{i + 1}"}] * 2} for i in range(levels)
    }
    schemas[f"L{levels}"] = {"type": "string"}
    schemas["Input"] = {
        "type": "object",
        "properties": {"prompt": {"allOf": [{"$ref": "#/components/schemas/L0"}]}},
    }
    return schemas


def test_an_allof_fan_out_is_resolved_once_per_reference() -> None:
    schema = ModelSchema("test/fan", fan_out(25))  # 2**25 paths, 26 references
    assert schema.problems({"prompt": "a"}) == []
    assert schema.problems({"prompt": 1}) == [("prompt", "a string; not 1")]


def test_an_input_that_refers_to_itself_is_not_checked_rather_than_refusing_all() -> None:
    cyclic = {
        "Input": {"allOf": [{"$ref": "#/components/schemas/A"}]},
        "A": {"allOf": [{"$ref": "#/components/schemas/B"}]},
        "B": {"allOf": [{"$ref": "#/components/schemas/A"}]},
    }
    for schemas in (cyclic, {"Input": {"$ref": "#/components/schemas/Missing"}}):
        schema = ModelSchema("test/cycle", schemas)
        assert not schema.checkable
        assert schema.problems({"anything": 1}) == []
    empty = ModelSchema("test/none", {"Input": {"type": "object", "properties": {}}})
    assert empty.problems({"x": 1}) == [("x", "unknown input; the model takes no inputs")]


def test_a_vendored_id_is_found_whatever_its_case(monkeypatch: pytest.MonkeyPatch) -> None:
    index = {**_models._index(), "Acme/Pic": "black_forest_labs.flux_schnell"}
    monkeypatch.setattr(_models, "_index", lambda: index)
    monkeypatch.setattr(_models, "_schemas", {})
    assert _models.input_type("acme/pic") is Input
    assert _models.model_schema("ACME/PIC") is not None


def test_messages_stay_short_however_large_the_document_or_the_input() -> None:
    wide = ModelSchema(
        "test/wide",
        {
            "Input": {
                "type": "object",
                "properties": {
                    "pick": {"enum": [f"v{i}" for i in range(100_000)]},
                    **{f"field{i}": {"type": "string"} for i in range(500)},
                },
            }
        },
    )
    problems = wide.problems({"pick": "nope", "\x00" + "k" * 5000: 1})
    text = str(InvalidInputError("test/wide", problems))
    assert len(text) < 2000 and "and 99980 more" in text and "and 481 more" in text
    assert "\x00" not in text and "\\u0000" in text
    assert all(len(field) <= MAX_SHOWN for field, _ in problems)


def test_the_sandbox_422_echoes_an_unknown_key_escaped_and_cut() -> None:
    sandbox = Sandbox()
    with client_of(sandbox) as client, pytest.raises(APIStatusError) as refused:
        client.predictions.create(FLUX, {"prompt": "a", "\x00" + "k" * 5000: 1}, validate=False)
    assert refused.value.status_code == 422
    assert "\x00" not in refused.value.message and len(refused.value.message) < 1000


def test_the_sandbox_422_message_is_as_the_models_guide_shows_it() -> None:
    sandbox = Sandbox()
    with client_of(sandbox) as client, pytest.raises(APIStatusError) as refused:
        client.predictions.create(FLUX, {"prompt": "a", "aspect_ratio": "16x9"}, validate=False)
    message = refused.value.message
    assert re.fullmatch(
        r'Input validation failed: input\.aspect_ratio: one of .*; not "16x9" '
        r"\(request id: [0-9a-f]+\)",
        message,
    ), message
    guide = (Path(__file__).parents[2] / "docs" / "guides" / "models.md").read_text("utf-8")
    shown = re.search(r"`(Input validation failed: [^`]*)`", guide)
    assert shown is not None
    assert re.fullmatch(
        r'Input validation failed: input\.aspect_ratio: one of \.\.\.; not "16x9" '
        r"\(request id: [0-9a-f]+\.\.\.\)",
        shown[1],
    ), shown[1]
