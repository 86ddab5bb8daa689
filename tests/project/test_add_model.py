"""``make add-model`` end to end, as a maintainer runs it, in one copy of the tree.

The copy starts with no model documents (as a clone before the first was taken), then takes
flux-schnell's published document and the fixture documents (tests/fixtures/model-documents)
one after another; ``make check-generated`` passes along the way and at the end, the generated
package passes ruff and ``mypy --strict``, and each model's ``Input`` round-trips its default
example. Re-adding a changed document reports the change, derived from the document vendored
at that moment; a breaking one needs ``ALLOW_BREAKING=1``. A bad document writes nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import generate_models as gm

from ..documents import containing
from ..tree import copy_env, copy_tree, make_in

FIXTURES = gm.ROOT / "tests" / "fixtures" / "model-documents"
FLUX = "black-forest-labs/flux-schnell"
FLUX_FILE = gm.MODELS_DIR / "black-forest-labs" / "flux-schnell.json"
UNTYPED = "someone/untyped-input"
"""Flux-schnell's document with an ``Input`` that is not an object: no class, a dict."""
BARE = "someone/bare-document"
"""The model a bare OpenAPI document (a fixture's ``openapi_schema``, as YAML) is added as."""

ROUND_TRIP = """
import importlib, json, sys
from cometapi_replicate_models import MODELS
results = {}
for model, dotted in MODELS.items():
    package = importlib.import_module("cometapi_replicate_models." + dotted)
    if not importlib.import_module("cometapi_replicate_models." + dotted + ".schema").TYPED:
        continue
    example = json.loads(sys.argv[1])[model]
    back = package.Input.from_dict(example).to_dict()
    results[model] = json.loads(json.dumps(back, default=lambda member: member.value))
print(json.dumps([results, sorted(MODELS)]))
"""


def snapshot(tree: Path) -> dict[str, bytes]:
    """Every file under openapi/models and generated/cometapi_replicate_models."""
    roots = (tree / "openapi" / "models", tree / "generated" / gm.PACKAGE)
    return {
        str(p.relative_to(tree)): p.read_bytes()
        for root in roots
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def add(tree: Path, schema: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return make_in(tree, "add-model", f"SCHEMA={schema}", timeout=300, **extra)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def examples(tree: Path) -> dict[str, Any]:
    """Each vendored model's default example input (the bare document's: its fixture's)."""
    found = {}
    for model, record in gm.load_records(tree / "openapi" / "models").items():
        path = tree / "openapi" / "models" / record["file"]
        if model == BARE:
            path = sorted(FIXTURES.glob("*.json"))[0]
        if model != UNTYPED:
            found[model] = json.loads(path.read_bytes())["default_example"]["input"]
    return found


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tree that has taken every document, one after another."""
    base = tmp_path_factory.mktemp("add-model")
    tree = copy_tree(base / "repo")
    shutil.rmtree(tree / "openapi" / "models")
    shutil.rmtree(tree / "generated" / gm.PACKAGE)
    flux = base / "flux-schnell.json"
    shutil.copy(FLUX_FILE, flux)
    out = ok(add(tree, flux))
    (tree / "flux-schnell-output.txt").write_text(out, "utf-8")
    lines = out.splitlines()
    (aspect,) = [line for line in lines if line.split()[:1] == ["aspect_ratio"]]
    assert "one of " in aspect and '"16:9"' in aspect, out
    assert "generated cometapi_replicate_models.black_forest_labs.flux_schnell: typed" in out
    ok(make_in(tree, "check-generated"))
    fixtures = sorted(FIXTURES.glob("*.json"))
    for number, fixture in enumerate(fixtures, 1):
        out = ok(add(tree, fixture))
        assert ": typed (Input)" in out, out
        if number == len(fixtures) // 2:
            ok(make_in(tree, "check-generated"))
    untyped = json.loads(flux.read_bytes())
    untyped["owner"], untyped["name"] = UNTYPED.split("/")
    untyped["latest_version"]["openapi_schema"]["components"]["schemas"]["Input"] = {
        "type": "string"
    }
    (base / "untyped.json").write_text(json.dumps(untyped), "utf-8")
    out = ok(add(tree, base / "untyped.json"))
    assert "someone.untyped_input: NOT typed, users pass a dict" in out, out
    # A bare OpenAPI document names no model: MODEL= does, and YAML is kept as YAML.
    bare = base / "bare.yaml"
    model_object = json.loads(fixtures[0].read_bytes())
    bare.write_text(yaml.safe_dump(model_object["latest_version"]["openapi_schema"]), "utf-8")
    refused = add(tree, bare)
    assert refused.returncode != 0 and "pass MODEL=owner/name" in refused.stderr
    ok(add(tree, bare, MODEL=BARE))
    return tree


def test_every_document_is_taken_and_the_tree_stays_green(tree: Path) -> None:
    assert "generated/ is up to date" in ok(make_in(tree, "check-generated"))
    records = gm.load_records(tree / "openapi" / "models")
    fixtures = {p.stem.replace("__", "/") for p in FIXTURES.glob("*.json")}
    assert set(records) == {FLUX, BARE, UNTYPED} | fixtures
    readme = (tree / "README.md").read_text("utf-8")
    block = readme.split("<!-- vendored-models -->\n")[1].split("<!-- /vendored-models -->")[0]
    assert block == "".join(f"- `{model}`\n" for model in sorted(records))  # kept by add-model
    assert records[BARE]["kind"] == gm.OPENAPI_KIND and records[BARE]["version"] is None
    assert records[BARE]["file"] == f"{BARE}.yaml"
    assert records[FLUX]["kind"] == gm.MODEL_KIND
    assert (tree / "openapi" / "models" / records[FLUX]["file"]).read_bytes() == (
        FLUX_FILE.read_bytes()
    )
    package = tree / "generated" / gm.PACKAGE
    bindir = Path(sys.executable).parent
    lint = subprocess.run(
        [bindir / "ruff", "check", "--isolated", "--no-cache", package],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout
    typing = subprocess.run(
        [bindir / "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null", package],
        cwd=tree,
        env=copy_env(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    assert typing.returncode == 0, typing.stdout


def test_each_model_round_trips_its_default_example(tree: Path) -> None:
    wanted = examples(tree)
    result = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, json.dumps(wanted)],
        env=copy_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    back, models = json.loads(result.stdout)
    assert models == sorted([*wanted, UNTYPED])
    assert back == wanted


def fresh(taken: Any, stem: str) -> str:
    name, n = stem, 2
    while name in taken:
        name, n = f"{stem}_{n}", n + 1
    return name


def changed_flux(tree: Path, base: Path, change: str) -> tuple[Path, str]:
    """Flux-schnell's document as vendored in ``tree`` now, with ``change``: the file and the
    report line the change gives."""
    path = tree / "openapi" / "models" / gm.load_records(tree / "openapi" / "models")[FLUX]["file"]
    model_object = json.loads(path.read_bytes())
    schemas = model_object["latest_version"]["openapi_schema"]["components"]["schemas"]
    properties = schemas["Input"]["properties"]
    aspect = schemas[properties["aspect_ratio"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    if change == "input added":
        name = fresh(properties, "style")
        properties[name] = {"type": "string", "x-order": len(properties)}
        line = f"  [non-breaking] Input: field `{name}` added (optional)"
    elif change == "choice added":
        value = fresh(aspect["enum"], "7:3")
        aspect["enum"].append(value)
        line = f"  [non-breaking] Input.aspect_ratio: enum values added: {[value]}"
    else:
        removed = aspect["enum"].pop()
        line = f"  [BREAKING    ] Input.aspect_ratio: enum values removed: {[removed]}"
    text = json.dumps(model_object, indent=2) + "\n"
    model_object["latest_version"]["id"] = hashlib.sha256(text.encode()).hexdigest()
    out = base / f"{change.replace(' ', '-')}.json"
    out.write_text(json.dumps(model_object, indent=2) + "\n", "utf-8")
    return out, line


def test_a_changed_document_reports_its_changes_and_a_breaking_one_needs_allowing(
    tree: Path, tmp_path: Path
) -> None:
    for change in ("input added", "choice added"):
        document, line = changed_flux(tree, tmp_path, change)
        out = ok(add(tree, document))
        assert line in out.splitlines(), out
        assert "1 change(s), not breaking; implied version bump: minor" in out
        assert (tree / "openapi" / "models" / f"{FLUX}.json").read_bytes() == document.read_bytes()

    document, line = changed_flux(tree, tmp_path, "choice removed")
    before = snapshot(tree)
    refused = add(tree, document)
    assert refused.returncode != 0
    assert line in refused.stdout.splitlines(), refused.stdout
    assert "nothing was changed (ALLOW_BREAKING=1 to take them)" in refused.stderr
    assert snapshot(tree) == before

    out = ok(add(tree, document, ALLOW_BREAKING="1"))
    assert line in out.splitlines()
    assert snapshot(tree) != before
    again = ok(add(tree, document))
    assert "is current: nothing to do" in again
    assert "generated/ is up to date" in ok(make_in(tree, "check-generated"))


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"<html>not a document</html>", "not a model document"),
        (
            b'{"openapi": "3.0.2", "info": {"title": "x", "version": "1"}, "paths": {}}',
            "no components",
        ),
    ],
)
def test_a_bad_document_gets_a_clear_error_and_writes_nothing(
    tree: Path, tmp_path: Path, content: bytes, error: str
) -> None:
    document = tmp_path / "bad.json"
    document.write_bytes(content)
    before = snapshot(tree)
    result = add(tree, document, MODEL="someone/bad")
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and error in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr
    assert snapshot(tree) == before


def test_the_documented_add_model_output_is_what_it_prints(tree: Path) -> None:
    _, text = containing("<!-- add-model-output -->")
    block = text.split("<!-- add-model-output -->")[1].split("```console\n")[1].split("```")[0]
    command, *documented = block.splitlines()
    assert command == "$ make add-model SCHEMA=flux-schnell.json"
    printed = (tree / "flux-schnell-output.txt").read_text("utf-8").splitlines()
    assert printed[-len(documented) :] == documented
