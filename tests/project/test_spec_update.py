"""Real spec updates, end to end through `make update-spec` and `make check-spec`, in copies of
the work tree.

No test here depends on what the vendored documents lack: every change is derived from the
document vendored at that moment (a field name it does not have yet, ``deadline`` or else
``deadline_2``..., a value ``status`` does not list yet). The realistic updates are taken in
sequence twice in one copy: from the document vendored today, then again on top of the result,
committed, which by then holds every name the suite uses as an example (those of
tests/fixtures/specs included), as it will once CometAPI makes these changes for real. The
suite runs in the copy once, after the last update (less the modules in HEAVY, and that test:
it is already inside one), then the copy's `make check-generated lint`, so the copy passes
`make ci`. The other tests here run in that copy too, on the document that holds every
example: breaking changes refused without ALLOW_BREAKING=1 and taken with it, and
`make check-spec` as the documented scheduled job runs it."""

from __future__ import annotations

import copy
import json
import re
import shlex
import string
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.generate import DOCUMENTS, ROOT
from tools.update_spec import operation_ids

from ..documents import containing
from ..tree import commit, copy_env, copy_tree, make_in
from .test_spec import response_schema

# The test run inside the copy leaves out the modules that load the network or crash
# processes (crowds, kill -9, fault storms, wheels and releases): they never read the documents,
# and running them again would double `make ci`. Everything that reads a document runs.
HEAVY = (
    "loopback/test_scale.py",
    "cli/test_batch_cli.py",
    "loopback/test_batch_loopback.py",
    "loopback/test_hostile.py",
    "project/test_release.py",
    "project/test_packaging.py",
    "cli/test_e2e.py",
    "project/test_add_model.py",  # model documents, not CometAPI's: nothing here changes them
)
LIGHTER = " ".join(f"--ignore=tests/{name}" for name in HEAVY)

QUERY = DOCUMENTS[0]
FIXTURES = ROOT / "tests" / "fixtures" / "specs"
STATUSES = ["starting", "processing", "succeeded", "failed", "canceled"]
CANCEL = "/replicate/v1/predictions/{id}/cancel"
# What the sequence adds under these names (or derived ones) when the document lacks them.
EXAMPLES = {
    "deadline",
    "deployment",
    "source",
    "metrics.total_time",
    "urls.web",
    "status.enum",
    CANCEL,
}

Doc = dict[str, Any]


def document(tree: Path) -> Doc:
    loaded: Doc = yaml.safe_load((tree / "openapi" / QUERY).read_text("utf-8"))
    return loaded


def names_in(doc: Doc) -> set[str]:
    """What a query document holds of the kinds the examples add: the prediction's fields
    (``urls.web`` for one inside an object), ``status.enum`` when status lists values, and
    the paths."""
    properties: dict[str, Any] = response_schema(doc).get("properties", {})
    names = set(doc.get("paths", {}))
    for name, field in properties.items():
        names |= {name, *(f"{name}.{sub}" for sub in field.get("properties", {}))}
    if "enum" in properties.get("status", {}):
        names.add("status.enum")
    return names


def fixture_examples() -> set[str]:
    """The names the variants in tests/fixtures/specs add to their base document."""
    base = names_in(yaml.safe_load((FIXTURES / "base" / QUERY).read_text("utf-8")))
    variants = (yaml.safe_load(p.read_text("utf-8")) for p in FIXTURES.glob("*.openapi.yaml"))
    return set().union(*(names_in(doc) - base for doc in variants))


def unused(taken: Iterable[str], wanted: str) -> str:
    """``wanted``, or else the first of ``wanted_2``, ``wanted_3``... not in ``taken``."""
    names = set(taken)
    candidates = (wanted, *(f"{wanted}_{i}" for i in range(2, 100)))
    return next(name for name in candidates if name not in names)


def variant(tree: Path, out: Path, edit: Callable[[Doc], None]) -> Path:
    """The vendored query document of ``tree`` with ``edit`` applied, as a new upstream file."""
    doc = copy.deepcopy(document(tree))
    edit(doc)
    out.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), "utf-8")
    return out


def documented_example(name: str) -> tuple[str, list[str]]:
    """The documented update example, for a field called ``name`` (the documented is `deadline`,
    which the vendored document may have by now): the line it tells the user to add, and the
    output lines."""
    _, text = containing("<!-- update-spec-output -->")
    block = text.split("<!-- update-spec-output -->\n```console\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    line = next(line for line in lines if line.startswith("$ #")).split("add the line", 1)[1]
    assert line.strip() == "deadline: {type: [string, 'null']}", "the line users add"
    output = [line for line in lines if not line.startswith(("$", "..."))]
    return f"{name}:{line.split(':', 1)[1]}", [s.replace("`deadline`", f"`{name}`") for s in output]


def add_a_line_as_a_user_would(tree: Path, out: Path, name: str) -> Path:
    """A copy of the vendored query document, the documented line added by hand for a field
    called ``name``, before the first of ``data_removed`` or ``status`` it has (both properties
    of the prediction; ``status`` cannot go without a breaking update)."""
    lines = (tree / "openapi" / QUERY).read_text("utf-8").splitlines(keepends=True)
    at = next(
        i
        for field in ("data_removed", "status")
        for i, line in enumerate(lines)
        if line.strip() == f"{field}:"
    )
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines.insert(at, f"{indent}{documented_example(name)[0]}\n")
    out.write_text("".join(lines), "utf-8")
    return out


def versionless(text: str) -> str:
    return re.sub(r"\d+\.\d+\.\d+", "X.Y.Z", text)


def take(tree: Path, spec: Path, *, suite: bool = False) -> tuple[list[str], str]:
    """`make update-spec SPEC=spec` in ``tree``, the tests run only with ``suite``: the change
    lines of its report, and all it printed. With the tests, ALLOW_BREAKING=1 is given too, as
    a maintainer taking a breaking change would: the tests must not inherit it (the one of
    breaking changes runs among them)."""
    flags = ("ALLOW_BREAKING=1",) if suite else ("SKIP_TESTS=1",)
    result = make_in(tree, "update-spec", f"SPEC={spec}", *flags, PYTEST_ADDOPTS=LIGHTER)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "not breaking" in out and "nothing was changed" not in out
    assert (" passed" in out) is suite, out[-4000:]
    assert (tree / "openapi" / QUERY).read_bytes() == spec.read_bytes(), "vendored as given"
    report = out[: out.index("updated openapi/")]
    return sorted(line.strip() for line in report.splitlines() if line.startswith("  [")), out


def added(where: str, name: str) -> str:
    return f"[non-breaking] {where}: field `{name}` added (optional)"


def updates_in_sequence(tree: Path, tmp: Path, *, suite: bool) -> dict[str, str]:
    """The realistic updates, one after another, each derived from the document vendored at
    that moment and each named by its report; the tests run after the last one when ``suite``.
    Returns the fields added (``{"deadline": "deadline_2", ...}`` on a document that had
    ``deadline``)."""
    tmp.mkdir()

    def fields(*path: str) -> dict[str, Any]:
        node: dict[str, Any] = response_schema(document(tree))["properties"]
        for name in path:
            node = node[name].setdefault("properties", {})
        return node

    # 1. the documented recipe: copy the vendored file, add one optional nullable field by hand
    names = {"deadline": unused(fields(), "deadline")}
    said, out = take(tree, add_a_line_as_a_user_would(tree, tmp / "1.yaml", names["deadline"]))
    assert said == [added("Prediction", names["deadline"])]
    assert "Release it as a minor version bump" in out
    shown = [
        s
        for s in documented_example(names["deadline"])[1]
        if versionless(s) not in versionless(out)
    ]
    assert not shown, f"the guide shows output that the update does not print: {shown}"

    # 2. another field at the top level
    names["deployment"] = unused(fields(), "deployment")
    said, out = take(
        tree,
        variant(
            tree,
            tmp / "2.yaml",
            lambda d: response_schema(d)["properties"].update(
                {names["deployment"]: {"type": "string"}}
            ),
        ),
    )
    assert said == [added("Prediction", names["deployment"])]
    assert "1 file(s) changed: models/prediction.py" in out

    # 3. one document, three fields: at the top level and inside two nested objects
    names |= {
        "source": unused(fields(), "source"),
        "total_time": unused(fields("metrics"), "total_time"),
        "web": unused(fields("urls"), "web"),
    }

    def three(doc: Doc) -> None:
        properties = response_schema(doc)["properties"]
        properties[names["source"]] = {"type": "string", "description": "api or web."}
        properties["metrics"].setdefault("properties", {})[names["total_time"]] = {"type": "number"}
        properties["urls"].setdefault("properties", {})[names["web"]] = {"type": "string"}

    said, out = take(tree, variant(tree, tmp / "3.yaml", three))
    assert said == sorted(
        [
            added("Prediction", names["source"]),
            added("Prediction.metrics", names["total_time"]),
            added("Prediction.urls", names["web"]),
        ]
    )
    assert "3 change(s), not breaking; implied version bump: minor" in out

    # 4. an operation
    path = unused(document(tree)["paths"], CANCEL)
    operation = unused(operation_ids(document(tree)), "replicate_cancel")

    def cancel(doc: Doc) -> None:
        response = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
        doc["paths"][path] = {
            "post": {
                "operationId": operation,
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "The prediction, now canceling.",
                        "content": {"application/json": {"schema": response}},
                    }
                },
            }
        }

    said, out = take(tree, variant(tree, tmp / "4.yaml", cancel))
    assert said == [f"[non-breaking] POST {path}: operation added"]
    assert f"api/default/{operation}.py" in out

    # 5. an enum on status, or a value it does not list yet: the overlay keeps status open
    def enum(doc: Doc) -> None:
        status = response_schema(doc)["properties"]["status"]
        values = status.get("enum")
        status["enum"] = [*values, unused(values, "queued")] if values else list(STATUSES)

    said, out = take(tree, variant(tree, tmp / "5.yaml", enum))
    assert said == [] and "0 change(s), not breaking" in out
    assert "nothing that reaches the generated code" in out
    assert "regenerated generated/: no code changed" in out

    # 6. the document's description alone: the tests run after this one when `suite`
    def describe(doc: Doc) -> None:
        doc["info"]["description"] = f"{doc['info'].get('description', '')} Revised.".strip()

    said, out = take(tree, variant(tree, tmp / "6.yaml", describe), suite=suite)
    assert said == [] and "regenerated generated/: no code changed" in out
    assert "No version bump is implied" in out
    if suite:
        # this test alone left out: the other update tests run on the document as it is now
        assert " failed" not in out and " 1 deselected" in out, out[-2000:]
    return names


PROBE = """
import json, sys
import attrs
import cometapi_replicate as c
from cometapi_replicate_api.models import PredictionMetrics, PredictionUrls

rounds = json.loads(sys.argv[1])
types, values = [], []
for n in rounds:
    hints = {
        "deadline": attrs.fields_dict(c.Prediction)[n["deadline"]].type,
        "deployment": attrs.fields_dict(c.Prediction)[n["deployment"]].type,
        "source": attrs.fields_dict(c.Prediction)[n["source"]].type,
        "total_time": attrs.fields_dict(PredictionMetrics)[n["total_time"]].type,
        "web": attrs.fields_dict(PredictionUrls)[n["web"]].type,
    }
    types.append({k: sorted(v.split(" | ")) for k, v in hints.items()})
    body = {
        "id": "a", "status": "succeeded", n["deadline"]: None, n["deployment"]: "acme/d",
        n["source"]: "api", "metrics": {n["total_time"]: 2.5},
        "urls": {n["web"]: "https://replicate.com/p/a"},
    }
    p = c.Prediction.from_dict(body)
    values.append([
        getattr(p, n["deadline"]), getattr(p, n["deployment"]), getattr(p, n["source"]),
        getattr(p.metrics, n["total_time"]), getattr(p.urls, n["web"]), p.to_dict() == body,
    ])
statuses = [c.Prediction.from_dict({"id": "a", "status": s}).status for s in ("aborted", "queued")]
print(json.dumps([c.__file__, c.SPEC_VERSION, types, values, statuses]))
"""


@pytest.mark.spec_update
def test_updates_in_sequence_twice_and_the_copy_passes_make_ci(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "repo")
    first = updates_in_sequence(tree, tmp_path / "first", suite=False)
    # As a maintainer would, commit: the vendored document now holds every example name.
    commit(tree, "CometAPI's document, with every change the suite takes as an example")
    missing = (EXAMPLES | fixture_examples()) - names_in(document(tree))
    assert not missing, f"the examples are not all in the document now: {missing}"
    second = updates_in_sequence(tree, tmp_path / "second", suite=True)
    assert first != second, "the second round derived names of its own"

    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([first, second])],
        cwd=tree,
        env=copy_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    where, version, types, values, statuses = json.loads(result.stdout)
    assert Path(where).is_relative_to(tree) and version == document(tree)["info"]["version"]
    typed = {
        "deadline": "str",
        "deployment": "str",
        "source": "str",
        "total_time": "float",
        "web": "str",
    }
    expected = {name: sorted([kind, "None"]) for name, kind in typed.items()}
    assert types == [expected, expected], "Prediction types every new field"
    assert values == [[None, "acme/d", "api", 2.5, "https://replicate.com/p/a", True]] * 2
    assert statuses == ["aborted", "queued"]

    changed = subprocess.run(
        ["git", "status", "--porcelain"], cwd=tree, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert changed and all(line[3:].startswith(("openapi/", "generated/")) for line in changed)

    # `make ci` in the copy = check-generated + lint + the test run the last update made
    result = make_in(tree, "check-generated", "lint")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "generated/ is up to date" in result.stdout


def snapshot(tree: Path) -> dict[str, bytes]:
    roots = [tree / "openapi", tree / "generated"]
    return {
        str(p.relative_to(tree)): p.read_bytes()
        for root in roots
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_breaking_changes_are_refused_unless_allowed(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "repo")
    before = snapshot(tree)

    def drop_status(doc: Doc) -> None:
        schema = response_schema(doc)
        del schema["properties"]["status"]
        schema["required"] = [r for r in schema.get("required", []) if r != "status"]

    def narrow_predict_time(doc: Doc) -> None:
        response_schema(doc)["properties"]["metrics"]["properties"]["predict_time"] = {
            "type": "integer"
        }

    def retype_logs(doc: Doc) -> None:
        response_schema(doc)["properties"]["logs"] = {"type": "array", "items": {"type": "string"}}

    cases = {
        "status": (drop_status, "Prediction: field `status` removed"),
        "predict_time": (narrow_predict_time, "Prediction.metrics.predict_time: retyped: number"),
        "logs": (retype_logs, "Prediction.logs: retyped: string -> array"),
    }
    for name, (edit, said) in cases.items():
        spec = variant(tree, tmp_path / f"{name}.yaml", edit)
        result = make_in(tree, "update-spec", f"SPEC={spec}")
        assert result.returncode != 0, name
        assert f"[BREAKING    ] {said}" in result.stdout, result.stdout
        assert "nothing was changed (ALLOW_BREAKING=1 to take them)" in result.stderr
        assert snapshot(tree) == before, f"{name}: a refused update changed files"

    spec = tmp_path / "logs.yaml"
    result = make_in(tree, "update-spec", f"SPEC={spec}", "SKIP_TESTS=1", ALLOW_BREAKING="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "implied version bump: major" in result.stdout
    assert (tree / "openapi" / QUERY).read_bytes() == spec.read_bytes()
    generated = tree / "generated" / "cometapi_replicate_api" / "models" / "prediction.py"
    assert "logs: list[str] | None = None" in generated.read_text("utf-8")


def documented_workflow() -> dict[Any, Any]:
    """The scheduled CI job the maintainers' guide shows."""
    _, text = containing("<!-- check-spec-workflow -->")
    block = text.split("<!-- check-spec-workflow -->\n```yaml\n", 1)[1].split("```", 1)[0]
    workflow: dict[Any, Any] = yaml.safe_load(block)
    return workflow


def test_check_spec_answers_through_make_as_the_documented_job_runs_it(tmp_path: Path) -> None:
    workflow = documented_workflow()
    assert workflow[True]["schedule"][0]["cron"], "YAML reads the key `on` as True"
    [job] = workflow["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[0] == "make install" and runs[-1].startswith("make check-spec SPEC=")
    assert "SPEC" in job["env"]

    tree = copy_tree(tmp_path / "repo")

    def job_check(spec: Path) -> subprocess.CompletedProcess[str]:
        argv = shlex.split(string.Template(runs[-1]).substitute(SPEC=spec))
        assert argv[:2] == ["make", "check-spec"]
        return make_in(tree, *argv[1:])

    before = snapshot(tree)
    vendored = tree / "openapi" / QUERY
    current = job_check(vendored)
    assert current.returncode == 0, current.stdout + current.stderr
    assert current.stdout.endswith(f"openapi/{QUERY} is current\n")

    name = unused(response_schema(document(tree))["properties"], "deadline")
    spec = variant(
        tree,
        tmp_path / "moved.yaml",
        lambda d: response_schema(d)["properties"].update({name: {"type": "string"}}),
    )
    moved = job_check(spec)
    assert moved.returncode == 2 and "check-spec] Error 1" in moved.stderr, "the job fails"
    assert f"  {added('Prediction', name)}" in moved.stdout
    assert f"update available: make update-spec SPEC={spec}\n" in moved.stdout

    unreadable = job_check(tmp_path / "missing.yaml")
    assert unreadable.returncode == 2 and "check-spec] Error 2" in unreadable.stderr
    assert "missing.yaml" in unreadable.stderr

    usage = make_in(tree, "check-spec")
    assert usage.returncode == 2 and "usage: make check-spec SPEC=<path or URL>" in usage.stdout
    assert snapshot(tree) == before, "check-spec wrote something"
