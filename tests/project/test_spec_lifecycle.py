"""Taking a new spec: the change report, overlay drift, provenance records, refusals, and
``--check`` (``make check-spec``), which reports and writes nothing.

Every test here works on the frozen documents in tests/fixtures/specs (``base/`` and its
variants), in temporary directories: none depends on what ``openapi/`` vendors today.
"""

from __future__ import annotations

import copy
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import cometapi_replicate
from tools import provenance, update_spec
from tools.generate import DOCUMENTS, OPENAPI, ROOT, build_spec, generate
from tools.spec_report import compare

FIXTURES = ROOT / "tests" / "fixtures" / "specs"
BASE = FIXTURES / "base"
BASE_DOCS = [BASE / name for name in DOCUMENTS]
CREATE = BASE / "create-predictions.openapi.yaml"
QUERY = OPENAPI / "replicate-query.openapi.yaml"
GET = "GET /replicate/v1/predictions/{id} (response 200)"
POST = "POST /replicate/v1/models/{model_owner}/{model_name}/predictions (response 200, 201)"

EXPECTED = {
    "new-optional-field": (False, "minor", "Prediction: field `source` added (optional)"),
    "deadline-field": (False, "minor", "Prediction: field `deadline` added (optional)"),
    "removed-field": (True, "major", "Prediction: field `metrics` removed"),
    "retyped-field": (True, "major", "Prediction.logs: retyped: string -> array"),
    "new-operation": (
        False,
        "minor",
        "POST /replicate/v1/predictions/{id}/cancel: operation added",
    ),
    "new-status-value": (False, "patch", "documentation changed"),
    # The overlay keeps `status` an open string: nothing reaches the generated code.
    "status-enum": (False, "none", "0 change(s), not breaking"),
}


def variant(name: str) -> Path:
    return FIXTURES / f"{name}.openapi.yaml"


def base_openapi(tmp_path: Path) -> Path:
    """An openapi/ directory holding the frozen base documents, with their provenance."""
    openapi = tmp_path / "openapi"
    shutil.copytree(OPENAPI, openapi)
    for path in BASE_DOCS:
        shutil.copyfile(path, openapi / path.name)
        provenance.record(openapi, path.name, path.read_bytes(), "tests/fixtures/specs/base")
    return openapi


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_report_classifies_each_variant(name: str) -> None:
    breaking, bump, text = EXPECTED[name]
    report = compare(build_spec(BASE_DOCS), build_spec([variant(name), CREATE]))
    assert report.breaking is breaking
    assert report.bump == bump
    assert text in report.format()
    assert all(change.breaking is breaking for change in report.changes)


@pytest.mark.parametrize("name", ["deadline-field", "removed-field", "retyped-field"])
def test_a_change_to_the_shared_prediction_is_one_line_naming_the_operations(name: str) -> None:
    report = compare(build_spec(BASE_DOCS), build_spec([variant(name), CREATE]))
    [change] = report.changes
    assert change.affects == (GET, POST)
    text = report.format()
    assert text.count("[") == 1, text
    assert f"affects: {GET}; {POST}" in text


def schema_of(doc: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = doc["components"]["schemas"]["Prediction"]
    return schema


def test_report_rules_for_required_nullable_and_enum() -> None:
    old = build_spec(BASE_DOCS)
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
    text = (BASE / "replicate-query.openapi.yaml").read_text("utf-8")
    text = text.replace("                  output:\n", "                  outputs:\n", 1)
    with pytest.raises(
        update_spec.UpdateError, match=r"action #\d+ target .*output.*matches nothing"
    ):
        update_spec.plan_update(text.encode(), base_openapi(tmp_path))


def test_an_invalid_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(update_spec.UpdateError, match="not a valid OpenAPI"):
        update_spec.plan_update(b"openapi: 3.1.0\npaths: 5\n", base_openapi(tmp_path))


@pytest.mark.parametrize("name", ["removed-field", "retyped-field"])
def test_a_breaking_update_is_refused_and_changes_nothing(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    openapi = base_openapi(tmp_path)
    monkeypatch.setattr(update_spec, "OPENAPI", openapi)
    monkeypatch.setattr(update_spec, "TARGET", tmp_path / "generated")
    monkeypatch.delenv("ALLOW_BREAKING", raising=False)
    before = {p.name: p.read_bytes() for p in openapi.glob("*.*")}
    assert update_spec.main([str(variant(name)), "--skip-tests"]) == 1
    captured = capsys.readouterr()
    assert "BREAKING" in captured.out and "ALLOW_BREAKING=1" in captured.err
    assert before == {p.name: p.read_bytes() for p in openapi.glob("*.*")}
    assert not (tmp_path / "generated").exists()


def test_a_change_the_overlay_absorbs_is_said_to_reach_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    openapi = base_openapi(tmp_path)
    monkeypatch.setattr(update_spec, "OPENAPI", openapi)
    monkeypatch.setattr(update_spec, "TARGET", tmp_path / "generated")
    assert update_spec.main([str(variant("status-enum")), "--skip-tests"]) == 0
    out = capsys.readouterr().out
    assert "nothing that reaches the generated code" in out
    assert "status: str" in (tmp_path / "generated" / "models" / "prediction.py").read_text()


def test_an_update_replaces_the_file_records_provenance_and_names_what_changed(
    tmp_path: Path,
) -> None:
    openapi = base_openapi(tmp_path)
    gen = tmp_path / "gen"
    generate(gen, BASE_DOCS)
    text = variant("new-optional-field").read_bytes()
    name, report = update_spec.plan_update(text, openapi)
    assert name == "replicate-query.openapi.yaml" and not report.breaking
    changed = update_spec.apply_update(text, "https://example.invalid/new.yaml", name, openapi, gen)
    assert changed == ["models/prediction.py"]
    assert (openapi / name).read_bytes() == text
    record = json.loads((openapi / "provenance.json").read_text())[name]
    assert record["sha256"] == hashlib.sha256(text).hexdigest()
    assert record["source"] == "https://example.invalid/new.yaml"
    assert provenance.problems(openapi, DOCUMENTS) == []
    assert "source: str | None = None" in (gen / "models" / "prediction.py").read_text()
    # The document's own description reaches no code: only spec_info.py moves, and is not named.
    doc = yaml.safe_load(text)
    doc["info"]["description"] += " Revised."
    revised = yaml.safe_dump(doc, sort_keys=False).encode()
    spec_info = (gen / "spec_info.py").read_bytes()
    assert update_spec.apply_update(revised, "revised.yaml", name, openapi, gen) == []
    assert (gen / "spec_info.py").read_bytes() != spec_info


def test_statuses_outside_an_upstream_enum_still_parse(tmp_path: Path) -> None:
    """Generated from the variant whose `status` lists five values, the package still takes
    `aborted` (which Replicate sends) and `queued` (which nobody has seen yet)."""
    generate(tmp_path / "cometapi_replicate_api", [variant("status-enum"), CREATE])
    probe = (
        "import cometapi_replicate_api as g; from cometapi_replicate_api.models import Prediction\n"
        "print(g.__file__)\n"
        "for s in ('aborted', 'queued', 'succeeded'):\n"
        "    print(Prediction.from_dict({'id': 'a', 'status': s}).status)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    where, *statuses = result.stdout.split()
    assert Path(where).is_relative_to(tmp_path), "the regenerated package was imported"
    assert statuses == ["aborted", "queued", "succeeded"]


def test_spec_version_is_exposed_and_sent_nowhere() -> None:
    import yaml

    # Whatever document is vendored today, the package says which one it was built from.
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


@pytest.fixture
def served() -> Iterator[str]:
    """A loopback HTTP server answering /query.yaml with the base query document, 404 else."""
    body = (BASE / "replicate-query.openapi.yaml").read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/query.yaml"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def as_json(tmp: Path) -> str:
    """The base query document, written as JSON: the same document in another form."""
    doc = yaml.safe_load((BASE / "replicate-query.openapi.yaml").read_text("utf-8"))
    (tmp / "query.json").write_text(json.dumps(doc, indent=1), "utf-8")
    return str(tmp / "query.json")


def drifted(tmp: Path) -> str:
    """The base query document with `output` renamed: an overlay action no longer matches."""
    text = (BASE / "replicate-query.openapi.yaml").read_text("utf-8")
    (tmp / "drifted.yaml").write_text(
        text.replace("                  output:\n", "                  outputs:\n", 1), "utf-8"
    )
    return str(tmp / "drifted.yaml")


def invalid(tmp: Path) -> str:
    (tmp / "invalid.yaml").write_text("openapi: 3.1.0\npaths: 5\n", "utf-8")
    return str(tmp / "invalid.yaml")


CHECKS: dict[str, tuple[Callable[[Path], str], int, list[str]]] = {
    "the vendored document": (
        lambda tmp: str(BASE / "replicate-query.openapi.yaml"),
        0,
        ["no changes", "openapi/replicate-query.openapi.yaml is current"],
    ),
    "the same document as JSON": (as_json, 0, ["is current"]),
    "a new field": (
        lambda tmp: str(variant("new-optional-field")),
        1,
        [
            "[non-breaking] Prediction: field `source` added (optional)",
            "implied version bump: minor",
            f"update available: make update-spec SPEC={variant('new-optional-field')}\n",
        ],
    ),
    "a breaking change": (
        lambda tmp: str(variant("removed-field")),
        1,
        ["[BREAKING    ] Prediction: field `metrics` removed", "ALLOW_BREAKING=1"],
    ),
    "a change the overlay absorbs": (
        lambda tmp: str(variant("status-enum")),
        1,
        ["0 change(s)", "nothing that reaches the generated code", "update available"],
    ),
    "an overlay that no longer fits": (drifted, 1, ["update available", "matches nothing"]),
    "a missing file": (lambda tmp: str(tmp / "missing.yaml"), 2, ["missing.yaml"]),
    "not an OpenAPI document": (invalid, 2, ["not a valid OpenAPI document"]),
}


@pytest.mark.parametrize("case", sorted(CHECKS))
def test_check_reports_and_answers_0_current_1_update_available_2_unreadable(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, code, said = CHECKS[case]
    openapi = base_openapi(tmp_path)
    monkeypatch.setattr(update_spec, "OPENAPI", openapi)
    monkeypatch.setattr(update_spec, "TARGET", tmp_path / "generated")
    before = {p: p.read_bytes() for p in openapi.rglob("*") if p.is_file()}
    assert update_spec.main(["--check", source(tmp_path)]) == code
    captured = capsys.readouterr()
    for text in said:
        assert text in captured.out + captured.err, captured
    assert ("update available" in captured.out) is (code == 1)
    assert before == {p: p.read_bytes() for p in openapi.rglob("*") if p.is_file()}, "written"
    assert not (tmp_path / "generated").exists()


def test_check_reads_a_url(
    served: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(update_spec, "OPENAPI", base_openapi(tmp_path))
    assert update_spec.main(["--check", f"{served}/query.yaml"]) == 0
    assert "is current" in capsys.readouterr().out
    assert update_spec.main(["--check", f"{served}/moved.yaml"]) == 2
    assert "404 Not Found" in capsys.readouterr().err


@pytest.fixture
def hostile() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server with misbehaving routes, and the paths it was asked for:
    ``/trickle`` announces 1000 bytes and sends them one at a time, ``/big`` sends 5000
    bytes with no length announced, ``/announced`` announces 10**12 bytes; else 404."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            lengths = {"/trickle": "1000", "/big": None, "/announced": str(10**12)}
            if self.path not in lengths:
                self.send_error(404)
                return
            self.send_response(200)
            if lengths[self.path] is not None:
                self.send_header("Content-Length", str(lengths[self.path]))
            self.end_headers()
            try:
                if self.path == "/big":
                    self.wfile.write(b"#" * 5000)
                for _ in range(1000 if self.path == "/trickle" else 0):
                    self.wfile.write(b"#")
                    self.wfile.flush()
                    threading.Event().wait(0.005)
            except OSError:  # the client gave up, as it should
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_download_that_never_ends_is_refused_at_the_deadline(
    hostile: tuple[str, list[str]],
) -> None:
    """1 byte at a time keeps every read short: the whole download has a deadline."""
    base, _ = hostile
    ticks = iter(range(10**6))  # a clock that advances one second per look
    with pytest.raises(update_spec.UpdateError, match="took more than 60 s"):
        update_spec.read_source(f"{base}/trickle", clock=lambda: float(next(ticks)))
    assert next(ticks) < 100, "it stopped at the deadline, not at the end of the body"


@pytest.mark.parametrize("where", ["/big", "/announced", "file"])
def test_a_document_larger_than_the_cap_is_refused_exit_2(
    where: str,
    hostile: tuple[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, _ = hostile
    monkeypatch.setattr(update_spec, "OPENAPI", base_openapi(tmp_path))
    monkeypatch.setattr(update_spec, "MAX_BYTES", 1000)
    (tmp_path / "big.yaml").write_bytes(b"#" * 1001)
    source = str(tmp_path / "big.yaml") if where == "file" else base + where
    assert update_spec.main(["--check", source]) == 2
    assert "error: the document is larger than 1000 bytes" in capsys.readouterr().err


def alias_bomb(tmp: Path) -> str:
    """409 bytes that expand to 9**9 values."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    (tmp / "bomb.yaml").write_text("\n".join(lines) + "\n", "utf-8")
    return str(tmp / "bomb.yaml")


def with_ref(tmp: Path, ref: str) -> str:
    """The base query document whose 200 response refers to ``ref``."""
    doc = yaml.safe_load((BASE / "replicate-query.openapi.yaml").read_text("utf-8"))
    response = doc["paths"]["/replicate/v1/predictions/{id}"]["get"]["responses"]["200"]
    response["content"]["application/json"]["schema"] = {"$ref": ref}
    (tmp / "ref.yaml").write_text(yaml.safe_dump(doc), "utf-8")
    return str(tmp / "ref.yaml")


def nested(tmp: Path) -> str:
    (tmp / "nested.json").write_text("[" * 200_000, "utf-8")
    return str(tmp / "nested.json")


HOSTILE: dict[str, tuple[Callable[[Path, str], str], str]] = {
    "an alias bomb": (lambda tmp, base: alias_bomb(tmp), "expands to more than 1000000 values"),
    "deep nesting": (lambda tmp, base: nested(tmp), "nests too deeply"),
    "a $ref to a URL": (
        lambda tmp, base: with_ref(tmp, f"{base}/schema.json#/Prediction"),
        "only local references (#/...) are followed",
    ),
    "a $ref to a file": (
        lambda tmp, base: with_ref(tmp, "file:///etc/hostname"),
        "only local references",
    ),
    "a $ref to nothing": (
        lambda tmp, base: with_ref(tmp, "#/components/schemas/Missing"),
        "a $ref points to nothing (/components/schemas/Missing)",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_document_is_refused_exit_2_and_reaches_no_host(
    case: str,
    hostile: tuple[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, asked = hostile
    write, said = HOSTILE[case]
    monkeypatch.setattr(update_spec, "OPENAPI", base_openapi(tmp_path))
    assert update_spec.main(["--check", write(tmp_path, base)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and said in captured.err, captured
    assert "Traceback" not in captured.err and not captured.out
    assert asked == []


def test_real_documents_pass_the_hostile_document_checks() -> None:
    for path in [*OPENAPI.glob("*.openapi.yaml"), *FIXTURES.rglob("*.openapi.yaml")]:
        update_spec.refuse_hostile(yaml.safe_load(path.read_text("utf-8")))
