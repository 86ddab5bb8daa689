"""The vendored model documents, the generated ``cometapi_replicate_models`` package and the
rules of ``make add-model``, in this process (the workflow through make, in a copy of the
tree: ``test_add_model.py``).

Changes to a document are derived from the one vendored at that moment, never from what it
lacks today: a new input gets a name the document does not have, a new choice a value its enum
does not list."""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import add_model
from tools import generate_models as gm
from tools.templates import patched_templates

FLUX = "black-forest-labs/flux-schnell"
FIXTURES = gm.ROOT / "tests" / "fixtures" / "model-documents"
Doc = dict[str, Any]


def vendored(model: str = FLUX) -> Doc:
    record = gm.load_records()[model]
    loaded: Doc = json.loads((gm.MODELS_DIR / record["file"]).read_bytes())
    return loaded


def schemas_of(model_object: Doc) -> Doc:
    found: Doc = model_object["latest_version"]["openapi_schema"]["components"]["schemas"]
    return found


def fresh(taken: Any, stem: str) -> str:
    """``stem``, or ``stem_2``, ``stem_3``...: the first that ``taken`` does not hold."""
    name, n = stem, 2
    while name in taken:
        name, n = f"{stem}_{n}", n + 1
    return name


def value(member: Any) -> Any:
    """An enum member as JSON gives it back: its value."""
    return member.value


def encoded(model_object: Doc) -> bytes:
    return (json.dumps(model_object, indent=2) + "\n").encode()


# -- the rules ---------------------------------------------------------------------------------


def test_enum_members_have_readable_stable_names() -> None:
    values = ["1:1", "16:9", "webp", "match_input_image", "DPM++ 2M Karras", "0.25", 4, -1]
    assert gm.enum_member_names(values) == [
        "V1_1",
        "V16_9",
        "WEBP",
        "MATCH_INPUT_IMAGE",
        "DPM_2M_KARRAS",
        "V0_25",
        "V4",
        "MINUS_1",
    ]
    # Nothing left of a value: its index; a name taken: the next free suffix, in order.
    assert gm.enum_member_names(["", "é", "1:1", "1-1", "1.1"]) == [
        "VALUE_0",
        "VALUE_1",
        "V1_1",
        "V1_1_2",
        "V1_1_3",
    ]
    # The Models guide's examples of odd values.
    assert gm.enum_member_names(["a b", "x", "ä", "A-B"]) == ["A_B", "X", "VALUE_2", "A_B_2"]


@pytest.mark.parametrize(
    ("model", "dotted"),
    [
        ("black-forest-labs/flux-schnell", "black_forest_labs.flux_schnell"),
        ("black-forest-labs/flux-1.1-pro", "black_forest_labs.flux_1_1_pro"),
        ("qr2ai/360", "qr2ai.m_360"),
        ("412392713/animeganv2", "m_412392713.animeganv2"),
        ("someone/class", "someone.m_class"),
        ("Someone/Model_X", "someone.model_x"),
    ],
)
def test_a_model_id_becomes_a_dotted_subpackage_path(model: str, dotted: str) -> None:
    assert gm.dotted_path(model) == dotted


@pytest.mark.parametrize("model", ["../etc", "owner", "owner/name/more", "/name", "owner/-x"])
def test_a_model_id_that_is_not_owner_slash_name_is_refused(model: str) -> None:
    with pytest.raises(gm.ModelDocumentError, match="owner/name"):
        gm.dotted_path(model)


# -- the shipped package -----------------------------------------------------------------------


def test_the_package_maps_every_vendored_model_and_imports_nothing() -> None:
    probe = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "import cometapi_replicate_models as m\n"
        "print(json.dumps([sorted(set(sys.modules) - before), m.MODELS]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded, models = json.loads(out)
    assert loaded == ["cometapi_replicate_models"]
    records = gm.load_records()
    assert models == {model: gm.dotted_path(model) for model in records}
    assert {
        "black-forest-labs/flux-schnell",
        "black-forest-labs/flux-dev",
        "black-forest-labs/flux-pro",
        "black-forest-labs/flux-1.1-pro",
        "black-forest-labs/flux-1.1-pro-ultra",
    } <= set(models)


def test_importing_the_sdk_does_not_load_the_models() -> None:
    probe = "import sys, cometapi_replicate\nprint('cometapi_replicate_models' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_each_vendored_model_has_its_schemas_and_a_typed_input() -> None:
    from cometapi_replicate_models import MODELS

    for model, dotted in MODELS.items():
        record = gm.load_records()[model]
        assert (
            record["sha256"]
            == hashlib.sha256((gm.MODELS_DIR / record["file"]).read_bytes()).hexdigest()
        )
        schema = importlib.import_module(f"cometapi_replicate_models.{dotted}.schema")
        package = importlib.import_module(f"cometapi_replicate_models.{dotted}")
        assert model == schema.MODEL and record["version"] == schema.VERSION and schema.TYPED
        published = gm.parse(vendored(model)).schemas
        assert schema.SCHEMAS["Input"] == published["Input"]
        assert schema.SCHEMAS["Output"] == published["Output"]
        assert set(schema.SCHEMAS) == set(gm.reachable(published, ["Input", "Output"]))
        assert "Status" not in schema.SCHEMAS  # the prediction's schemas are not the model's
        example = vendored(model)["default_example"]["input"]
        typed = package.Input.from_dict(example).to_dict()
        back = json.loads(json.dumps(typed, default=value))
        assert back == example, model


def test_flux_schnell_input_has_enums_with_readable_members_and_its_defaults() -> None:
    from cometapi_replicate_models.black_forest_labs import flux_schnell

    made = flux_schnell.Input(prompt="a cat", aspect_ratio=flux_schnell.AspectRatio.V16_9)
    assert made.to_dict()["aspect_ratio"] == "16:9"
    assert made.num_outputs == 1 and made.output_format == flux_schnell.OutputFormat.WEBP
    taken = flux_schnell.Input.from_dict({"prompt": "a cat", "aspect_ratio": "21:9"})
    assert taken.aspect_ratio is flux_schnell.AspectRatio.V21_9
    with pytest.raises(ValueError, match="16x9"):
        flux_schnell.Input.from_dict({"prompt": "a cat", "aspect_ratio": "16x9"})
    assert (gm.ROOT / "generated" / gm.PACKAGE / "black_forest_labs" / "__init__.py").read_text(
        "utf-8"
    ) == ""


def test_enum_members_keep_the_models_order_of_choices() -> None:
    from cometapi_replicate_models.black_forest_labs import flux_schnell

    schemas = schemas_of(vendored())
    enums = {
        "aspect_ratio": flux_schnell.AspectRatio,
        "output_format": flux_schnell.OutputFormat,
        "megapixels": flux_schnell.Megapixels,
    }
    for name, enum in enums.items():
        ref = schemas["Input"]["properties"][name]["allOf"][0]["$ref"]
        choices = schemas[ref.rsplit("/", 1)[1]]["enum"]
        assert [member.value for member in enum] == choices
    assert next(iter(flux_schnell.AspectRatio)) == "1:1"  # the model's first choice


def test_only_the_models_code_is_kept_from_the_generator() -> None:
    package = gm.TARGET / "black_forest_labs" / "flux_schnell"
    assert sorted(p.name for p in package.iterdir() if p.name != "__pycache__") == [
        "__init__.py",
        "models",
        "schema.py",
        "types.py",
    ]


# -- provenance --------------------------------------------------------------------------------


def test_check_generated_names_a_model_document_that_differs_from_its_record(
    tmp_path: Path,
) -> None:
    models = shutil.copytree(gm.MODELS_DIR, tmp_path / "models")
    assert gm.problems(models) == []
    path = models / "black-forest-labs" / "flux-schnell.json"
    path.write_bytes(path.read_bytes().replace(b'"1:1"', b'"1:2"', 1))
    (models / "someone").mkdir()
    (models / "someone" / "stray.json").write_text("{}", "utf-8")
    records = gm.load_records(models)
    records["someone/gone"] = {**records[FLUX], "file": "someone/gone.json"}
    (models / gm.PROVENANCE).write_text(json.dumps(records), "utf-8")
    found = "\n".join(gm.problems(models))
    assert "openapi/models/black-forest-labs/flux-schnell.json is not the document" in found
    assert "openapi/models/someone/stray.json has no record" in found
    assert "someone/gone: openapi/models/someone/gone.json is missing" in found
    with pytest.raises(gm.ModelDocumentError, match="sha256 differs"):
        gm.generate_models(tmp_path / "out", models)


# -- add-model: refused documents --------------------------------------------------------------

ALIAS_BOMB = b"""a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
"""


def schemas_document(schemas: Doc) -> bytes:
    return json.dumps({"components": {"schemas": schemas}}).encode()


def yaml_input(value: str) -> bytes:
    """A YAML document whose ``Input`` has one property ``a`` written as ``value``."""
    return f"components:\n  schemas:\n    Input:\n      properties:\n        {value}\n".encode()


FAN_OUT = {
    "Input": {
        "type": "object",
        "properties": {"a": {"allOf": [{"$ref": "#/components/schemas/L0"}]}},
    },
    **{f"L{i}": {"allOf": [{"$ref": f"#/components/schemas/L{i + 1}"}] * 2} for i in range(41)},
    "L41": {"type": "string"},
}
"""Each level refers twice to the next: 2**41 schemas when the references are followed."""
CYCLE = {
    "Input": {"$ref": "#/components/schemas/A"},
    "A": {"allOf": [{"$ref": "#/components/schemas/B"}]},
    "B": {"allOf": [{"$ref": "#/components/schemas/A"}]},
}
"""An ``Input`` defined as itself: no input could ever be read from it."""


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"{not: json: nor yaml: [", "neither JSON nor YAML"),
        (b"\xff\xfe", "neither JSON nor YAML"),
        (b"[1, 2]", "the top level is not an object"),
        (b'{"openapi": "3.0.2", "info": {}}', "no components.schemas"),
        (b'{"components": {"schemas": {"Output": {}}}}', "no components.schemas.Input"),
        (b'{"owner": "a", "name": "b", "latest_version": null}', "no latest_version.openapi"),
        (
            b'{"components": {"schemas": {"Input": {"$ref": "https://example.invalid/x"}}}}',
            "only local references",
        ),
        (ALIAS_BOMB, "expands to more than"),
        (
            b'{"components": {"schemas": {"Input": {"properties": {"a": {"$ref": "#/components/'
            b'schemas/Gone"}}}}}}',
            "a \\$ref points to nothing: #/components/schemas/Gone",
        ),
        (b"[" * 100 + b"]" * 100, "nests"),
        (
            b'{"components": {"schemas": {"Input": {"properties": {"a": {"maximum": NaN}}}}}}',
            "the number nan at /components/schemas/Input/properties/a/maximum is not finite",
        ),
        (
            b'{"components": {"schemas": {"Input": {"properties": {"a": {"maximum": Infinity}}}}}}',
            "the number inf at .* is not finite",
        ),
        (yaml_input("a: {type: number, minimum: -.inf}"), "the number -inf at .* is not finite"),
        (yaml_input("a: {type: number, default: .nan}"), "the number nan at .* is not finite"),
        (yaml_input("a: {type: string, default: 2024-01-01}"), "is of type date"),
        (yaml_input("a: {type: string, default: !!binary aGk=}"), "is of type bytes"),
        (yaml_input("1: {type: string}"), "the key 1 at .* is not a string"),
        (yaml_input("true: {type: string}"), "the key True at .* is not a string"),
        (schemas_document(FAN_OUT), f"expands to more than {gm.MAX_EXPANSION} values .* fan-out"),
        (schemas_document(CYCLE), "defined as itself .*: A -> B -> A"),
    ],
)
def test_a_bad_document_is_refused_with_a_clear_error(
    text: bytes, error: str, tmp_path: Path
) -> None:
    with pytest.raises(add_model.AddModelError, match=error):
        add_model.plan(text, "someone/model", tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "value", ["a: {type: string, default: 2024-01-01}", "a: {type: number, maximum: .inf}"]
)
def test_add_model_says_error_for_a_document_that_is_not_json_data(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = tmp_path / "model.yaml"
    document.write_bytes(yaml_input(value))
    before = sorted(gm.MODELS_DIR.rglob("*"))
    assert add_model.main([str(document), "--model", "someone/model"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: not JSON data: ") and "Traceback" not in err
    assert sorted(gm.MODELS_DIR.rglob("*")) == before


def test_a_recursive_type_through_a_property_is_not_a_cycle() -> None:
    node = {
        "type": "object",
        "properties": {"kids": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}},
    }
    schemas = {
        "Input": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/Node"}}},
        "Node": node,
    }
    assert add_model.plan(schemas_document(schemas), "someone/tree", gm.ROOT / "nowhere").model


@pytest.mark.parametrize(
    "model",
    [f"{'a' * 101}/name", f"owner/{'n' * 101}", f"{'a' * 200}/{'n' * 200}", "owner/..", "o/n/x"],
)
def test_a_model_id_the_sdk_would_refuse_is_refused(model: str, tmp_path: Path) -> None:
    from cometapi_replicate._inputs import split_model

    with pytest.raises(add_model.AddModelError, match="not a model id of the form owner/name"):
        add_model.plan(schemas_document({"Input": {"type": "object"}}), model, tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):  # the SDK's own rule, which add-model applies
        split_model(model)


def test_a_bare_openapi_document_needs_model_and_a_model_object_names_its_own() -> None:
    model_object = vendored()
    bare = json.dumps(model_object["latest_version"]["openapi_schema"]).encode()
    with pytest.raises(add_model.AddModelError, match="pass MODEL=owner/name"):
        add_model.plan(bare, None)
    planned = add_model.plan(bare, "someone/flux-copy")
    assert (planned.model, planned.doc.kind, planned.doc.version) == (
        "someone/flux-copy",
        gm.OPENAPI_KIND,
        None,
    )
    with pytest.raises(add_model.AddModelError, match="not someone/other's"):
        add_model.plan(encoded(model_object), "someone/other")


def test_two_models_with_one_python_name_are_refused() -> None:
    model_object = vendored()
    model_object["name"] = "flux.schnell"  # black_forest_labs.flux_schnell, as flux-schnell
    with pytest.raises(add_model.AddModelError, match="would both be"):
        add_model.plan(encoded(model_object), None)


# -- add-model: the report ---------------------------------------------------------------------


def test_the_inputs_report_lists_each_input_in_x_order_with_what_it_accepts() -> None:
    doc = gm.parse(vendored())
    lines = add_model.inputs_report(FLUX, doc).splitlines()
    properties = doc.schemas["Input"]["properties"]
    order = sorted(properties, key=lambda name: properties[name]["x-order"])
    assert [line.split()[0] for line in lines[1:]] == order
    assert lines[0].startswith(f"{FLUX} version {doc.version}: {len(order)} input(s)")
    (aspect,) = [line for line in lines if line.split()[0] == "aspect_ratio"]
    choices = add_model.resolve(properties["aspect_ratio"], doc.schemas)["enum"]
    assert "default " + json.dumps(properties["aspect_ratio"]["default"]) in aspect
    assert "one of " + ", ".join(json.dumps(v) for v in choices[:12]) in aspect
    (prompt,) = [line for line in lines if line.split()[0] == "prompt"]
    assert prompt.split()[1:] == ["string", "required"]
    (outputs,) = [line for line in lines if line.split()[0] == "num_outputs"]
    num = properties["num_outputs"]
    assert f"{num['minimum']}..{num['maximum']}" in outputs


def changed(change: str) -> tuple[Doc, Doc]:
    """Flux-schnell's vendored document and a copy with ``change`` made to it."""
    old = vendored()
    new = copy.deepcopy(old)
    schemas = schemas_of(new)
    properties = schemas["Input"]["properties"]
    aspect = schemas[properties["aspect_ratio"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    if change == "optional input":
        properties[fresh(properties, "style")] = {"type": "string", "x-order": 99}
    elif change == "required input":
        name = fresh(properties, "style")
        properties[name] = {"type": "string", "x-order": 99}
        schemas["Input"]["required"].append(name)
    elif change == "choice added":
        aspect["enum"].append(fresh(aspect["enum"], "7:3"))
    elif change == "choice removed":
        aspect["enum"].pop()
    elif change == "range narrowed":
        properties["num_outputs"]["maximum"] -= 1
    elif change == "range widened":
        properties["num_outputs"]["maximum"] += 1
    elif change == "input removed":
        del properties["seed"]
    elif change == "output retyped":
        was = schemas["Output"].get("type")
        schemas["Output"] = {"type": "integer" if was == "string" else "string"}
    new["latest_version"]["id"] = hashlib.sha256(encoded(new)).hexdigest()
    return old, new


@pytest.mark.parametrize(
    ("change", "line", "breaking"),
    [
        ("optional input", "Input: field `style` added (optional)", False),
        ("required input", "Input: field `style` added (required)", True),
        ("choice added", "Input.aspect_ratio: enum values added: ['7:3']", False),
        ("choice removed", "Input.aspect_ratio: enum values removed:", True),
        ("range narrowed", "Input.num_outputs: maximum changed:", True),
        ("range widened", "Input.num_outputs: maximum changed:", False),
        ("input removed", "Input: field `seed` removed", True),
        ("output retyped", "Output: retyped: array -> string", True),
    ],
)
def test_a_changed_document_is_reported_as_update_spec_reports(
    change: str, line: str, breaking: bool
) -> None:
    old, new = changed(change)
    report = add_model.compare_models(FLUX, gm.parse(old), gm.parse(new))
    properties = schemas_of(old)["Input"]["properties"]
    line = line.replace("`style`", f"`{fresh(properties, 'style')}`")
    aspect = add_model.resolve(properties["aspect_ratio"], schemas_of(old))["enum"]
    line = line.replace("['7:3']", str([fresh(aspect, "7:3")]))
    was = schemas_of(old)["Output"].get("type")
    line = line.replace("array -> string", f"{was} -> {'integer' if was == 'string' else 'string'}")
    text = report.format()
    mark = "[BREAKING    ]" if breaking else "[non-breaking]"
    assert f"  {mark} {line}" in text, text
    assert len(report.changes) == 1 and report.breaking is breaking
    assert text.splitlines()[0] == (
        f"{FLUX} {old['latest_version']['id'][:12]} -> {new['latest_version']['id'][:12]}"
    )
    assert text.splitlines()[-1].startswith("1 change(s), ")


# -- generation of shapes no real document has -------------------------------------------------


def derived(name: str, change: str) -> gm.ModelDocument:
    """Flux-schnell's document with ``change``: shapes none of the public documents has."""
    model_object = vendored()
    model_object["name"] = name
    schemas = schemas_of(model_object)
    properties = schemas["Input"]["properties"]
    if change == "nested":
        properties[fresh(properties, "style")] = {
            "type": "object",
            "title": "Odd Title!",
            "properties": {
                "name": {"type": "string"},
                "mode": {"enum": ["1:1", "a b"], "type": "string"},
                "boxes": {"type": "array", "items": {"type": "object", "properties": {}}},
            },
        }
        properties[fresh(properties, "guidance")] = {"enum": [1.5, 2.5], "type": "number"}
    elif change == "defaults that do not fit":
        # An enum of strings with an integer default; an integer with a fractional one.
        properties["aspect_ratio"]["default"] = 1
        properties["num_outputs"]["default"] = 1.5
    elif change == "a component named as Input's class":
        name = fresh(schemas, "input")  # the class Input, as Input's
        schemas[name] = {"enum": ["x", "y"], "type": "string"}
        properties[fresh(properties, "mode")] = {
            "allOf": [{"$ref": f"#/components/schemas/{name}"}]
        }
    elif change == "not an object":
        schemas["Input"] = {"type": "string", "title": "Input"}
    elif change == "clash":
        properties[fresh(properties, "to_dict")] = {"type": "string"}
    elif change == "template local":  # from_dict's own `d = dict(src_dict)`
        assert "d" not in properties
        properties["d"] = {"type": "integer"}
    return gm.parse(model_object)


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates")
    patched_templates(path)
    return path


def test_a_nested_object_and_an_enum_of_numbers_are_typed(templates: Path, tmp_path: Path) -> None:
    doc = derived("nested", "nested")
    result = gm.generate_model(doc, "someone/nested", tmp_path / "pkg" / "nested", templates)
    assert result.typed, result.problem
    (tmp_path / "pkg" / "__init__.py").write_text("", "utf-8")
    style = fresh(schemas_of(vendored())["Input"]["properties"], "style")
    guidance = fresh(schemas_of(vendored())["Input"]["properties"], "guidance")
    example = {"prompt": "p", style: {"name": "n", "mode": "a b", "boxes": [{}]}, guidance: 2.5}
    probe = (
        "import json, sys\n"
        "from pkg import nested\n"
        "value = nested.Input.from_dict(json.loads(sys.argv[1]))\n"
        "print(json.dumps([value.to_dict(), sorted(nested.__all__)], default=str))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(example)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    back, exported = json.loads(out)
    assert back == example
    assert "Input" in exported and any(name.endswith("Mode") for name in exported)


@pytest.mark.parametrize(
    "change", ["defaults that do not fit", "a component named as Input's class"]
)
def test_a_document_the_generator_would_refuse_as_published_is_still_typed(
    change: str, templates: Path, tmp_path: Path
) -> None:
    doc = derived("odd", change)
    result = gm.generate_model(doc, "someone/odd", tmp_path / "odd", templates)
    assert result.typed, result.problem
    exported = (tmp_path / "odd" / "__init__.py").read_text("utf-8")
    assert '"Input",' in exported
    source = (tmp_path / "odd" / "models" / "input_.py").read_text("utf-8")
    if change == "defaults that do not fit":  # not sent: the model applies its own default
        assert "aspect_ratio: AspectRatio | None = None" in source
        assert "num_outputs: int | None = None" in source
    namespace: dict[str, Any] = {}
    exec((tmp_path / "odd" / "schema.py").read_text("utf-8"), namespace)
    assert namespace["SCHEMAS"]["Input"] == doc.schemas["Input"]  # as published


@pytest.mark.parametrize("name", ["d", "cls", "cast", "field_dict", "src_dict", "D", "prop_name"])
def test_an_input_named_as_the_generated_codes_own_names_is_not_typed(name: str) -> None:
    schemas = {
        "Input": {
            "type": "object",
            "properties": {"prompt": {"type": "string"}, name: {"type": "integer"}},
        }
    }
    assert f"the input `{name}` would be the generated code's own" in gm.clashes(schemas)
    assert (
        gm.clashes(
            {"Input": {"type": "object", "properties": {"data": {}, "type": {}, "self": {}}}}
        )
        == ""
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("not an object", "no Input class"),
        ("clash", "would replace the class's own `to_dict`"),
        ("template local", "the input `d` would be the generated code's own `d`"),
    ],
)
def test_an_input_the_generator_cannot_type_falls_back_to_a_dict(
    change: str, problem: str, templates: Path, tmp_path: Path
) -> None:
    doc = derived("untyped", change)
    result = gm.generate_model(doc, "someone/untyped", tmp_path / "untyped", templates)
    assert not result.typed and problem in result.problem
    assert sorted(p.name for p in (tmp_path / "untyped").iterdir()) == ["__init__.py", "schema.py"]
    namespace: dict[str, Any] = {}
    exec((tmp_path / "untyped" / "schema.py").read_text("utf-8"), namespace)
    assert (namespace["TYPED"], namespace["MODEL"]) == (False, "someone/untyped")
    assert namespace["SCHEMAS"]["Input"] == doc.schemas["Input"]


# -- what the README promises ------------------------------------------------------------------


def listed(marker: str) -> list[str]:
    text = (gm.ROOT / "README.md").read_text("utf-8")
    block = text.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    return [line.strip("- `") for line in block.strip().splitlines()]


def test_the_readme_lists_the_vendored_models_and_only_those() -> None:
    from cometapi_replicate_models import MODELS

    assert sorted(listed("vendored-models")) == sorted(MODELS)
    assert listed("not-vendored-models")
    assert not set(listed("not-vendored-models")) & set(MODELS)
    assert gm.list_problems() == []  # the Models guide's list too


def test_add_model_keeps_the_lists_of_vendored_models_and_check_generated_holds_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "docs" / "guides").mkdir(parents=True)
    readme = (
        "# x\n<!-- vendored-models -->\n- `a/one`\n<!-- /vendored-models -->\ntext\n"
        "<!-- not-vendored-models -->\n- `b/two`\n- `c/three`\n<!-- /not-vendored-models -->\n"
    )
    (tmp_path / "README.md").write_text(readme, "utf-8")
    guide = "intro\n<!-- vendored-models -->\n<!-- /vendored-models -->\nend\n"
    (tmp_path / "docs" / "guides" / "models.md").write_text(guide, "utf-8")
    models = tmp_path / "models"
    models.mkdir()
    (models / gm.PROVENANCE).write_text(json.dumps({"b/two": {}, "a/one": {}}), "utf-8")

    assert gm.list_problems(models, tmp_path) == [
        "README.md: its list of vendored models is not openapi/models/'s: run `make generate` "
        "(`make add-model` keeps it)",
        "docs/guides/models.md: its list of vendored models is not openapi/models/'s: run "
        "`make generate` (`make add-model` keeps it)",
    ]
    gm.write_model_lists(gm.load_records(models), tmp_path)
    assert gm.list_problems(models, tmp_path) == []
    assert (tmp_path / "README.md").read_text("utf-8") == (
        "# x\n<!-- vendored-models -->\n- `a/one`\n- `b/two`\n<!-- /vendored-models -->\ntext\n"
        "<!-- not-vendored-models -->\n- `c/three`\n<!-- /not-vendored-models -->\n"
    )
    assert (tmp_path / "docs" / "guides" / "models.md").read_text("utf-8") == (
        "intro\n<!-- vendored-models -->\n- `a/one`\n- `b/two`\n<!-- /vendored-models -->\nend\n"
    )


# -- the corpus tool ---------------------------------------------------------------------------


def test_the_corpus_tool_extracts_entries_and_counts_every_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import model_corpus

    typed = vendored()
    untyped = copy.deepcopy(typed)
    untyped["name"] = "untyped"
    schemas_of(untyped)["Input"] = {"type": "string"}
    refused = {"owner": "someone", "name": "no-version", "latest_version": None}
    bundle = tmp_path / "models.json"
    bundle.write_text(json.dumps([typed, untyped, refused]), "utf-8")

    assert model_corpus.main(["extract", str(bundle), FLUX, "x/missing", "--out", str(tmp_path)])
    assert json.loads((tmp_path / f"{FLUX}.json").read_bytes()) == typed
    assert "not in the bundle: x/missing" in capsys.readouterr().err

    assert model_corpus.main(["run", str(bundle), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 models: 1 typed, 1 not typed, 1 refused (no usable document), 0 crashed" in out
    assert "round trips of the typed models' examples: 1 same, 0 differ, 0 refused" in out
    assert "untyped  black-forest-labs/untyped: the generator made no Input class" in out
