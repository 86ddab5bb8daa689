"""Taking a new spec: the change report, overlay drift, and the SDK surviving regeneration."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import cometapi_replicate
from tools import update_spec
from tools.generate import DOCUMENTS, OPENAPI, ROOT, build_spec, generate
from tools.spec_report import compare

FIXTURES = ROOT / "tests" / "fixtures" / "specs"
CREATE = OPENAPI / "create-predictions.openapi.yaml"
QUERY = OPENAPI / "replicate-query.openapi.yaml"

EXPECTED = {
    "new-optional-field": (False, "minor", "field `source` added (optional)"),
    "removed-field": (True, "major", "field `metrics` removed"),
    "retyped-field": (True, "major", "logs: retyped: string -> array"),
    "new-operation": (
        False,
        "minor",
        "POST /replicate/v1/predictions/{id}/cancel: operation added",
    ),
    "new-status-value": (False, "patch", "documentation changed"),
}


def variant(name: str) -> Path:
    return FIXTURES / f"{name}.openapi.yaml"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_report_classifies_each_variant(name: str) -> None:
    breaking, bump, text = EXPECTED[name]
    report = compare(build_spec(), build_spec([variant(name), CREATE]))
    assert report.breaking is breaking
    assert report.bump == bump
    assert text in report.format()
    assert all(change.breaking is breaking for change in report.changes)


def schema_of(doc: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = doc["components"]["schemas"]["Prediction"]
    return schema


def test_report_rules_for_required_nullable_and_enum() -> None:
    old = build_spec()
    cases: list[tuple[str, Any, bool]] = []

    def case(label: str, edit: Any, breaking: bool) -> None:
        new = copy.deepcopy(old)
        edit(new)
        cases.append((label, compare(old, new), breaking))

    case("required dropped", lambda d: schema_of(d).update(required=["id"]), True)
    case("required added", lambda d: schema_of(d)["required"].append("model"), False)
    case(
        "made nullable",
        lambda d: schema_of(d)["properties"]["model"].update(type=["string", "null"]),
        True,
    )
    case(
        "enum added", lambda d: schema_of(d)["properties"]["status"].update(enum=["starting"]), True
    )
    case(
        "required request field",
        lambda d: d["paths"]["/replicate/v1/models/{model_owner}/{model_name}/predictions"]["post"][
            "requestBody"
        ]["content"]["application/json"]["schema"].update(
            properties={"input": {"type": "object"}, "webhook": {"type": "string"}},
            required=["input", "webhook"],
        ),
        True,
    )
    case("operation removed", lambda d: d["paths"].pop("/replicate/v1/predictions/{id}"), True)
    for label, report, breaking in cases:
        assert report.changes, label
        assert report.breaking is breaking, f"{label}: {report.format()}"


def test_an_overlay_action_that_no_longer_matches_fails_the_update_by_name(tmp_path: Path) -> None:
    text = QUERY.read_text("utf-8").replace(
        "                  output:\n", "                  outputs:\n", 1
    )
    with pytest.raises(
        update_spec.UpdateError, match=r"action #\d+ target .*output.*matches nothing"
    ):
        update_spec.plan_update(text.encode())


def test_an_invalid_document_is_refused() -> None:
    with pytest.raises(update_spec.UpdateError, match="not a valid OpenAPI"):
        update_spec.plan_update(b"openapi: 3.1.0\npaths: 5\n")


def test_a_breaking_update_is_refused_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ALLOW_BREAKING", raising=False)
    before = {name: (OPENAPI / name).read_bytes() for name in DOCUMENTS}
    assert update_spec.main([str(variant("removed-field")), "--skip-tests"]) == 1
    captured = capsys.readouterr()
    assert "BREAKING" in captured.out and "ALLOW_BREAKING=1" in captured.err
    assert before == {name: (OPENAPI / name).read_bytes() for name in DOCUMENTS}


def test_an_update_replaces_the_file_and_records_provenance(tmp_path: Path) -> None:
    openapi = tmp_path / "openapi"
    shutil.copytree(OPENAPI, openapi)
    text = variant("new-optional-field").read_bytes()
    name, report = update_spec.plan_update(text, openapi)
    assert name == "replicate-query.openapi.yaml" and not report.breaking
    update_spec.apply_update(
        text, "https://example.invalid/new.yaml", name, openapi, tmp_path / "gen"
    )
    assert (openapi / name).read_bytes() == text
    record = json.loads((openapi / "provenance.json").read_text())[name]
    assert record["sha256"] == hashlib.sha256(text).hexdigest()
    assert record["source"] == "https://example.invalid/new.yaml"
    assert (
        "source: str | Unset = UNSET" in (tmp_path / "gen" / "models" / "prediction.py").read_text()
    )


@pytest.mark.parametrize("name", ["new-optional-field", "new-operation", "new-status-value"])
def test_the_unchanged_wrapper_passes_on_a_regenerated_package(name: str, tmp_path: Path) -> None:
    package = tmp_path / "cometapi_replicate_api"
    generate(package, [variant(name), CREATE])
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    probe = "import cometapi_replicate_api as g; print(g.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert Path(where.stdout.strip()).is_relative_to(tmp_path), (
        "the tests below use the regenerated package"
    )
    tests = [
        "tests/test_client.py",
        "tests/test_schedule.py",
        "tests/test_create_download.py",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *tests], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]
    if name == "new-optional-field":
        assert "source: str | Unset = UNSET" in (package / "models" / "prediction.py").read_text()
    if name == "new-operation":
        assert (package / "api" / "default" / "replicate_cancel.py").exists()


def test_spec_version_is_exposed_and_sent_nowhere() -> None:
    import yaml

    assert yaml.safe_load(QUERY.read_text())["info"]["version"] == cometapi_replicate.SPEC_VERSION
    assert hashlib.sha256(QUERY.read_bytes()).hexdigest() == cometapi_replicate.SPEC_SHA256
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "a", "status": "starting"})

    with cometapi_replicate.Client(
        "k", http_client=httpx.Client(transport=httpx.MockTransport(handler))
    ) as client:
        client.predictions.get("a")
    sent = str(seen[0].url) + str(seen[0].headers) + seen[0].content.decode()
    assert cometapi_replicate.SPEC_SHA256 not in sent and "spec" not in sent.lower()
