"""Regenerate ``generated/cometapi_replicate_api`` from the vendored spec and the overlay, and
``generated/cometapi_replicate_models`` from the vendored model documents.

    python -m tools.generate            # rewrite generated/ in place (and the lists of
                                        # vendored models in the README and Models guide)
    python -m tools.generate --check    # verify provenance and those lists, regenerate into a
                                        # temp directory; exit 1 with a diff

The pipeline: merge the vendored documents, apply ``openapi/overlay.yaml``, write the result
to ``build/openapi.json`` (not committed), patch the pinned openapi-python-client's own
templates with ``openapi/templates/*.patch`` and run it with ``openapi/config.yaml``. The
model packages: ``tools/generate_models.py``.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tools import generate_models, provenance
from tools.overlay import apply_overlay
from tools.templates import TemplatePatchError, patched_templates

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "openapi"
DOCUMENTS = ("replicate-query.openapi.yaml", "create-predictions.openapi.yaml")
SPECS = tuple(OPENAPI / name for name in DOCUMENTS)
OVERLAY = OPENAPI / "overlay.yaml"
PACKAGE = "cometapi_replicate_api"
TARGET = ROOT / "generated" / PACKAGE
BUILD_SPEC = ROOT / "build" / "openapi.json"


class GenerateError(Exception):
    """The documents could not be merged or the generator failed."""


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def merge_documents(documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Merge OpenAPI documents: the first supplies info and servers; paths and components add up."""
    merged: dict[str, Any] = {}
    for doc in documents:
        if not merged:
            merged = {
                key: value for key, value in doc.items() if key not in ("paths", "components")
            }
            merged["paths"], merged["components"] = {}, {}
        for path, item in doc.get("paths", {}).items():
            if path in merged["paths"]:
                raise GenerateError(f"path {path} is defined by more than one document")
            merged["paths"][path] = item
        for section, entries in doc.get("components", {}).items():
            into = merged["components"].setdefault(section, {})
            for name, value in entries.items():
                if name in into and into[name] != value:
                    raise GenerateError(f"components.{section}.{name} differs between documents")
                into[name] = value
    return merged


def build_spec(specs: Iterable[Path] = SPECS, overlay: Path = OVERLAY) -> dict[str, Any]:
    """The document the generator sees: the vendored specs, merged, with the overlay applied."""
    return apply_overlay(merge_documents(load_yaml(p) for p in specs), load_yaml(overlay))


def spec_record(sources: Iterable[Path]) -> dict[str, dict[str, str]]:
    """``{document: {"version": info.version, "sha256": ...}}``, keyed by the vendored name each
    source stands for (its position in ``DOCUMENTS``), so a candidate file keeps its role."""
    paths = tuple(sources)
    names = DOCUMENTS if len(paths) == len(DOCUMENTS) else tuple(p.name for p in paths)
    return {
        name: {
            "version": str(load_yaml(path)["info"]["version"]),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        for name, path in zip(names, paths, strict=True)
    }


def generate(output: Path, specs: Iterable[Path] = SPECS, overlay: Path = OVERLAY) -> None:
    """Run the pinned generator on the documents ``specs`` with ``overlay`` into ``output``."""
    specs = tuple(specs)
    spec = build_spec(specs, overlay)
    BUILD_SPEC.parent.mkdir(exist_ok=True)
    BUILD_SPEC.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", "utf-8")
    bindir = str(Path(sys.executable).parent)  # the post-hooks call ruff from this environment
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    with tempfile.TemporaryDirectory() as templates:
        try:
            patched_templates(Path(templates))
        except TemplatePatchError as exc:
            raise GenerateError(f"template patch openapi/templates/{exc}") from None
        command = [
            *(os.path.join(bindir, "openapi-python-client"), "generate"),
            *("--path", str(BUILD_SPEC), "--config", str(OPENAPI / "config.yaml")),
            *("--custom-template-path", templates),
            *("--meta", "none", "--output-path", str(output), "--overwrite"),
        ]
        shutil.rmtree(
            output, ignore_errors=True
        )  # nothing stale survives (--meta none keeps files)
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if (
        result.returncode != 0
        or "Warning" in result.stdout
        or not (output / "__init__.py").exists()
    ):
        raise GenerateError(f"openapi-python-client failed:\n{result.stdout}{result.stderr}")
    (output / "py.typed").write_text("", "utf-8")
    record = json.dumps(spec_record(specs), sort_keys=True)
    spec_module = output / "spec_info.py"
    spec_module.write_text(
        '"""The vendored OpenAPI documents this package was generated from."""\n\n'
        f"SPECS: dict[str, dict[str, str]] = {record}\n",
        "utf-8",
    )
    ruff = [os.path.join(bindir, "ruff"), "format", "--isolated", "--no-cache", str(spec_module)]
    subprocess.run(ruff, env=env, capture_output=True, check=True)


def tree_diff(expected: Path, actual: Path, package: str = PACKAGE) -> str:
    """A unified diff between two generated trees, ignoring caches and hidden files."""

    def files(root: Path) -> dict[str, Path]:
        relative = ((p.relative_to(root), p) for p in root.rglob("*") if p.is_file())
        return {
            rel.as_posix(): p
            for rel, p in relative
            if not any(part.startswith((".", "__pycache__")) for part in rel.parts)
        }

    old, new = files(actual), files(expected)
    out: list[str] = []
    for name in sorted(old.keys() | new.keys()):
        a = old[name].read_text("utf-8").splitlines(keepends=True) if name in old else []
        b = new[name].read_text("utf-8").splitlines(keepends=True) if name in new else []
        out.extend(difflib.unified_diff(a, b, f"generated/{package}/{name}", f"regenerated/{name}"))
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="fail with a diff if generated/ is stale"
    )
    args = parser.parse_args(argv)
    try:
        if not args.check:
            generate(TARGET)
            print(f"generated {TARGET.relative_to(ROOT)}")
            generate_models.generate_models(generate_models.TARGET)
            print(f"generated {generate_models.TARGET.relative_to(ROOT)}")
            generate_models.write_model_lists(generate_models.load_records())
            return 0
        stale = (
            provenance.problems(OPENAPI, DOCUMENTS)
            + generate_models.problems()
            + generate_models.list_problems()
        )
        if stale:
            raise GenerateError("\n".join(stale))
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / PACKAGE
            generate(fresh)
            diff = tree_diff(fresh, TARGET)
            models = Path(tmp) / generate_models.PACKAGE
            generate_models.generate_models(models)
            diff += tree_diff(models, generate_models.TARGET, generate_models.PACKAGE)
    except (GenerateError, generate_models.ModelDocumentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if diff:
        print(diff, end="")
        print("\ngenerated/ is not what openapi/ produces: run `make generate`.")
        return 1
    print("generated/ is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
