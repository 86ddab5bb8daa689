"""Generate ``generated/cometapi_replicate_models`` from the vendored model documents.

Each model in ``openapi/models/`` (recorded in ``openapi/models/provenance.json``) becomes the
subpackage ``<owner>.<name>`` (see :func:`python_name`), produced by one run of the pinned
openapi-python-client (its ``generate()``, in this process), so a document the generator cannot
type affects that model alone:

- ``schema.py``: ``MODEL``, ``VERSION``, ``SCHEMAS`` (the document's ``components.schemas``
  reachable from ``Input`` and ``Output``, as vendored) and ``TYPED``;
- when ``TYPED``: ``models/`` and ``types.py`` from the generator, and an ``__init__.py``
  exporting ``Input`` and the enum and object classes it uses.

The package's ``__init__.py`` holds ``MODELS`` (``"owner/name"`` -> dotted subpackage path) and
imports nothing. The generator sees a document the tool derives from the vendored one (never
written back, see :func:`generator_document`): only the schemas reachable from ``Input``;
component titles set to their keys and inline titles dropped, so class names follow the
document's structure; ``x-enum-varnames`` giving each enum member a readable, stable name
(:func:`enum_member_names`); no default the generator cannot take. After the runs, ruff
formats the package as ``openapi/config.yaml``'s post-hooks format the API package.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import hashlib
import io
import json
import keyword
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cometapi_replicate._inputs import split_model
from tools.templates import TemplatePatchError, patched_templates

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "openapi" / "models"
CONFIG = ROOT / "openapi" / "models-config.yaml"
PROVENANCE = "provenance.json"
PACKAGE = "cometapi_replicate_models"
TARGET = ROOT / "generated" / PACKAGE
SCHEMA_REF = "#/components/schemas/"
MODEL_KIND = "model object"
OPENAPI_KIND = "OpenAPI document"
RECORD_FIELDS = ("file", "kind", "retrieved", "sha256", "source")
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_DEPTH = 64
"""A document nested deeper is refused (cog's documents nest a few levels)."""
MAX_EXPANSION = 100_000
"""A document whose schemas, each ``$ref`` replaced by what it names, hold more values than
this is refused: a fan-out of references (``allOf`` of two ``$ref`` to a schema that has two
more...) would make every reader that follows them run for ever. The largest of the 3,808
public documents of the npm bundle expands to about 1,100 values."""


class ModelDocumentError(Exception):
    """A model document that cannot be vendored or generated: says what is wrong."""


@dataclass(frozen=True)
class ModelDocument:
    """What a vendored model document says, whichever form it came in."""

    kind: str
    """``MODEL_KIND`` (a model object with ``latest_version.openapi_schema``) or
    ``OPENAPI_KIND`` (the model's OpenAPI document alone)."""
    model: str | None
    """``owner/name`` when the document names it (a model object does)."""
    version: str | None
    openapi: dict[str, Any]
    example: dict[str, Any] | None
    """The model object's ``default_example.input``, when it has one."""

    @property
    def schemas(self) -> dict[str, Any]:
        found: dict[str, Any] = self.openapi["components"]["schemas"]
        return found


def load(text: bytes) -> Any:
    """A document's value: JSON, or else YAML (safe loader)."""
    try:
        return json.loads(text)
    except (UnicodeDecodeError, ValueError):
        pass
    try:
        return yaml.safe_load(text.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelDocumentError(f"neither JSON nor YAML: {first}") from None


def is_json(text: bytes) -> bool:
    try:
        json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def parse(value: Any) -> ModelDocument:
    """The model document ``value`` (loaded JSON or YAML) holds; raises
    :class:`ModelDocumentError` naming what is missing."""
    check_data(value)
    if not isinstance(value, dict):
        raise ModelDocumentError("not a model document: the top level is not an object")
    kind, model, version, example = OPENAPI_KIND, None, None, None
    openapi: Any = value
    if "latest_version" in value or ("owner" in value and "name" in value):
        kind = MODEL_KIND
        owner, name = value.get("owner"), value.get("name")
        if not isinstance(owner, str) or not isinstance(name, str):
            raise ModelDocumentError("a model object needs string `owner` and `name`")
        model = f"{owner}/{name}"
        latest = value.get("latest_version")
        if not isinstance(latest, dict) or not isinstance(latest.get("openapi_schema"), dict):
            raise ModelDocumentError(
                f"the model object {model} has no latest_version.openapi_schema"
            )
        openapi = latest["openapi_schema"]
        version = latest.get("id") if isinstance(latest.get("id"), str) else None
        default = value.get("default_example")
        if isinstance(default, dict) and isinstance(default.get("input"), dict):
            example = default["input"]
    components = openapi.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    if not isinstance(schemas, dict):
        raise ModelDocumentError("not a model's OpenAPI document: no components.schemas")
    if not isinstance(schemas.get("Input"), dict):
        raise ModelDocumentError("not a model's OpenAPI document: no components.schemas.Input")
    return ModelDocument(kind, model, version, openapi, example)


def check_data(value: Any) -> None:
    """Refuse (:class:`ModelDocumentError`) a value that is not JSON data, or nests deeper than
    ``MAX_DEPTH``: objects with string keys, arrays, strings, booleans, null and finite numbers.
    YAML has more (dates, ``!!binary``, integer keys) and JSON parsers take ``NaN``; none of it
    can be a model's input, and the generator would write code that does not import."""
    pending: list[tuple[Any, int, str]] = [(value, 0, "")]
    while pending:
        node, depth, where = pending.pop()
        at = f" at {where}" if where else ""
        if depth > MAX_DEPTH:
            raise ModelDocumentError(f"not a model document: it nests deeper than {MAX_DEPTH}")
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    raise ModelDocumentError(
                        f"not JSON data: the key {key!r}{at} is not a string "
                        f"({type(key).__name__}: quote it)"
                    )
                pending.append((item, depth + 1, f"{where}/{key}"[:200]))
        elif isinstance(node, list):
            pending.extend((item, depth + 1, f"{where}/{i}"[:200]) for i, item in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            raise ModelDocumentError(
                f"not JSON data: the number {node!r}{at} is not finite (NaN and infinities "
                "have no JSON form)"
            )
        elif node is not None and not isinstance(node, str | int | float | bool):
            raise ModelDocumentError(
                f"not JSON data: the value{at} is of type {type(node).__name__} "
                "(a YAML date or binary? quote it)"
            )


def check_model_id(model: str) -> str:
    """``model`` if it is ``owner/name`` as the SDK takes it (each part at most 100 letters,
    digits, ``.``, ``_``, ``-``: :func:`cometapi_replicate._inputs.split_model`), starting with
    a letter or digit; else :class:`ModelDocumentError`."""
    try:
        split_model(model)
    except ValueError:
        good = False
    else:
        good = bool(MODEL_ID.fullmatch(model))
    if not good:
        raise ModelDocumentError(
            f"{model[:250]!r} is not a model id of the form owner/name (each part 1 to 100 "
            "letters, digits, '.', '_' or '-', starting with a letter or digit)"
        )
    return model


def python_name(part: str) -> str:
    """A model id's owner or name as a module name: lower case, every character that is not a
    letter, digit or underscore (dashes, dots) an underscore, and ``m_`` before a name that
    starts with a digit or is a Python keyword."""
    name = re.sub(r"[^0-9a-z_]", "_", part.lower())
    if not name or name[0].isdigit() or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name = f"m_{name}"
    return name


def dotted_path(model: str) -> str:
    """``"black-forest-labs/flux-1.1-pro"`` -> ``"black_forest_labs.flux_1_1_pro"``."""
    owner, name = check_model_id(model).split("/")
    return f"{python_name(owner)}.{python_name(name)}"


def enum_member_names(values: Iterable[Any]) -> list[str]:
    """The enum member name of each value, in order: the value's text upper-cased, each run of
    characters other than ASCII letters and digits one underscore (trimmed at the ends), a
    leading ``-`` as ``MINUS_`` (``-1`` -> ``MINUS_1``), else ``V`` before a leading digit
    (``"16:9"`` -> ``V16_9``, ``0.5`` -> ``V0_5``), ``VALUE_<index>`` when nothing is left
    (``""``, ``"é"``), and ``_2``, ``_3``... after a name already taken (``"1-1"`` after
    ``"1:1"``: ``V1_1_2``)."""
    names: list[str] = []
    for index, value in enumerate(values):
        text = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
        name = re.sub(r"[^0-9A-Za-z]+", "_", text.lstrip("-")).strip("_").upper()
        if not name:
            name = f"VALUE_{index}"
        elif text.startswith("-"):
            name = f"MINUS_{name}"
        elif name[0].isdigit():
            name = f"V{name}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def refs(value: Any) -> Iterator[str]:
    """Every ``#/components/schemas/X`` name referred to anywhere in ``value``."""
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
                yield ref[len(SCHEMA_REF) :]
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def reachable(schemas: Mapping[str, Any], roots: Iterable[str]) -> dict[str, Any]:
    """The entries of ``schemas`` reachable from ``roots`` (those present), sorted by name."""
    seen: set[str] = set()
    pending = [name for name in roots if name in schemas]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(r for r in refs(schemas[name]) if r in schemas and r not in seen)
    return {name: schemas[name] for name in sorted(seen)}


def check_references(
    schemas: Mapping[str, Any], roots: Iterable[str] = ("Input", "Output")
) -> None:
    """Refuse (:class:`ModelDocumentError`) schemas reachable from ``roots`` that are defined
    as themselves (``Input`` -> ``A`` -> ``allOf`` ``B`` -> ``allOf`` ``A``: no input could be
    read from them) or that expand, each ``$ref`` replaced by what it names, to more than
    ``MAX_EXPANSION`` values. A reference back through a property or an array's items (a
    recursive type) counts once."""
    used = reachable(schemas, roots)
    for name in used:
        chain = _definition_cycle(name, used)
        if chain:
            raise ModelDocumentError(
                "a schema is defined as itself through $ref/allOf/anyOf/oneOf: "
                + " -> ".join(chain)
            )
    sizes: dict[str, int] = {}
    for name in used:
        if _expanded_size(name, used, sizes, set()) > MAX_EXPANSION:
            raise ModelDocumentError(
                f"the schema {name} expands to more than {MAX_EXPANSION} values when its "
                "$refs are followed (a fan-out of references): refused"
            )


def _definition_refs(schema: Any) -> Iterator[str]:
    """The schemas ``schema`` is defined as: its ``$ref``, and those of its ``allOf``,
    ``anyOf`` and ``oneOf`` members (not of its properties or items)."""
    pending = [schema]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            yield ref[len(SCHEMA_REF) :]
        for key in ("allOf", "anyOf", "oneOf"):
            members = node.get(key)
            if isinstance(members, list):
                pending.extend(members)


def _definition_cycle(start: str, schemas: Mapping[str, Any]) -> list[str]:
    """A chain of definitions from ``start`` back to ``start`` (empty: none)."""
    pending: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while pending:
        name, chain = pending.pop()
        for target in _definition_refs(schemas.get(name)):
            if target == start:
                return [*chain, target]
            if target in schemas and target not in seen:
                seen.add(target)
                pending.append((target, [*chain, target]))
    return []


def _expanded_size(
    name: str, schemas: Mapping[str, Any], sizes: dict[str, int], open_: set[str]
) -> int:
    """How many values the schema ``name`` holds with its ``$ref``s replaced, memoised in
    ``sizes`` (a reference back to a schema being counted, ``open_``, counts one)."""
    if name in sizes:
        return sizes[name]
    if name in open_ or name not in schemas:
        return 1
    open_.add(name)
    total, pending = 0, [schemas[name]]
    while pending and total <= MAX_EXPANSION:
        node = pending.pop()
        total += 1
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
                total += _expanded_size(ref[len(SCHEMA_REF) :], schemas, sizes, open_)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    open_.discard(name)
    sizes[name] = total
    return total


def generator_document(doc: ModelDocument, model: str) -> dict[str, Any]:
    """The document the generator sees for ``doc``: the schemas reachable from ``Input``;
    each component titled by its key (``_2``, ``_3``... after a key whose class the generator
    would name as another's: a component ``input`` beside ``Input``); inline titles dropped;
    enum member names added; and a default the generator cannot take (``1`` for an enum of
    strings, ``13.5`` for an integer) dropped: the field then defaults to ``None``, not sent,
    and the model applies its own default. ``SCHEMAS`` keeps the document as published."""
    from openapi_python_client import strings

    schemas = copy.deepcopy(reachable(doc.schemas, ["Input"]))
    used: set[str] = set()
    for key in sorted(schemas, key=lambda k: (k != "Input", k)):
        schema = schemas[key]
        _prepare(schema)
        if not isinstance(schema, dict):
            continue
        title, n = key, 2
        while (module := str(strings.PythonIdentifier(title, "field_"))) in used:
            title, n = f"{key}_{n}", n + 1
        used.add(module)
        schema["title"] = title
    for schema in _schemas_in(list(schemas.values())):
        if "default" in schema and not _fits(schema["default"], _resolved(schema, schemas)):
            del schema["default"]
    return {
        "openapi": "3.0.2",
        "info": {"title": model, "version": doc.version or "unknown"},
        "paths": {},
        "components": {"schemas": schemas},
    }


def _schemas_in(node: Any, schema: bool = True) -> Iterator[dict[str, Any]]:
    """Every schema in ``node`` (``schema``: ``node`` is one, else a map of names to them)."""
    if isinstance(node, list):
        for item in node:
            yield from _schemas_in(item, schema)
    elif isinstance(node, dict):
        if schema:
            yield node
        for key, value in node.items():
            if not (schema and key in VALUES):
                yield from _schemas_in(value, not (schema and key in MAPS))


def _resolved(schema: dict[str, Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    """The schema a property's ``allOf`` of one ``$ref`` (or ``$ref``) names, else itself."""
    target: Any = schema
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        target = all_of[0]
    ref = target.get("$ref") if isinstance(target, dict) else None
    if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
        target = schemas.get(ref[len(SCHEMA_REF) :])
    return target if isinstance(target, dict) else {}


TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
}


def _fits(default: Any, schema: Mapping[str, Any]) -> bool:
    """Whether the generator can take ``default`` for ``schema``: one of its enum values, of its
    type (``None`` always: the field's absence)."""
    if default is None:
        return True
    enum = schema.get("enum")
    if isinstance(enum, list):
        return any(default == v and type(default) is type(v) for v in enum)
    kinds = TYPES.get(str(schema.get("type")))
    if kinds is None:
        return True
    if isinstance(default, bool) and bool not in kinds:
        return False
    return isinstance(default, kinds)


def _prepare(node: Any, schema: bool = True) -> None:
    """Drop inline titles and name enum members, in place; ``schema``: ``node`` is a schema
    (else a map of names to schemas, as ``properties``)."""
    if isinstance(node, list):
        for item in node:
            _prepare(item, schema)
        return
    if not isinstance(node, dict):
        return
    if schema:
        if isinstance(node.get("title"), str):
            del node["title"]
        enum = node.get("enum")
        if isinstance(enum, list):
            values = [v for v in enum if v is not None]
            kinds = {type(v) for v in values}
            if kinds in ({str}, {int}):
                node["x-enum-varnames"] = enum_member_names(values)
            else:  # the generator types enums of strings or of integers only
                del node["enum"]
                if "type" not in node and kinds and kinds <= {int, float}:
                    node["type"] = "number"
    for key, value in node.items():
        if schema and key in VALUES:
            continue
        _prepare(value, not (schema and key in MAPS))


VALUES = ("enum", "default", "example", "examples", "const", "x-enum-varnames")
"""Keys of a schema whose values are data, not schemas."""
MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
"""Keys of a schema whose values map names to schemas."""


@dataclass(frozen=True)
class Generated:
    model: str
    typed: bool
    problem: str
    """Why the generator could not type ``Input`` (empty when typed)."""


def generate_model(doc: ModelDocument, model: str, output: Path, templates: Path) -> Generated:
    """Write the subpackage of ``model`` into ``output`` (replaced); never raises for what the
    generator does with the document: an ``Input`` it cannot type gives ``TYPED = False``."""
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    document = generator_document(doc, model)
    problem = clashes(document["components"]["schemas"])
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "openapi.json"
        spec.write_text(json.dumps(document, sort_keys=True), "utf-8")
        out = Path(tmp) / "out"
        text = problem or _run_generator(spec, out, templates)
        models = out / "models"
        if problem or not (models / "input_.py").is_file():
            problem = problem or _stable(text, tmp) or "the generator made no Input class"
        else:
            shutil.copytree(models, output / "models")
            shutil.copy2(out / "types.py", output / "types.py")
    typed = not problem
    exports = _exports(output / "models" / "__init__.py") if typed else []
    (output / "schema.py").write_text(_schema_module(doc, model, typed), "utf-8")
    (output / "__init__.py").write_text(_init_module(model, exports, problem), "utf-8")
    return Generated(model, typed, problem)


def _stable(text: str, tmp: str) -> str:
    """The generator's words without what changes from run to run (temporary paths, object
    addresses), so that the untyped model's package is the same on every run."""
    text = text.replace(tmp, "").replace("<openapi_python_client.schema.untrusted_string.", "<")
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)


def _run_generator(spec: Path, out: Path, templates: Path) -> str:
    """Run the pinned generator on ``spec`` into ``out``, in this process (its start-up would
    otherwise cost more than the run); what it reports, or why it failed (empty: nothing)."""
    import openapi_python_client as generator
    from openapi_python_client.config import Config, ConfigFile, MetaType

    try:
        config = Config.from_sources(
            ConfigFile.load_from_path(CONFIG), MetaType.NONE, spec, "utf-8", True, out
        )
        with contextlib.redirect_stdout(io.StringIO()):  # "Generating <dir>"
            errors = generator.generate(config=config, custom_template_path=templates)
    except Exception as exc:  # any document: a failure to type is reported, never a crash
        return f"the generator failed: {type(exc).__name__}: {str(exc)[:500]}"
    said = (" ".join(filter(None, (e.header, e.detail))) for e in errors)
    return "; ".join(said)[:2000]


RESERVED = frozenset({"additional_properties", "additional_keys", "to_dict", "from_dict"})
"""Attribute names of every generated class: an input named so would replace one."""
TEMPLATE_LOCALS = frozenset(
    {"d", "cls", "src_dict", "field_dict", "cast", "prop", "prop_name", "prop_dict"}
)
"""Names the pinned generator's model template (``model.py.jinja``) binds or calls in
``to_dict`` and ``from_dict`` beside the inputs' own locals (named as the inputs): an input
named so would break them (``d = d.pop("d")``). ``self``, ``isinstance`` and other reserved
names are already renamed by the generator (``self_``)."""


def clashes(schemas: Mapping[str, Any]) -> str:
    """Why the generator's class for an object in ``schemas`` would be broken (empty: it would
    not): two properties with one Python name (``HR`` and ``hr``), or one named as a member
    of every generated class (``to_dict``)."""
    from openapi_python_client import strings

    found: list[str] = []
    pending: list[Any] = list(schemas.values())
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        properties = node.get("properties")
        if isinstance(properties, dict):
            seen: dict[str, str] = {}
            for name in properties:
                python = str(strings.PythonIdentifier(str(name), prefix="field_"))
                if python in RESERVED or python.startswith("__"):
                    found.append(f"the input `{name}` would replace the class's own `{python}`")
                elif python in TEMPLATE_LOCALS:
                    found.append(f"the input `{name}` would be the generated code's own `{python}`")
                elif python in seen:
                    found.append(f"the inputs `{seen[python]}` and `{name}` are both `{python}`")
                seen[python] = str(name)
        pending.extend(v for k, v in node.items() if k not in VALUES)
    return "; ".join(sorted(set(found)))


def _exports(models_init: Path) -> list[str]:
    found = re.search(r"__all__ = \(([^)]*)\)", models_init.read_text("utf-8"))
    return sorted(re.findall(r'"(\w+)"', found.group(1))) if found else []


def _schema_module(doc: ModelDocument, model: str, typed: bool) -> str:
    schemas = reachable(doc.schemas, ["Input", "Output"])
    return (
        f'"""The schemas of {model}, as its vendored document gives them."""\n\n'
        "from typing import Any\n\n"
        f"MODEL: str = {model!r}\n"
        f"VERSION: str | None = {doc.version!r}\n"
        f"TYPED: bool = {typed!r}\n"
        f"SCHEMAS: dict[str, Any] = {schemas!r}\n"
    )


def _init_module(model: str, exports: list[str], problem: str) -> str:
    if not exports:
        note = problem.replace('"""', "'''").replace("\\", "/")
        return (
            f'"""{model}: no typed input (the generator could not type Input); use a dict.\n\n'
            f'{note}\n"""\n'
        )
    names = ", ".join(exports)
    listed = "".join(f'    "{name}",\n' for name in exports)
    return (
        f'"""Typed input of {model}: ``Input`` and the classes it uses."""\n\n'
        f"from .models import {names}\n\n__all__ = (\n{listed})\n"
    )


def load_records(models_dir: Path = MODELS_DIR) -> dict[str, dict[str, Any]]:
    path = models_dir / PROVENANCE
    if not path.exists():
        return {}
    records = json.loads(path.read_text("utf-8"))
    return records if isinstance(records, dict) else {}


def write_record(
    models_dir: Path, model: str, file: str, text: bytes, doc: ModelDocument, source: str
) -> None:
    """Record that ``file`` now holds ``model``'s document ``text``, taken from ``source``."""
    records = load_records(models_dir)
    records[model] = {
        "file": file,
        "kind": doc.kind,
        "model": model,
        "version": doc.version,
        "source": source,
        "retrieved": datetime.date.today().isoformat(),
        "sha256": hashlib.sha256(text).hexdigest(),
    }
    ordered = dict(sorted(records.items()))
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / PROVENANCE).write_text(json.dumps(ordered, indent=2) + "\n", "utf-8")


def problems(models_dir: Path = MODELS_DIR) -> list[str]:
    """Each vendored model document without a complete record or that differs from it, each
    record without its file, and each pair of models with one Python name (empty: all good)."""
    try:
        records = load_records(models_dir)
    except (OSError, ValueError) as exc:
        return [f"openapi/models/{PROVENANCE} cannot be read: {exc}"]
    found: list[str] = []
    files = {
        p.relative_to(models_dir).as_posix()
        for p in models_dir.rglob("*")
        if p.is_file() and p.suffix in (".json", ".yaml") and p.name != PROVENANCE
    }
    named: dict[str, str] = {}
    for model, entry in sorted(records.items()):
        if not isinstance(entry, dict) or any(not entry.get(key) for key in RECORD_FIELDS):
            found.append(f"{model} has no complete record in openapi/models/{PROVENANCE}")
            continue
        path = models_dir / str(entry["file"])
        files.discard(str(entry["file"]))
        if not path.is_file():
            found.append(f"{model}: openapi/models/{entry['file']} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            found.append(
                f"openapi/models/{entry['file']} is not the document recorded in "
                f"openapi/models/{PROVENANCE} (sha256 differs): vendored documents change "
                "only through `make add-model`"
            )
        try:
            dotted = dotted_path(model)
        except ModelDocumentError as exc:
            found.append(str(exc))
            continue
        if dotted in named:
            found.append(f"{named[dotted]} and {model} would both be {PACKAGE}.{dotted}")
        named[dotted] = model
    found += [f"openapi/models/{name} has no record in {PROVENANCE}" for name in sorted(files)]
    return found


MODEL_LISTS = ("README.md", "docs/guides/models.md")
"""The files (relative to the tree) that list the vendored models between
``<!-- vendored-models -->`` and ``<!-- /vendored-models -->``, one ``- `owner/name``` a line;
the README also lists models CometAPI serves whose documents are not vendored
(``not-vendored-models``), which a vendored model leaves."""
LISTED, NOT_LISTED = "vendored-models", "not-vendored-models"


def _listed(text: str, marker: str) -> tuple[int, int, list[str]] | None:
    """Where the list under ``marker`` starts and ends in ``text``, and its models."""
    opening, closing = f"<!-- {marker} -->\n", f"<!-- /{marker} -->"
    start = text.find(opening)
    end = text.find(closing, start)
    if start < 0 or end < 0:
        return None
    start += len(opening)
    lines = text[start:end].splitlines()
    return start, end, [line.strip("- `") for line in lines if line.strip()]


def _with_list(text: str, marker: str, models: Iterable[str]) -> str:
    found = _listed(text, marker)
    if found is None:
        return text
    start, end, _ = found
    return text[:start] + "".join(f"- `{model}`\n" for model in models) + text[end:]


def model_lists(models: Iterable[str], root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """Each file of ``MODEL_LISTS`` under ``root`` (those present): ``(now, wanted)``, its text
    and the text with ``models`` (sorted) as its list of vendored models."""
    vendored_ = sorted(models)
    found: dict[str, tuple[str, str]] = {}
    for name in MODEL_LISTS:
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text("utf-8")
        wanted = _with_list(text, LISTED, vendored_)
        others = _listed(text, NOT_LISTED)
        if others is not None:
            wanted = _with_list(wanted, NOT_LISTED, [m for m in others[2] if m not in vendored_])
        found[name] = (text, wanted)
    return found


def write_model_lists(models: Iterable[str], root: Path = ROOT) -> None:
    """Rewrite the lists of vendored models in the files of ``MODEL_LISTS`` under ``root``."""
    for name, (text, wanted) in model_lists(models, root).items():
        if wanted != text:
            (root / name).write_text(wanted, "utf-8")


def list_problems(models_dir: Path = MODELS_DIR, root: Path = ROOT) -> list[str]:
    """Each file of ``MODEL_LISTS`` whose lists differ from the models vendored in
    ``models_dir`` (empty: all agree)."""
    models = load_records(models_dir)
    return [
        f"{name}: its list of vendored models is not openapi/models/'s: run `make generate` "
        "(`make add-model` keeps it)"
        for name, (text, wanted) in model_lists(models, root).items()
        if text != wanted
    ]


def vendored(models_dir: Path = MODELS_DIR) -> dict[str, ModelDocument]:
    """Every vendored model's document, by model id."""
    return {
        model: parse(load((models_dir / str(entry["file"])).read_bytes()))
        for model, entry in sorted(load_records(models_dir).items())
    }


def generate_models(
    output: Path = TARGET,
    models_dir: Path = MODELS_DIR,
    only: str | None = None,
) -> list[Generated]:
    """Regenerate the package into ``output`` from ``models_dir``: the whole package (replaced),
    or with ``only``, that model's subpackage and the package's ``MODELS``. Each model's code
    depends on its document alone, so either way ``output`` holds what a whole run gives."""
    stale = problems(models_dir)
    if stale:
        raise ModelDocumentError("\n".join(stale))
    documents = vendored(models_dir)
    selected = documents if only is None else {only: documents[only]}
    bindir = str(Path(sys.executable).parent)
    if only is None:
        shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)
    paths = {model: dotted_path(model).replace(".", "/") for model in selected}
    with tempfile.TemporaryDirectory() as templates:
        try:
            patched_templates(Path(templates))
        except TemplatePatchError as exc:
            raise ModelDocumentError(f"template patch openapi/templates/{exc}") from None

        results = [
            generate_model(selected[model], model, output / paths[model], Path(templates))
            for model in selected
        ]
    for owner in {dotted_path(m).split(".")[0] for m in documents}:
        (output / owner / "__init__.py").write_text("", "utf-8")
    (output / "py.typed").write_text("", "utf-8")
    mapping = {model: dotted_path(model) for model in documents}
    (output / "__init__.py").write_text(
        '"""Typed inputs of the models with a vendored document, loaded on first use.\n\n'
        "``MODELS`` maps each model id to its subpackage (relative to this package); this\n"
        'module imports nothing.\n"""\n\n'
        f"MODELS: dict[str, str] = {mapping!r}\n",
        "utf-8",
    )
    _format(output, ["."] if only is None else ["__init__.py", *paths.values()], bindir)
    return results


def _format(output: Path, paths: list[str], bindir: str) -> None:
    """The generator's post-hooks (openapi/config.yaml) on ``paths`` (relative to ``output``),
    in one run for all the models rather than one per model."""
    ruff = os.path.join(bindir, "ruff")
    for command in (
        [ruff, "check", *paths, "--isolated", "--no-cache", "--fix-only", "--extend-select=I"],
        [ruff, "format", *paths, "--isolated", "--no-cache"],
    ):
        result = subprocess.run(command, cwd=output, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ModelDocumentError(f"{' '.join(command[:2])} failed:\n{result.stderr}")
