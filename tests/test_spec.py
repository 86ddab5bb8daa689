"""The vendored spec, the overlay and the generated model."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from cometapi_replicate_api.models import (
    Prediction,
    PredictionInput,
    PredictionMetrics,
    PredictionUrls,
)
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tools.generate import OVERLAY, ROOT, build_spec, load_yaml, merge_documents
from tools.overlay import OverlayError, apply_overlay

QUERY_SPEC = ROOT / "openapi" / "replicate-query.openapi.yaml"
CREATE_SPEC = ROOT / "openapi" / "create-predictions.openapi.yaml"
SEED = ROOT.parent / "shared" / "seeds" / "000_3ac2ccb16b37cc70.txt"
RESPONSE = ("paths", "/replicate/v1/predictions/{id}", "get", "responses", "200")


def response_schema(doc: dict[str, Any]) -> dict[str, Any]:
    node: Any = doc
    for key in RESPONSE:
        node = node[key]
    schema: dict[str, Any] = node["content"]["application/json"]["schema"]
    return schema


@pytest.mark.parametrize("path", [QUERY_SPEC, CREATE_SPEC])
def test_vendored_specs_are_valid_openapi_3_1(path: Path) -> None:
    doc = load_yaml(path)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_validator_rejects_a_broken_spec() -> None:
    broken = copy.deepcopy(load_yaml(QUERY_SPEC))
    del broken["info"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


@pytest.mark.skipif(not SEED.exists(), reason="the seed lives in ../shared beside the clone")
def test_vendored_spec_is_the_seed_block_byte_for_byte() -> None:
    seed = SEED.read_bytes().decode("utf-8")
    match = re.search(r"^````yaml[^\n]*\n(.*?)^````", seed, re.S | re.M)
    assert match is not None
    assert QUERY_SPEC.read_bytes() == match.group(1).encode("utf-8")


def test_the_generator_input_is_valid_openapi() -> None:
    validate(build_spec())


def test_overlay_applies_and_each_action_changes_something() -> None:
    doc = merge_documents([load_yaml(QUERY_SPEC), load_yaml(CREATE_SPEC)])
    overlay = load_yaml(OVERLAY)
    for action in overlay["actions"]:
        assert action.get("description"), f"{action['target']} says not why"
        after = apply_overlay(doc, {**overlay, "actions": [action]})
        assert after != doc, f"action on {action['target']} changed nothing"
        doc = after
    prediction = doc["components"]["schemas"]["Prediction"]
    assert response_schema(doc) == {"$ref": "#/components/schemas/Prediction"}
    assert prediction["required"] == ["id", "status"]
    output = prediction["properties"]["output"]
    assert not {"type", "items", "anyOf"} & set(output), "an output is any JSON value"
    assert prediction["properties"]["metrics"], "the upstream schema was copied, not pasted"
    create = doc["paths"]["/replicate/v1/models/{model_owner}/{model_name}/predictions"]["post"]
    assert [p["name"] for p in create["parameters"]] == ["model_owner", "model_name"]
    for status in ("200", "201"):  # CometAPI documents 200; Replicate answers 201
        assert create["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Prediction"
        }
    assert "/replicate/v1/models/{models}/predictions" not in doc["paths"]


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
    assert prediction.to_dict() == example


def test_prediction_parses_a_full_body_and_round_trips() -> None:
    prediction = Prediction.from_dict(copy.deepcopy(FULL_BODY))
    assert isinstance(prediction.input_, PredictionInput)
    assert isinstance(prediction.metrics, PredictionMetrics)
    assert isinstance(prediction.urls, PredictionUrls)
    assert prediction.input_.to_dict() == FULL_BODY["input"]
    assert prediction.metrics.predict_time == 2.5
    assert prediction.urls.get == FULL_BODY["urls"]["get"]
    assert prediction["source"] == "api", "unknown fields are kept"
    assert prediction.to_dict() == FULL_BODY


def test_prediction_output_may_be_a_single_string() -> None:
    body = {**FULL_BODY, "output": "https://replicate.delivery/xezq/a/out.png"}
    prediction = Prediction.from_dict(body)
    assert prediction.output == "https://replicate.delivery/xezq/a/out.png"
    assert prediction.to_dict() == body


def test_generated_client_repr_shows_no_token() -> None:
    from cometapi_replicate_api import AuthenticatedClient

    client = AuthenticatedClient(base_url="https://api.cometapi.com", token="sk-secret-123")
    client.get_httpx_client()  # puts the token into the headers
    assert "sk-secret-123" not in repr(client)
    client.get_httpx_client().close()
