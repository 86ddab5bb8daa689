"""The public surface: one entry point, held to a snapshot, and the generated package's seam."""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path

import pytest
from cometapi_replicate_api.api.default import create_predictions_general, replicate_query
from cometapi_replicate_api.models import PredictionRequest, PredictionRequestInput

from cometapi_replicate import _client, _plans
from tools import api_check, public_api

PACKAGE = Path(_client.__file__).parent


def test_the_public_surface_matches_its_snapshot() -> None:
    """Any change to a public name or signature is deliberate: the snapshot is written anew
    (``python -m tools.public_api --write``) and committed with it."""
    expected = public_api.SNAPSHOT.read_text(encoding="utf-8")
    actual = public_api.snapshot()
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True), "snapshot", "now"
        )
    )
    assert actual == expected, (
        "the public surface changed; if on purpose: python -m tools.public_api --write\n" + diff
    )


def test_every_module_but_the_entry_point_and_the_sandbox_is_private() -> None:
    public = [
        path.relative_to(PACKAGE).as_posix()
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.parts[len(PACKAGE.parts)] != "testing"
        and path.name not in ("__init__.py", "__main__.py")
        and not any(part.startswith("_") for part in path.relative_to(PACKAGE).parts)
    ]
    assert public == []
    assert (PACKAGE / "testing" / "__init__.py").is_file()


SEAM = (
    "The SDK builds its requests with the generated package's private _get_kwargs of "
    "replicate_query and create_predictions_general (_endpoint in "
    "src/cometapi_replicate/_client.py); the generator changed them: adapt _endpoint"
)


def test_the_generated_request_builders_keep_the_shape_the_sdk_relies_on() -> None:
    """The seam to the generator: after ``make bump-generator``, this names what moved."""
    get = inspect.signature(replicate_query._get_kwargs)
    create = inspect.signature(create_predictions_general._get_kwargs)
    assert list(get.parameters) == ["id"], SEAM
    assert list(create.parameters) == ["model_owner", "model_name", "body"], SEAM
    assert create.parameters["body"].kind is inspect.Parameter.KEYWORD_ONLY, SEAM

    body = PredictionRequest(input_=PredictionRequestInput.from_dict({"prompt": "a fox"}))
    assert _client._endpoint(_plans.GetPrediction("a/b c")) == {
        "method": "get",
        "url": "/replicate/v1/predictions/a%2Fb%20c",
    }, SEAM
    assert _client._endpoint(_plans.CreatePrediction("o w", "m/n", body)) == {
        "method": "post",
        "url": "/replicate/v1/models/o%20w/m%2Fn/predictions",
        "json": {"input": {"prompt": "a fox"}},
        "headers": {"Content-Type": "application/json"},
    }, SEAM


def test_the_api_check_fails_on_a_breakage_not_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not api_check.has_commit(api_check.COMMIT):
        pytest.skip(f"the release {api_check.RELEASE} is not in this clone")
    assert api_check.main([]) == 0
    assert "all accepted" in capsys.readouterr().out
    accepted = tmp_path / "accepted.txt"
    lines = api_check.ACCEPTED.read_text(encoding="utf-8").splitlines()
    accepted.write_text(
        "\n".join(x for x in lines if x != "OBJECT_REMOVED cometapi_replicate.errors")
    )
    monkeypatch.setattr(api_check, "ACCEPTED", accepted)
    assert api_check.main([]) == 1
    out = capsys.readouterr().out
    assert "not accepted" in out and "  OBJECT_REMOVED cometapi_replicate.errors\n" in out


def test_the_api_check_skips_a_clone_without_the_release(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(api_check, "COMMIT", "0" * 40)
    assert api_check.main([]) == 0
    assert "api-check skipped: the release 0.1.0" in capsys.readouterr().out
