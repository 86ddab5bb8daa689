"""Real spec updates, end to end through `make update-spec`, in a copy of the work tree.

The changes are made to whatever document is vendored today (so an update never breaks this
test): first the documented recipe (copy the vendored file, add one optional nullable field by
hand, taken with SKIP_TESTS=1), then a second change on top of it (an enum on status, another
field), followed by the project's test run in the copy (less the modules in HEAVY, and this
one: it is already inside one), and finally the copy's `make check-generated lint`, so the
copy passes `make ci`.
Breaking changes are refused without ALLOW_BREAKING=1 and taken with it."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.generate import DOCUMENTS

from .documents import containing
from .test_spec import response_schema
from .tree import copy_env, copy_tree, make_in

pytestmark = pytest.mark.spec_update

# The test run inside each update leaves out the modules that load the network or crash
# processes (crowds, kill -9, fault storms, wheels and releases): they never read the documents,
# and running them again would double `make ci`. Everything that reads a document runs.
HEAVY = (
    "test_scale.py",
    "test_batch_cli.py",
    "test_batch_loopback.py",
    "test_hostile.py",
    "test_release.py",
    "test_packaging.py",
    "test_e2e.py",
)
LIGHTER = " ".join(f"--ignore=tests/{name}" for name in HEAVY)

QUERY = DOCUMENTS[0]


def document(tree: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((tree / "openapi" / QUERY).read_text("utf-8"))
    return loaded


def variant(tree: Path, out: Path, version: str, edit: Any) -> Path:
    """The vendored query document of ``tree`` with ``edit`` applied, as a new upstream file."""
    doc = copy.deepcopy(document(tree))
    doc["info"]["version"] = version
    edit(response_schema(doc))
    out.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), "utf-8")
    return out


def add_a_line_as_a_user_would(tree: Path, out: Path) -> Path:
    """A copy of the vendored query document, one line added by hand: ``deadline``, optional
    and nullable, before the first of ``data_removed`` or ``status`` it has (both properties of
    the prediction; ``status`` cannot go without a breaking update)."""
    lines = (tree / "openapi" / QUERY).read_text("utf-8").splitlines(keepends=True)
    at = next(
        i
        for name in ("data_removed", "status")
        for i, line in enumerate(lines)
        if line.strip() == f"{name}:"
    )
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    added, _ = documented_example()
    assert added == "deadline: {type: [string, 'null']}", "the line the guide has users add"
    lines.insert(at, f"{indent}{added}\n")
    out.write_text("".join(lines), "utf-8")
    return out


def documented_example() -> tuple[str, list[str]]:
    """The documented update example (the maintainers' guide): the line it tells the user to
    add, and the output lines."""
    _, text = containing("<!-- update-spec-output -->")
    block = text.split("<!-- update-spec-output -->\n```console\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    added = next(line for line in lines if line.startswith("$ #")).split("add the line", 1)[1]
    output = [line for line in lines if not line.startswith(("$", "..."))]
    return added.strip(), output


def versionless(text: str) -> str:
    return re.sub(r"\d+\.\d+\.\d+", "X.Y.Z", text)


def snapshot(tree: Path) -> dict[str, bytes]:
    roots = [tree / "openapi", tree / "generated"]
    return {
        str(p.relative_to(tree)): p.read_bytes()
        for root in roots
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def run_in(tree: Path, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tree,
        env=copy_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_two_updates_compose_and_the_copy_passes_make_ci(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "repo")

    # 1. as the user did: copy the vendored file, add one optional nullable field as a
    #    line of YAML next to `data_removed`, and hand the file to `make update-spec`
    #    (SKIP_TESTS=1: the second update runs the tests on the result of both)
    first = add_a_line_as_a_user_would(tree, tmp_path / "first.yaml")
    result = make_in(tree, "update-spec", f"SPEC={first}", "SKIP_TESTS=1")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "[non-breaking] Prediction: field `deadline` added (optional)" in out
    assert "Release it as a minor version bump" in out
    assert " passed" not in out, "SKIP_TESTS=1 runs no tests"
    assert (tree / "openapi" / QUERY).read_bytes() == first.read_bytes(), "vendored as given"
    shown = [line for line in documented_example()[1] if versionless(line) not in versionless(out)]
    assert not shown, f"the maintainers' guide shows output that the update does not print: {shown}"
    generated = tree / "generated" / "cometapi_replicate_api" / "models" / "prediction.py"
    assert "deadline: None | str = None" in generated.read_text("utf-8")

    # 2. on top of it: an enum on status (the overlay keeps it open) and a second field
    def enum_and_source(schema: dict[str, Any]) -> None:
        assert "deadline" in schema["properties"], "the second update builds on the first"
        schema["properties"]["status"]["enum"] = [
            "starting",
            "processing",
            "succeeded",
            "failed",
            "canceled",
        ]
        schema["properties"]["source"] = {"type": "string"}

    second = variant(tree, tmp_path / "second.yaml", "9.2.0", enum_and_source)
    result = make_in(tree, "update-spec", f"SPEC={second}", PYTEST_ADDOPTS=LIGHTER)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "ALLOW_BREAKING" not in out
    report = out[: out.index("updated openapi/")]
    assert "field `source` added (optional)" in report and "deadline" not in report
    assert " passed" in out and " failed" not in out and "deselected" in out, out[-2000:]

    parsed = run_in(
        tree,
        "import cometapi_replicate as c\n"
        "print(c.__file__, c.SPEC_VERSION)\n"
        "for s in ('aborted', 'queued'):\n"
        "    body = {'id': 'a', 'status': s, 'deadline': None, 'source': 'api'}\n"
        "    p = c.Prediction.from_dict(body)\n"
        "    print(p.status, p.deadline, p.source)\n",
    )
    where, version, *rest = parsed.split()
    assert Path(where).is_relative_to(tree) and version == "9.2.0"
    assert rest == ["aborted", "None", "api", "queued", "None", "api"]

    # `make ci` in the copy = check-generated + lint + the test run each update just made
    result = make_in(tree, "check-generated", "lint")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "generated/ is up to date" in result.stdout


def test_breaking_changes_are_refused_unless_allowed(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "repo")
    before = snapshot(tree)

    def drop(name: str) -> Any:
        def edit(schema: dict[str, Any]) -> None:
            del schema["properties"][name]
            schema["required"] = [r for r in schema.get("required", []) if r != name]

        return edit

    def retype_logs(schema: dict[str, Any]) -> None:
        schema["properties"]["logs"] = {"type": "array", "items": {"type": "string"}}

    cases = {
        "metrics": (drop("metrics"), "Prediction: field `metrics` removed"),
        "status": (drop("status"), "Prediction: field `status` removed"),
        "logs": (retype_logs, "Prediction.logs: retyped: string -> array"),
    }
    for name, (edit, said) in cases.items():
        spec = variant(tree, tmp_path / f"{name}.yaml", "10.0.0", edit)
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
