"""A model's inputs checked, coerced and described from its cog schema: pure, no I/O.

The schemas are flux-schnell's vendored one (the generated package's ``SCHEMAS``) and small
documents in the shapes cog writes (enums through ``allOf``, enums of numbers, names that are
not identifiers, nested objects, arrays of files, ``anyOf``, ``nullable``, no properties).
"""

from __future__ import annotations

import io
import json
import math
import pickle
from pathlib import Path
from typing import Any

import pytest
from cometapi_replicate_models.black_forest_labs.flux_schnell.schema import SCHEMAS
from hypothesis import given
from hypothesis import strategies as st

from cometapi_replicate import InvalidInputError
from cometapi_replicate._model_inputs import MISSING, ModelSchema

FLUX = ModelSchema("black-forest-labs/flux-schnell", SCHEMAS)

SHAPES: dict[str, Any] = {
    "Input": {
        "type": "object",
        "required": ["images", "mode"],
        "properties": {
            "images": {
                "type": "array",
                "items": {"type": "string", "format": "uri"},
                "x-order": 0,
                "description": "Pictures",
            },
            "mode": {"allOf": [{"$ref": "#/components/schemas/mode"}], "x-order": 1},
            "size": {
                "allOf": [{"$ref": "#/components/schemas/size"}],
                "default": 512,
                "x-order": 2,
            },
            "strength": {"type": "number", "minimum": 0, "maximum": 1, "x-order": 3},
            "steps": {"type": "integer", "ge": 1, "le": 50, "default": 25, "x-order": 4},
            "seed": {"type": "integer", "nullable": True, "x-order": 5},
            "text": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                "x-order": 6,
            },
            "box": {
                "type": "object",
                "required": ["x"],
                "additionalProperties": False,
                "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                "x-order": 7,
            },
            "lora-scale": {"type": "number", "x-order": 8},
            "loras": {"type": "array", "items": {"type": "number"}, "default": [], "x-order": 9},
            "flag": {"type": "boolean", "default": False, "x-order": 10},
        },
    },
    "mode": {"enum": ["fast", "slow"], "type": "string", "title": "mode"},
    "size": {"enum": [256, 512, 1024], "type": "integer", "title": "size"},
    "Output": {
        "type": "array",
        "items": {"type": "string"},
        "x-cog-array-type": "iterator",
        "x-cog-array-display": "concatenate",
    },
}
SHAPED = ModelSchema("o/shapes", SHAPES)
GOOD = {"images": ["https://x.test/a.png"], "mode": "fast"}


def problems(schema: ModelSchema, model_input: dict[str, Any]) -> dict[str, str]:
    return dict(schema.problems(model_input))


def test_flux_schnell_takes_its_published_example() -> None:
    example = {
        "prompt": "black forest gateau cake",
        "go_fast": True,
        "num_outputs": 1,
        "aspect_ratio": "1:1",
        "output_format": "webp",
        "output_quality": 80,
    }
    assert FLUX.problems(example) == []


def test_a_refusal_names_the_field_and_what_it_accepts() -> None:
    with pytest.raises(InvalidInputError) as refused:
        FLUX.check({"prompt": "a fox", "aspect_ratio": "16x9"})
    error = refused.value
    assert isinstance(error, ValueError)
    assert error.fields == ["aspect_ratio"]
    assert '"16:9"' in str(error) and '"16x9"' in str(error)
    assert "black-forest-labs/flux-schnell" in str(error) and "nothing was sent" in str(error)


@pytest.mark.parametrize(
    ("model_input", "field", "says"),
    [
        ({"prompt": "a", "aspectratio": "1:1"}, "aspectratio", "did you mean aspect_ratio?"),
        ({"prompt": "a", "steps": 4}, "steps", "did you mean num_inference_steps?"),
        ({"prompt": "a", "zzz": 1}, "zzz", "the inputs are aspect_ratio, disable_safety"),
        ({"prompt": "a", "num_outputs": 5}, "num_outputs", "an integer 1 to 4; not 5"),
        ({"prompt": "a", "num_outputs": 0}, "num_outputs", "an integer 1 to 4; not 0"),
        ({"prompt": "a", "num_outputs": 2.5}, "num_outputs", "an integer 1 to 4; not 2.5"),
        ({"prompt": "a", "num_outputs": True}, "num_outputs", "not true"),
        ({"prompt": "a", "go_fast": "yes"}, "go_fast", 'a boolean; not "yes"'),
        ({"prompt": 42}, "prompt", "a string; not 42"),
        ({}, "prompt", "required (a string)"),
        ({"prompt": None}, "prompt", "a string; not null"),
        ({"prompt": "a", "megapixels": 1}, "megapixels", 'one of "1", "0.25"'),
    ],
)
def test_each_kind_of_mistake_is_refused(
    model_input: dict[str, Any], field: str, says: str
) -> None:
    found = problems(FLUX, model_input)
    assert list(found) == [field]
    assert says in found[field]


def test_every_mistake_is_reported_at_once() -> None:
    with pytest.raises(InvalidInputError) as refused:
        FLUX.check({"aspectratio": "1:1", "num_outputs": 9})
    assert set(refused.value.fields) == {"prompt", "aspectratio", "num_outputs"}
    assert str(refused.value).count("\n") == 3


def test_optional_null_and_sandbox_controls_pass() -> None:
    assert FLUX.problems({"prompt": "a", "seed": None}) == []
    assert FLUX.problems({"prompt": "a", "sandbox_outcome": "failed", "sandbox_run": 0}) == []


def test_numbers_spelled_as_text_are_taken_as_cog_takes_them() -> None:
    assert FLUX.problems({"prompt": "a", "num_outputs": "2", "output_quality": "80"}) == []
    assert list(problems(FLUX, {"prompt": "a", "num_outputs": "9"})) == ["num_outputs"]
    assert list(problems(FLUX, {"prompt": "a", "num_outputs": "two"})) == ["num_outputs"]


def test_files_are_what_create_uploads_or_a_url(tmp_path: Path) -> None:
    picture = tmp_path / "a.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    with picture.open("rb") as opened:
        for image in (picture, b"bytes", bytearray(b"x"), opened, io.BytesIO(b"x")):
            assert SHAPED.problems({**GOOD, "images": [image]}) == [], image
    for url in ("https://x.test/a.png", "http://x.test/a", "data:image/png;base64,AAAA"):
        assert SHAPED.problems({**GOOD, "images": [url]}) == []
    found = problems(SHAPED, {**GOOD, "images": ["a.png", 3]})
    assert "a file (a URL, a Path, bytes" in found["images[0]"]
    assert found["images[1]"].endswith("not 3")


def test_arrays_nested_objects_and_alternatives() -> None:
    assert problems(SHAPED, {**GOOD, "images": "https://x.test/a.png"}) == {
        "images": 'an array of file; not "https://x.test/a.png"'
    }
    assert SHAPED.problems({**GOOD, "box": {"x": 1, "y": 2}}) == []
    found = problems(SHAPED, {**GOOD, "box": {"y": 2.5, "z": 0}})
    assert found["box.x"] == "required (an integer)"
    assert found["box.y"] == "an integer; not 2.5"
    assert found["box.z"] == "unknown input; the inputs are x, y"
    assert SHAPED.problems({**GOOD, "text": "a"}) == []
    assert SHAPED.problems({**GOOD, "text": ["a", "b"]}) == []
    assert "string | array of string" in problems(SHAPED, {**GOOD, "text": 3})["text"]
    assert SHAPED.problems({**GOOD, "lora-scale": 0.5, "loras": [1, 2.5], "seed": None}) == []


def test_enums_of_numbers_and_ranges_from_pydantic() -> None:
    assert SHAPED.problems({**GOOD, "size": 1024}) == []
    assert SHAPED.problems({**GOOD, "size": 1024.0}) == []
    assert problems(SHAPED, {**GOOD, "size": 300}) == {"size": "one of 256, 512, 1024; not 300"}
    assert problems(SHAPED, {**GOOD, "steps": 51}) == {"steps": "an integer 1 to 50; not 51"}
    assert problems(SHAPED, {**GOOD, "strength": 1.5}) == {"strength": "a number 0 to 1; not 1.5"}


def test_a_schema_without_properties_or_with_a_ref_cycle_never_crashes() -> None:
    empty = ModelSchema("o/empty", {"Input": {"type": "object", "properties": {}}})
    assert empty.fields == ()
    assert list(problems(empty, {"a": 1})) == ["a"]
    cycle = ModelSchema(
        "o/cycle",
        {
            "Input": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
            "A": {"allOf": [{"$ref": "#/components/schemas/A"}]},
        },
    )
    assert cycle.problems({"a": {"deep": [1]}}) == []
    assert ModelSchema("o/none", {}).fields == ()
    assert ModelSchema("o/odd", {"Input": "not a schema"}).problems({}) != [None]


def test_fields_come_in_x_order_with_what_inputs_prints() -> None:
    assert [f.name for f in FLUX.fields][:4] == [
        "prompt",
        "aspect_ratio",
        "num_outputs",
        "num_inference_steps",
    ]
    ratio = FLUX.field("aspect_ratio")
    assert ratio is not None and ratio.type == "string" and ratio.default == "1:1"
    assert ratio.choices is not None and "16:9" in ratio.choices
    outputs = FLUX.field("num_outputs")
    assert outputs is not None and outputs.allowed == "1 to 4" and outputs.default == 1
    prompt = FLUX.field("prompt")
    assert prompt is not None and prompt.required and prompt.default is MISSING
    assert [f.type for f in SHAPED.fields][:3] == ["array of file", "string", "integer"]
    steps = SHAPED.field("steps")
    assert steps is not None and steps.allowed == "1 to 50" and steps.default == 25


def test_the_output_shape() -> None:
    flux = FLUX.output()
    assert (flux.type, flux.files, flux.streamed_text, flux.text) == (
        "array of file",
        True,
        False,
        False,
    )
    streamed = SHAPED.output()
    assert streamed.streamed_text and streamed.text and not streamed.files


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("num_outputs", "2", 2),
        ("num_outputs", "2.0", 2),
        ("prompt", "42", "42"),
        ("prompt", "true", "true"),
        ("go_fast", "false", False),
        ("go_fast", "Yes", True),
        ("aspect_ratio", "16:9", "16:9"),
        ("megapixels", "1", "1"),
        ("unknown_name", "[1, 2]", [1, 2]),
        ("unknown_name", "text", "text"),
    ],
)
def test_command_line_text_is_read_by_the_field_type(name: str, text: str, value: Any) -> None:
    coerced = FLUX.coerce(name, text)
    assert coerced == value and type(coerced) is type(value)


def test_command_line_arrays_files_and_choices_of_numbers() -> None:
    assert SHAPED.coerce("images", "@in.png") == [Path("in.png")]
    first = SHAPED.coerce("images", "https://x.test/a")
    assert SHAPED.coerce("images", "@b.png", first) == ["https://x.test/a", Path("b.png")]
    assert SHAPED.coerce("loras", "[1, 2.5]") == [1, 2.5]
    assert SHAPED.coerce("size", "512") == 512
    assert SHAPED.coerce("strength", "0.5") == 0.5
    assert SHAPED.coerce("seed", "null") is None


@pytest.mark.parametrize(("name", "text"), [("num_outputs", "two"), ("go_fast", "maybe")])
def test_command_line_text_of_the_wrong_type_is_refused(name: str, text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        FLUX.coerce(name, text)
    assert refused.value.fields == [name] and f'not "{text}"' in str(refused.value)


def test_the_error_pickles_whole() -> None:
    error = InvalidInputError("o/m", [("a", "an integer; not 2.5")])
    again = pickle.loads(pickle.dumps(error))
    assert (again.model, again.problems, str(again)) == ("o/m", error.problems, str(error))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from([f.name for f in SHAPED.fields] + ["x"]), json_values))
def test_any_json_input_gets_an_answer_never_a_crash(model_input: dict[str, Any]) -> None:
    for field, problem in SHAPED.problems(model_input):
        assert field and problem


@given(st.integers(), st.sampled_from(["num_outputs", "num_inference_steps", "output_quality"]))
def test_an_integer_passes_exactly_when_in_its_range(number: int, name: str) -> None:
    spec = FLUX.field(name)
    assert spec is not None and spec.minimum is not None and spec.maximum is not None
    inside = spec.minimum <= number <= spec.maximum
    assert (FLUX.problems({"prompt": "a", name: number}) == []) is inside
    assert FLUX.coerce(name, str(number)) == number


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_read_from_its_text_is_the_number(number: float) -> None:
    read = SHAPED.coerce("strength", json.dumps(number))
    assert read == number or math.isclose(read, number)
    assert (SHAPED.problems({**GOOD, "strength": number}) == []) is (0 <= number <= 1)


FIXTURES = Path(__file__).parents[1] / "fixtures" / "model-documents"
DOCUMENTS = sorted(FIXTURES.glob("*.json"))


def fixture(path: Path) -> tuple[ModelSchema, dict[str, Any]]:
    model = json.loads(path.read_text("utf-8"))
    schemas = model["latest_version"]["openapi_schema"]["components"]["schemas"]
    schema = ModelSchema(f"{model['owner']}/{model['name']}", schemas)
    return schema, dict(model["default_example"]["input"] or {})


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.stem for p in DOCUMENTS])
def test_each_real_document_takes_its_example_and_refuses_each_kind_of_mistake(
    path: Path,
) -> None:
    schema, example = fixture(path)
    assert schema.problems(example) == []
    for spec in schema.fields:
        assert spec.accepts and spec.type  # inputs describes every field
    with pytest.raises(InvalidInputError, match="unknown input"):
        schema.check({**example, "no_such_input_zz": 1})
    for spec in schema.fields:
        if spec.choices is not None:
            bad_choice = "not-a-choice" if isinstance(spec.choices[0], str) else -12345
            with pytest.raises(ValueError, match=spec.name):
                schema.check({**example, spec.name: bad_choice})
        elif spec.maximum is not None and spec.type in ("integer", "number"):
            with pytest.raises(ValueError, match=f"{spec.name}: "):
                schema.check({**example, spec.name: int(spec.maximum) + 1})


def test_the_real_documents_say_which_outputs_are_streamed_text() -> None:
    streamed = {fixture(p)[0].model for p in DOCUMENTS if fixture(p)[0].output().streamed_text}
    assert streamed == {
        "andreasjansson/plasma",
        "lucataco/moondream2",
        "lucataco/ollama-llama3.3-70b",
    }
    restored, _ = fixture(FIXTURES / "microsoft__bringing-old-photos-back-to-life.json")
    assert restored.output().files and not restored.output().text


def test_choices_of_a_number_input_written_as_strings_take_the_number() -> None:
    """An old cog writes ``enum: ["32", "64"]`` with ``type: integer``; the model takes 64."""
    old = ModelSchema(
        "o/old",
        {
            "Input": {
                "type": "object",
                "properties": {"side": {"enum": ["32", "64"], "type": "integer", "default": 64}},
            }
        },
    )
    assert old.problems({"side": 64}) == [] and old.problems({"side": "64"}) == []
    assert list(problems(old, {"side": 48})) == ["side"]
    assert list(problems(FLUX, {"prompt": "a", "megapixels": 1})) == ["megapixels"]


def test_command_line_messages_speak_of_the_command_line() -> None:
    """An array item keeps its index, the value is shown as given, a file is ``@path``."""
    with pytest.raises(InvalidInputError) as refused:
        SHAPED.coerce("loras", '[0.5, "x"]')
    assert refused.value.problems == [("loras[1]", 'a number; not "x"')]
    with pytest.raises(InvalidInputError) as refused:
        SHAPED.coerce("loras", "y", previous=[0.5, 0.7])
    assert refused.value.fields == ["loras[2]"]
    assert SHAPED.coerce("images", "[1, 2]") == [1, 2]
    problems = SHAPED.problems({**GOOD, "images": [1, 2]}, command_line=True)
    assert problems[0] == ("images[0]", "a file (@path or a URL); not 1")


def test_a_number_beyond_a_float_is_refused_saying_why() -> None:
    assert FLUX.problems({"prompt": "a", "seed": 10**400}) == [
        ("seed", "an integer within ±1.8e308; not an integer of 401 digits")
    ]
    assert FLUX.problems({"prompt": "a", "num_outputs": -(10**5000)}) == [
        ("num_outputs", "an integer 1 to 4; not an integer of over 4000 digits")
    ]
    assert FLUX.problems({"prompt": "a", "seed": 2**63}) == []  # large, but JSON takes it
