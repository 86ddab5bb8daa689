"""``make add-model SCHEMA=<path or URL> [MODEL=owner/name]``: vendor a model's document.

1. reads the document: a model's OpenAPI document (cog's: ``components.schemas.Input``), or a
   model object as Replicate's ``GET /v1/models/{owner}/{name}`` returns it (with
   ``latest_version.openapi_schema``), JSON or YAML, under the guards of ``make update-spec``
   (size, time, YAML aliases, depth, local ``$ref`` only, none pointing to nothing); JSON data
   only (no NaN or infinity, no YAML date, binary or non-string key), no schema defined as
   itself and no fan-out of references (:func:`tools.generate_models.check_references`), and
   a model id as the SDK takes it.
   ``MODEL`` names the model when the document does not (a bare OpenAPI document does not;
   a model object does);
2. prints what the model takes (each input's name, type, default, choices or range, in
   ``x-order``) and, for a model already vendored, what changed, in ``make update-spec``'s form;
   a breaking change is refused unless ``ALLOW_BREAKING=1``;
3. writes the document byte for byte to ``openapi/models/<owner>/<name>.json`` (``.yaml`` for
   YAML), records its source, kind, model, version, date and sha256 in
   ``openapi/models/provenance.json``, regenerates ``generated/cometapi_replicate_models``,
   rewrites the lists of vendored models in the README and the Models guide
   (:data:`tools.generate_models.MODEL_LISTS`) and says whether the model's input is typed
   (else why not: users then pass a dict).

A document that is refused writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tools import generate_models as gm
from tools.spec_report import Report, compare_schemas
from tools.update_spec import UpdateError, read_source, refuse_hostile

MAX_DEPTH = gm.MAX_DEPTH


class AddModelError(Exception):
    """The document was refused; nothing was written."""


@dataclass(frozen=True)
class Plan:
    model: str
    doc: gm.ModelDocument
    file: str
    """The vendored file, relative to ``openapi/models``."""
    report: Report | None
    """Against the vendored document of the same model, if there is one."""
    current: bool
    """The vendored file already holds these bytes."""


def read_document(text: bytes) -> gm.ModelDocument:
    """The model document ``text`` holds, refused with :class:`AddModelError` when it is not
    one or is hostile."""
    try:
        value = gm.load(text)
        refuse_hostile(value)
        doc = gm.parse(value)
        gm.check_references(doc.schemas)
        return doc
    except RecursionError:
        raise AddModelError("not a model document: it nests too deeply") from None
    except (gm.ModelDocumentError, UpdateError) as exc:
        raise AddModelError(str(exc)) from None


def plan(text: bytes, model: str | None, models_dir: Path = gm.MODELS_DIR) -> Plan:
    """Check the document and report on it; writes nothing."""
    doc = read_document(text)
    if doc.model and model and doc.model != model:
        raise AddModelError(f"the document is {doc.model}'s, not {model}'s (MODEL=)")
    for schema in gm.reachable(doc.schemas, ["Input", "Output"]).values():
        for ref in gm.refs(schema):
            if ref not in doc.schemas:
                raise AddModelError(f"a $ref points to nothing: {gm.SCHEMA_REF}{ref}")
    name = doc.model or model
    if not name:
        raise AddModelError("an OpenAPI document does not name its model: pass MODEL=owner/name")
    try:
        dotted = gm.dotted_path(name)
    except gm.ModelDocumentError as exc:
        raise AddModelError(str(exc)) from None
    records = gm.load_records(models_dir)
    for other in records:
        if other != name and gm.dotted_path(other) == dotted:
            raise AddModelError(
                f"{name} and the vendored {other} would both be {gm.PACKAGE}.{dotted}: "
                "rename one (the rule is in tools/generate_models.py, python_name)"
            )
    file = f"{name}{'.json' if gm.is_json(text) else '.yaml'}"
    report, current = None, False
    if name in records:
        vendored = models_dir / str(records[name]["file"])
        old = gm.parse(gm.load(vendored.read_bytes()))
        report = compare_models(name, old, doc)
        current = vendored.read_bytes() == text
    return Plan(name, doc, file, report, current)


def compare_models(model: str, old: gm.ModelDocument, new: gm.ModelDocument) -> Report:
    """What changed for users between two documents of ``model``: ``Input`` as a request,
    ``Output`` as a response."""
    versions = (_short(old.version), _short(new.version))
    roots: dict[str, Any] = {"Input": "request", "Output": "response"}
    return compare_schemas(_flat(old), _flat(new), roots, model, versions)


def _short(version: str | None) -> str:
    return version[:12] if version else "(version unknown)"


def _flat(doc: gm.ModelDocument) -> dict[str, Any]:
    """The document with each ``allOf`` of one ``$ref`` (cog's enums) replaced by what it
    refers to, merged under the keys beside it (``default``, ``description``)."""
    schemas = gm.reachable(doc.schemas, ["Input", "Output"])
    return {"components": {"schemas": {k: _inline(v, schemas) for k, v in schemas.items()}}}


def _inline(value: Any, schemas: Mapping[str, Any], depth: int = 0) -> Any:
    if isinstance(value, list):
        return [_inline(v, schemas, depth) for v in value]
    if not isinstance(value, dict):
        return value
    merged = {k: _inline(v, schemas, depth) for k, v in value.items()}
    return resolve(merged, schemas) if depth < 8 else merged


def resolve(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with an ``allOf`` of one schema or a ``$ref`` (to ``schemas``) replaced by
    what it names, merged under the keys beside it."""
    result = dict(schema)
    for _ in range(8):
        target: Any = None
        all_of = result.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            target = all_of[0]
            del result["allOf"]
        ref = (target or result).get("$ref")
        if isinstance(ref, str) and ref.startswith(gm.SCHEMA_REF):
            named = schemas.get(ref[len(gm.SCHEMA_REF) :])
            if target is None:
                del result["$ref"]
            target = named if isinstance(named, dict) else {}
        if target is None:
            break
        result = {**target, **result}
    return result


def inputs_report(model: str, doc: gm.ModelDocument) -> str:
    """What ``model`` takes: one line per input, in ``x-order``."""
    schemas = doc.schemas
    root = resolve(schemas["Input"], schemas)
    properties = root.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    listed = root.get("required")
    required = listed if isinstance(listed, list) else []
    version = f" version {doc.version}" if doc.version else ""
    lines = [f"{model}{version}: {len(properties)} input(s)"]

    def order(item: tuple[str, Any]) -> tuple[float, str]:
        x = item[1].get("x-order") if isinstance(item[1], dict) else None
        return (x if isinstance(x, int | float) and not isinstance(x, bool) else 1e9, item[0])

    rows = []
    for name, raw in sorted(properties.items(), key=order):
        schema = resolve(raw, schemas) if isinstance(raw, dict) else {}
        facts = ["required" if name in required else ""]
        if "default" in schema:
            facts = [f"default {_show(schema['default'])}"]
        facts.append(_allowed(schema))
        rows.append((name, type_text(schema, schemas), "; ".join(f for f in facts if f)))
    width = max((len(r[0]) for r in rows), default=0)
    kinds = max((len(r[1]) for r in rows), default=0)
    lines += [f"  {n:<{width}}  {t:<{kinds}}  {f}".rstrip() for n, t, f in rows]
    return "\n".join(lines)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed(schema: Mapping[str, Any]) -> str:
    enum = schema.get("enum")
    if isinstance(enum, list):
        shown = ", ".join(_show(v) for v in enum[:12])
        return f"one of {shown}{', ...' if len(enum) > 12 else ''}"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{low}..{high}"
    if low is not None:
        return f">= {low}"
    if high is not None:
        return f"<= {high}"
    return ""


def type_text(schema: Mapping[str, Any], schemas: Mapping[str, Any], depth: int = 0) -> str:
    """A schema's type in a few words: ``integer``, ``string (uri)``, ``array of string``."""
    if depth > 4:
        return "..."
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            return " | ".join(
                type_text(resolve(b, schemas), schemas, depth + 1)
                for b in branches
                if isinstance(b, dict)
            )
    if kind == "array":
        items = schema.get("items")
        inner = resolve(items, schemas) if isinstance(items, dict) else {}
        return f"array of {type_text(inner, schemas, depth + 1)}" if inner else "array"
    if not isinstance(kind, str):
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return type(enum[0]).__name__.replace("str", "string").replace("int", "integer")
        return "object" if "properties" in schema else "any"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if isinstance(fmt, str) else kind


def apply(
    text: bytes,
    source: str,
    plan_: Plan,
    models_dir: Path = gm.MODELS_DIR,
    output: Path = gm.TARGET,
) -> gm.Generated:
    """Vendor the document, record it and regenerate the package; on a failure the previous
    documents, record and package are put back."""
    with tempfile.TemporaryDirectory() as tmp:
        backup = Path(tmp)
        if models_dir.exists():
            shutil.copytree(models_dir, backup / "models")
        if output.exists():
            shutil.copytree(output, backup / "package")
        try:
            records = gm.load_records(models_dir)
            old = records.get(plan_.model, {}).get("file")
            if old and old != plan_.file:
                (models_dir / str(old)).unlink(missing_ok=True)
            path = models_dir / plan_.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text)
            gm.write_record(models_dir, plan_.model, plan_.file, text, plan_.doc, source)
            results = gm.generate_models(output, models_dir, only=plan_.model)
            if models_dir == gm.MODELS_DIR:
                gm.write_model_lists(gm.load_records(models_dir))
        except BaseException:
            for saved, into in ((backup / "models", models_dir), (backup / "package", output)):
                shutil.rmtree(into, ignore_errors=True)
                if saved.exists():
                    shutil.copytree(saved, into)
            raise
    return next(r for r in results if r.model == plan_.model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("schema", help="path or URL of the model object or OpenAPI document")
    parser.add_argument("--model", help="owner/name, when the document does not name it")
    parser.add_argument(
        "--source", help="what to record as the source (default: the path or URL given)"
    )
    args = parser.parse_args(argv)
    try:
        text = read_source(args.schema)
        found = plan(text, args.model or None)
        print(inputs_report(found.model, found.doc))
        if found.report is not None:
            print(found.report.format())
            if found.current:
                print(f"openapi/models/{found.file} is current: nothing to do")
                return 0
            if found.report.breaking and os.environ.get("ALLOW_BREAKING") != "1":
                raise AddModelError(
                    "breaking changes: nothing was changed (ALLOW_BREAKING=1 to take them)"
                )
        result = apply(text, args.source or args.schema, found)
    except (AddModelError, UpdateError, gm.ModelDocumentError, OSError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    where = f"{gm.PACKAGE}.{gm.dotted_path(found.model)}"
    if result.typed:
        print(f"vendored openapi/models/{found.file}; generated {where}: typed (Input)")
    else:
        print(
            f"vendored openapi/models/{found.file}; generated {where}: NOT typed, users pass "
            f"a dict. The generator said: {result.problem}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
