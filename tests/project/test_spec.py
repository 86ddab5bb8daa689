"""The vendored spec, its provenance, the overlay and the generated model.

Facts about particular documents are checked on the frozen fixtures in tests/fixtures/specs
(``base/``: the documents as first vendored), never on the bytes ``openapi/`` holds today, so
that a spec update cannot break them.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from cometapi_replicate_api import models
from cometapi_replicate_api.models import (
    Prediction,
    PredictionInput,
    PredictionMetrics,
    PredictionUrls,
)
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from cometapi_replicate import Client
from tools import generate as generate_tool
from tools import provenance
from tools.generate import DOCUMENTS, OPENAPI, OVERLAY, ROOT, build_spec, load_yaml, merge_documents
from tools.overlay import OverlayError, apply_overlay

FIXTURES = ROOT / "tests" / "fixtures" / "specs"
QUERY_SPEC = FIXTURES / "base" / "replicate-query.openapi.yaml"
CREATE_SPEC = FIXTURES / "base" / "create-predictions.openapi.yaml"
RESPONSE = ("paths", "/replicate/v1/predictions/{id}", "get", "responses", "200")
CREATE_PATH = "/replicate/v1/models/{model_owner}/{model_name}/predictions"


def response_schema(doc: dict[str, Any]) -> dict[str, Any]:
    node: Any = doc
    for key in RESPONSE:
        node = node[key]
    schema: dict[str, Any] = node["content"]["application/json"]["schema"]
    return schema


@pytest.mark.parametrize("name", DOCUMENTS)
def test_vendored_specs_are_valid_openapi_3_1(name: str) -> None:
    doc = load_yaml(OPENAPI / name)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_validator_rejects_a_broken_spec() -> None:
    broken = copy.deepcopy(load_yaml(QUERY_SPEC))
    del broken["info"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_each_vendored_document_is_the_one_its_provenance_records() -> None:
    assert provenance.problems(OPENAPI, DOCUMENTS) == []
    records = json.loads((OPENAPI / "provenance.json").read_text("utf-8"))
    for name in DOCUMENTS:
        assert records[name]["source"] and records[name]["retrieved"]


def tampered_openapi(tmp_path: Path) -> Path:
    openapi = tmp_path / "openapi"
    shutil.copytree(OPENAPI, openapi)
    query = openapi / DOCUMENTS[0]
    query.write_bytes(query.read_bytes() + b"# edited by hand\n")
    return openapi


def test_a_hand_edited_or_unrecorded_document_is_named(tmp_path: Path) -> None:
    openapi = tampered_openapi(tmp_path)
    [problem] = provenance.problems(openapi, DOCUMENTS)
    assert DOCUMENTS[0] in problem and "make update-spec" in problem
    records = json.loads((openapi / "provenance.json").read_text("utf-8"))
    del records[DOCUMENTS[1]]
    (openapi / "provenance.json").write_text(json.dumps(records))
    assert any(
        DOCUMENTS[1] in p and "no complete record" in p
        for p in provenance.problems(openapi, DOCUMENTS)
    )


def test_check_generated_fails_on_a_document_that_differs_from_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(generate_tool, "OPENAPI", tampered_openapi(tmp_path))
    assert generate_tool.main(["--check"]) == 1
    assert f"openapi/{DOCUMENTS[0]} is not the document recorded" in capsys.readouterr().err


def test_the_generator_input_is_valid_openapi() -> None:
    validate(build_spec())


def test_overlay_applies_and_each_action_changes_something() -> None:
    doc = merge_documents([load_yaml(QUERY_SPEC), load_yaml(CREATE_SPEC)])
    overlay = load_yaml(OVERLAY)
    for action in overlay["actions"]:
        assert action.get("description"), f"{action['target']} says not why"
        after = apply_overlay(doc, {**overlay, "actions": [action]})
        if not action.get("x-optional"):
            assert after != doc, f"action on {action['target']} changed nothing"
        doc = after
    prediction = doc["components"]["schemas"]["Prediction"]
    assert response_schema(doc) == {"$ref": "#/components/schemas/Prediction"}
    assert prediction["required"] == ["id", "status"]
    output = prediction["properties"]["output"]
    assert not {"type", "items", "anyOf"} & set(output), "an output is any JSON value"
    assert prediction["properties"]["metrics"], "the upstream schema was copied, not pasted"
    create = doc["paths"][CREATE_PATH]["post"]
    assert [p["name"] for p in create["parameters"]] == ["model_owner", "model_name"]
    for status in ("200", "201"):  # CometAPI documents 200; Replicate answers 201
        assert create["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Prediction"
        }
    assert "/replicate/v1/models/{models}/predictions" not in doc["paths"]


def test_the_optional_overlay_actions_guard_against_an_upstream_enum() -> None:
    """An `x-optional` action matches nothing today; on the variant it guards against, it acts."""
    overlay = load_yaml(OVERLAY)
    optional = [a for a in overlay["actions"] if a.get("x-optional")]
    assert optional, "the status guard is in the overlay"
    variant = load_yaml(FIXTURES / "status-enum.openapi.yaml")
    status = variant["paths"]["/replicate/v1/predictions/{id}"]["get"]["responses"]["200"]
    assert "enum" in status["content"]["application/json"]["schema"]["properties"]["status"]
    doc = build_spec([FIXTURES / "status-enum.openapi.yaml", CREATE_SPEC])
    assert doc["components"]["schemas"]["Prediction"]["properties"]["status"] == {"type": "string"}
    without = {**overlay, "actions": [a for a in overlay["actions"] if not a.get("x-optional")]}
    merged = merge_documents([variant, load_yaml(CREATE_SPEC)])
    assert (
        "enum"
        in apply_overlay(merged, without)["components"]["schemas"]["Prediction"]["properties"][
            "status"
        ]
    ), "without the guard the enum would reach the generator"


def test_an_optional_action_may_match_nothing_and_others_may_not() -> None:
    action = {"target": "$.paths['/gone'].enum", "description": "guard", "remove": True}
    doc: dict[str, Any] = {"paths": {}}
    assert (
        apply_overlay(doc, {"overlay": "1.1.0", "actions": [{**action, "x-optional": True}]}) == doc
    )
    with pytest.raises(OverlayError, match="matches nothing"):
        apply_overlay(doc, {"overlay": "1.1.0", "actions": [action]})


def test_overlay_action_that_matches_nothing_is_an_error_naming_it() -> None:
    overlay = {
        "overlay": "1.0.0",
        "actions": [{"target": "$.paths['/gone']", "description": "fix /gone", "remove": True}],
    }
    with pytest.raises(OverlayError, match=r"action #1 target .*/gone.*fix /gone.*matches nothing"):
        apply_overlay(load_yaml(QUERY_SPEC), overlay)


def test_overlay_update_merges_recursively_and_appends_to_arrays() -> None:
    doc = {"a": {"b": 1, "c": {"d": 2}}, "tags": ["x"]}
    overlay = {
        "overlay": "1.0.0",
        "actions": [
            {"target": "$.a", "update": {"b": 3, "c": {"e": 4}}},
            {"target": "$.tags", "update": "y"},
            {"target": "$.a.c.d", "remove": True},
        ],
    }
    assert apply_overlay(doc, overlay) == {"a": {"b": 3, "c": {"e": 4}}, "tags": ["x", "y"]}
    assert doc == {"a": {"b": 1, "c": {"d": 2}}, "tags": ["x"]}, "the input is not modified"


def test_overlay_copy_merges_one_node_into_the_target() -> None:
    doc = {"a": {"x": 1, "deep": {"y": 2}}, "b": {"z": 3}}
    overlay = {"overlay": "1.1.0", "actions": [{"target": "$.b", "copy": "$.a"}]}
    result = apply_overlay(doc, overlay)
    assert result["b"] == {"z": 3, "x": 1, "deep": {"y": 2}}
    result["b"]["deep"]["y"] = 9
    assert result["a"]["deep"]["y"] == 2, "a copy, not a shared object"
    with pytest.raises(OverlayError, match="exactly one"):
        apply_overlay(doc, {"overlay": "1.1.0", "actions": [{"target": "$.b", "copy": "$.*"}]})


def test_overlay_removes_several_array_items() -> None:
    doc = {"r": ["a", "b", "c", "d"]}
    action = {"target": "$.r[?@ != 'a' && @ != 'c']", "remove": True}
    assert apply_overlay(doc, {"overlay": "1.0.0", "actions": [action]}) == {"r": ["a", "c"]}


@pytest.mark.parametrize(
    "action",
    [
        {"target": "$.a", "update": {"b": 1}, "remove": True},
        {"target": "$.a"},
        {"target": "$.a", "update": [1]},
        {"target": "$[", "remove": True},
    ],
)
def test_malformed_overlay_actions_are_errors(action: dict[str, Any]) -> None:
    with pytest.raises(OverlayError):
        apply_overlay({"a": {}}, {"overlay": "1.0.0", "actions": [action]})


def test_overlay_version_is_checked() -> None:
    with pytest.raises(OverlayError, match="version"):
        apply_overlay({}, {"overlay": "2.0.0", "actions": [{"target": "$", "remove": True}]})


FULL_BODY: dict[str, Any] = {
    "id": "q4chw5rey9rmt0cww76t4h3ma4",
    "model": "black-forest-labs/flux-schnell",
    "version": "hidden",
    "input": {"prompt": "A paper boat", "aspect_ratio": "1:1"},
    "logs": " 45%|####5     | 9/20 [00:02<00:03, 3.1it/s]",
    "output": ["https://replicate.delivery/xezq/a/out-0.webp"],
    "data_removed": False,
    "error": None,
    "source": "api",
    "x-unknown-to-any-spec": "kept",  # a field upstream may add next is not unknown for long
    "status": "succeeded",
    "created_at": "2026-03-12T11:27:18.258Z",
    "started_at": "2026-03-12T11:27:19.000Z",
    "completed_at": "2026-03-12T11:27:21.500Z",
    "urls": {
        "cancel": "https://api.replicate.com/v1/predictions/q4/cancel",
        "get": "https://api.replicate.com/v1/predictions/q4",
        "stream": "https://stream.replicate.com/v1/files/example",
        "web": "https://replicate.com/p/q4",
    },
    "metrics": {"image_count": 1, "predict_time": 2.5},
}


def test_prediction_parses_the_specs_own_example() -> None:
    doc = load_yaml(QUERY_SPEC)
    media = doc["paths"]["/replicate/v1/predictions/{id}"]["get"]["responses"]["200"]
    example = media["content"]["application/json"]["example"]
    assert not {"input", "created_at", "data_removed"} & example.keys()
    prediction = Prediction.from_dict(example)
    assert prediction.status == "succeeded"
    assert prediction.output == ["https://replicate.delivery/xezq/.../out-0.webp"]
    assert prediction.input_ is None and prediction.created_at is None and prediction.logs is None
    assert prediction.to_dict() == example, "to_dict gives back what from_dict was given"


def test_prediction_parses_a_full_body_and_round_trips() -> None:
    prediction = Prediction.from_dict(copy.deepcopy(FULL_BODY))
    assert isinstance(prediction.input_, PredictionInput)
    assert isinstance(prediction.metrics, PredictionMetrics)
    assert isinstance(prediction.urls, PredictionUrls)
    assert prediction.input_.to_dict() == FULL_BODY["input"]
    assert prediction.metrics.predict_time == 2.5
    assert prediction.urls.get == FULL_BODY["urls"]["get"]
    assert prediction["x-unknown-to-any-spec"] == "kept", "unknown fields are kept"
    assert prediction.to_dict() == FULL_BODY


@pytest.mark.parametrize(
    "output",
    [
        "https://replicate.delivery/xezq/a/out.png",
        "A plain text answer.",
        ["The", " streamed", " tokens"],
        42,
        0.5,
        True,
        {"transcription": "hello", "segments": [{"start": 0.0, "text": "hello"}]},
        [{"file": "https://replicate.delivery/xezq/a/out.wav"}],
        [[0.1, 0.2], [0.3]],
        None,
    ],
)
def test_prediction_output_is_any_json_value(output: Any) -> None:
    body = {**FULL_BODY, "output": copy.deepcopy(output)}
    prediction = Prediction.from_dict(body)
    assert prediction.output == output
    assert prediction.to_dict() == body


def test_no_field_of_a_generated_model_is_typed_unset() -> None:
    """Users read optional fields as `T | None` (absent or null), never the generator's Unset."""
    for name in models.__all__:
        cls = getattr(models, name)
        for field in attrs.fields(cls):
            assert "Unset" not in str(field.type), f"{name}.{field.name}: {field.type}"
    bare = Prediction.from_dict({"id": "a", "status": "starting"})
    assert (bare.logs, bare.metrics, bare.error, bare.output, bare.urls) == (None,) * 5
    assert bare.to_dict() == {"id": "a", "status": "starting"}
    nulls = {"id": "a", "status": "starting", "error": None, "output": None}
    assert Prediction.from_dict(nulls).to_dict() == nulls
    # Built in code, a None field the schema lets be null is sent as null.
    built = Prediction(id="a", status="starting", logs=None, error=None).to_dict()
    assert built.items() >= {**nulls, "started_at": None, "completed_at": None}.items()
    assert "logs" not in built and "metrics" not in built


def test_a_create_answered_201_parses_like_200() -> None:
    """Replicate's own API answers a create with 201 Created; CometAPI documents 200."""
    body = {"id": "q4chw5rey9rmt0cww76t4h3ma4", "status": "starting", "output": None}
    for code in (200, 201):

        def handler(request: httpx.Request, code: int = code) -> httpx.Response:
            return httpx.Response(code, json=body)

        http = httpx.Client(transport=httpx.MockTransport(handler))
        with Client(
            "k", base_url="https://api.test.example", http_client=http, max_retries=0
        ) as client:
            prediction = client.predictions.create(
                "black-forest-labs/flux-schnell", {"prompt": "x"}
            )
        assert (prediction.id, prediction.status) == (body["id"], "starting"), code


def test_generated_client_repr_shows_no_token() -> None:
    from cometapi_replicate_api import AuthenticatedClient

    client = AuthenticatedClient(base_url="https://api.cometapi.com", token="sk-secret-123")
    client.get_httpx_client()  # puts the token into the headers
    assert "sk-secret-123" not in repr(client)
    client.get_httpx_client().close()
