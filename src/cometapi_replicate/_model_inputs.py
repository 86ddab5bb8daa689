"""A model's inputs and output as its OpenAPI document (cog's ``components.schemas``) describes
them: checked, coerced from command-line text and described, with no I/O.

Cog writes every model's document the same way: ``Input`` is an object whose properties carry
``type``, ``default``, ``minimum``/``maximum``, ``x-order`` and a description; a choice is an
``allOf`` holding one ``$ref`` to an ``enum`` schema; a file is a string with ``format: uri``;
streamed text is an ``Output`` array with ``x-cog-array-type: iterator`` and
``x-cog-array-display: concatenate``. This module reads those shapes and any JSON Schema
around them (``anyOf``, ``nullable``, arrays, nested objects), and treats a keyword it does not
know as no constraint: a value it cannot judge is let through, for the API to judge.

Hand-written rather than ``jsonschema``: the SDK's runtime dependencies are httpx and attrs,
and a refusal must name the field, what it accepts and, for an unknown name, the closest valid
ones, which a generic validator's messages do not.
"""

from __future__ import annotations

import difflib
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import InvalidInputError

__all__ = [
    "CONTROL_PREFIX",
    "MISSING",
    "Field",
    "ModelSchema",
    "OutputShape",
]

CONTROL_PREFIX = "sandbox_"
"""Inputs named so are the sandbox's controls (``sandbox_outcome``...), never a model's: they
are let through unchecked, so a test can shape a sandbox prediction of a vendored model."""

MAX_DEPTH = 64
"""The deepest ``$ref`` chain or nesting followed; deeper is taken as no constraint."""

MAX_WORK = 20_000
"""The most schema nodes resolved for one document: a document that needs more (an ``allOf``
fan-out of references) is not checked at all, rather than checked for ever."""

MAX_CHOICES = 20
"""Choices named in a message; more are counted ("and N more")."""

MAX_SHOWN = 80
"""Characters of a value or a name echoed in a message."""

_URL = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://\S+|data:\S*)", re.ASCII)
_NUMERIC = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_REF = "#/components/schemas/"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A field's ``default`` when the schema gives none."""


def _is_file(value: object) -> bool:
    """What ``create`` uploads as a ``data:`` URL: a ``Path``, bytes, or a binary file."""
    return isinstance(value, Path | bytes | bytearray | memoryview | io.IOBase) or (
        hasattr(value, "read") and hasattr(value, "mode")
    )


def _json_text(value: object) -> str:
    """``value`` as JSON writes it (control characters escaped), cut to :data:`MAX_SHOWN`."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else "over 4000"
        return f"an integer of {digits} digits"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        try:
            text = ascii(value)
        except Exception:  # a repr that fails is shown as its type
            text = f"a {type(value).__name__}"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _name_text(name: str) -> str:
    """A field name as a message shows it: as it is when printable and short, else escaped
    and cut."""
    if name.isprintable() and len(name) <= MAX_SHOWN:
        return name
    return _json_text(name)


def _choices(values: list[Any] | tuple[Any, ...]) -> str:
    shown = ", ".join(_json_text(v) for v in values[:MAX_CHOICES])
    more = len(values) - MAX_CHOICES
    return f"{shown} and {more} more" if more > 0 else shown


class _TooMuchWork(Exception):
    """Resolving the document needs more than :data:`MAX_WORK` steps."""


class _Resolver:
    """Local ``$ref`` (``#/components/schemas/X``) and ``allOf`` merged into one schema.

    Each reference is resolved once and kept; a reference to itself (a cycle) resolves to
    ``{}`` (no constraint, and :attr:`cyclic` is set), and :attr:`exhausted` is set once
    :data:`MAX_WORK` steps are spent (everything after is ``{}``)."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas if isinstance(schemas, Mapping) else {}
        self._refs: dict[str, dict[str, Any]] = {}
        self._open: set[str] = set()
        self.work = 0
        self.exhausted = False
        self.cyclic = False

    def __call__(self, schema: object, depth: int = 0) -> dict[str, Any]:
        self.work = 0  # a budget for each resolution (the references resolved are kept)
        try:
            return self._resolve(schema, depth)
        except _TooMuchWork:
            self.exhausted = True
            return {}

    def _ref(self, name: str, depth: int) -> dict[str, Any]:
        if name in self._refs:
            return self._refs[name]
        if name in self._open:
            self.cyclic = True
            return {}
        self._open.add(name)
        try:
            resolved = self._resolve(self.schemas.get(name), depth + 1)
        finally:
            self._open.discard(name)
        self._refs[name] = resolved
        return resolved

    def _resolve(self, schema: object, depth: int) -> dict[str, Any]:
        if self.exhausted:
            raise _TooMuchWork
        self.work += 1
        if self.work > MAX_WORK:
            raise _TooMuchWork
        if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
            return {}
        merged: dict[str, Any] = {}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            merged.update(self._ref(ref[len(_REF) :], depth))
        parts = schema.get("allOf")
        if isinstance(parts, list):
            for part in parts:  # cog writes one part; more are merged (an approximation)
                merged.update(self._resolve(part, depth + 1))
        merged.update((k, v) for k, v in schema.items() if k not in ("$ref", "allOf"))
        return merged


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return []


def _number(value: object) -> int | float | None:
    """A JSON number as it is (an ``int`` stays exact, however large); else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _finite(number: int | float) -> bool:
    """Whether a JSON reader can take it: a float's range (a longer integer is refused)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def _whole(number: int | float) -> bool:
    return isinstance(number, int) or number.is_integer()


@dataclass(frozen=True)
class Field:
    """One input of a model, as ``inputs`` lists it."""

    name: str
    type: str
    """``string``, ``integer``, ``number``, ``boolean``, ``file``, ``array of file``...,
    ``object``, or ``any`` (with ``|`` between alternatives)."""
    required: bool
    default: Any
    """The schema's default, or :data:`MISSING`."""
    choices: tuple[Any, ...] | None
    minimum: float | None
    maximum: float | None
    description: str
    order: float
    schema: Mapping[str, Any]
    """The field's schema, references resolved."""

    @property
    def accepts(self) -> str:
        """What the field accepts, in words: its choices or range and its type."""
        return _accepts(self.schema, self.type)

    @property
    def allowed(self) -> str:
        """The choices (``a, b, c``) or the range (``1 to 4``, ``>= 0``); ``""`` when free."""
        if self.choices is not None:
            return ", ".join(_json_text(c) for c in self.choices)
        return _range(self.minimum, self.maximum, self.schema)


def _range(low: int | float | None, high: int | float | None, schema: Mapping[str, Any]) -> str:
    def show(x: int | float) -> str:
        if isinstance(x, int):
            return str(x) if x.bit_length() <= 256 else _json_text(x)
        return f"{x:g}" if not x.is_integer() or abs(x) < 1e15 else str(int(x))

    excl_low = schema.get("exclusiveMinimum") is True
    excl_high = schema.get("exclusiveMaximum") is True
    if low is not None and high is not None and not (excl_low or excl_high):
        return f"{show(low)} to {show(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'>' if excl_low else '>='} {show(low)}")
    if high is not None:
        parts.append(f"{'<' if excl_high else '<='} {show(high)}")
    return ", ".join(parts)


def _bounds(schema: Mapping[str, Any]) -> tuple[int | float | None, int | float | None]:
    """``minimum``/``maximum`` (or pydantic's ``ge``/``le``, which older cogs leave), and the
    numeric ``exclusiveMinimum``/``exclusiveMaximum`` of newer JSON Schema."""
    low = next((n for k in ("minimum", "ge") if (n := _number(schema.get(k))) is not None), None)
    high = next((n for k in ("maximum", "le") if (n := _number(schema.get(k))) is not None), None)
    return low, high


def _type_name(schema: Mapping[str, Any], resolve: _Resolver, depth: int = 0) -> str:
    if depth > MAX_DEPTH:
        return "any"
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(alternatives, list) and alternatives:
        names = [_type_name(resolve(a), resolve, depth + 1) for a in alternatives]
        return " | ".join(dict.fromkeys(n for n in names if n != "null")) or "any"
    types = [t for t in _types(schema) if t != "null"]
    if not types:
        if isinstance(schema.get("enum"), list):
            return _enum_type(schema["enum"])
        return "object" if isinstance(schema.get("properties"), Mapping) else "any"
    names = []
    for kind in types:
        if kind == "string" and schema.get("format") == "uri":
            names.append("file")
        elif kind == "array":
            item = _type_name(resolve(schema.get("items")), resolve, depth + 1)
            names.append(f"array of {item}" if item != "any" else "array")
        else:
            names.append(kind)
    return " | ".join(names)


def _enum_type(values: list[Any]) -> str:
    if all(isinstance(v, str) for v in values):
        return "string"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if all(_number(v) is not None for v in values):
        return "number"
    return "any"


def _accepts(schema: Mapping[str, Any], type_name: str, *, command_line: bool = False) -> str:
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return "one of " + _choices(enum)
    span = _range(*_bounds(schema), schema)
    if type_name == "file" and command_line:
        what = "a file (@path or a URL)"
    elif type_name == "file":
        what = "a file (a URL, a Path, bytes or a file opened in binary mode)"
    elif type_name == "any":
        what = "any JSON value"
    else:
        article = "an" if type_name[:1] in "aeiou" else "a"
        what = f"{article} {type_name}"
    return f"{what} {span}" if span else what


def _lax_number(value: object) -> object:
    """A string that spells a number, as that number: cog's pydantic takes ``"90"`` for an
    integer input (as a web form sends it); anything else unchanged."""
    if isinstance(value, str) and len(value) <= 400 and _NUMERIC.fullmatch(value):
        return int(value) if _INTEGER.fullmatch(value) else float(value)
    return value


def _same(value: object, choice: object) -> bool:
    """``value == choice`` as JSON means it: ``1 == 1.0``, never ``True == 1``."""
    if isinstance(value, bool) or isinstance(choice, bool):
        return isinstance(value, bool) and isinstance(choice, bool) and value is choice
    a, b = _number(value), _number(choice)
    if a is not None and b is not None:
        return a == b
    return type(value) is type(choice) and value == choice


class _Checker:
    """Walks a value against a schema, collecting ``(path, problem)`` pairs."""

    def __init__(self, resolve: _Resolver, command_line: bool = False) -> None:
        self.resolve = resolve
        self.command_line = command_line
        self.problems: list[tuple[str, str]] = []

    def check(self, value: object, schema: Mapping[str, Any], path: str, depth: int = 0) -> None:
        problem = self.problem(value, schema, path, depth)
        if problem is not None:
            self.problems.append((path, problem))

    def problem(
        self, value: object, schema: Mapping[str, Any], path: str, depth: int
    ) -> str | None:
        """Why ``value`` does not fit ``schema`` (nested problems are added to ``problems``
        themselves), or ``None``."""
        if depth > MAX_DEPTH or not schema:
            return None
        if value is None:
            return None if self._nullable(schema) else f"{self._accepts(schema)}; not null"
        alternatives = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(alternatives, list) and alternatives:
            for alternative in alternatives:
                trial = _Checker(self.resolve, self.command_line)
                trial.check(value, self.resolve(alternative, depth + 1), path, depth + 1)
                if not trial.problems:
                    break
            else:
                return f"{self._accepts(schema)}; not {self._shown(value)}"
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            if any(_same(value, c) or _same(_lax_number(value), c) for c in enum):
                return None
            numeric = {"integer", "number"} & set(_types(schema))
            if numeric and _number(value) is not None and any(str(value) == c for c in enum):
                return None  # an old cog writes the choices of a number input as strings
            return f"one of {_choices(enum)}; not {self._shown(value)}"
        types = _types(schema)
        if types and not any(self._fits(value, kind, schema) for kind in types):
            number = _number(_lax_number(value))
            huge = number is not None and not _finite(number)
            if huge and {"integer", "number"} & set(types) and _bounds(schema) == (None, None):
                return f"{self._accepts(schema)} within ±1.8e308; not {self._shown(value)}"
            return f"{self._accepts(schema)}; not {self._shown(value)}"
        kind = next((k for k in types if self._fits(value, k, schema)), None)
        if kind in ("integer", "number") or (kind is None and _number(value) is not None):
            return self._range_problem(_lax_number(value), schema)
        if isinstance(value, str):
            return self._length_problem(value, schema, "characters")
        if isinstance(value, list | tuple):
            too = self._length_problem(value, schema, "items", "minItems", "maxItems")
            if too is not None:
                return too
            items = self.resolve(schema.get("items"), depth + 1)
            for index, item in enumerate(value):
                self.check(item, items, f"{path}[{index}]", depth + 1)
        elif isinstance(value, Mapping):
            self.check_object(value, schema, path, depth)
        return None

    def check_object(
        self, value: Mapping[Any, Any], schema: Mapping[str, Any], path: str, depth: int
    ) -> None:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = schema.get("required")
        for name in required if isinstance(required, list) else []:
            if isinstance(name, str) and name not in value:
                sub = self.resolve(properties.get(name), depth + 1)
                where = f"{path}.{_name_text(name)}" if path else _name_text(name)
                self.problems.append((where, f"required ({self._accepts(sub)})"))
        closed = schema.get("additionalProperties") is False or depth == 0
        wanted = set(required) if isinstance(required, list) else set()
        for key, item in value.items():
            where = f"{path}.{_name_text(str(key))}" if path else _name_text(str(key))
            if item is None and key in properties and key not in wanted:
                continue  # an optional input given as null: not given
            if key in properties:
                self.check(item, self.resolve(properties[key], depth + 1), where, depth + 1)
            elif depth == 0 and isinstance(key, str) and key.startswith(CONTROL_PREFIX):
                continue
            elif closed:
                self.problems.append((where, _unknown(str(key), properties)))

    def _nullable(self, schema: Mapping[str, Any]) -> bool:
        if schema.get("nullable") is True or "null" in _types(schema) or not _types(schema):
            return not isinstance(schema.get("enum"), list) or None in schema["enum"]
        alternatives = schema.get("anyOf") or schema.get("oneOf") or []
        return any(
            self._nullable(self.resolve(a)) for a in alternatives if isinstance(alternatives, list)
        )

    def _fits(self, value: object, kind: str, schema: Mapping[str, Any]) -> bool:
        match kind:
            case "string" if schema.get("format") == "uri":
                return _is_file(value) or (isinstance(value, str) and bool(_URL.fullmatch(value)))
            case "string":
                return isinstance(value, str)
            case "integer":
                number = _number(_lax_number(value))
                return number is not None and _finite(number) and _whole(number)
            case "number":
                number = _number(_lax_number(value))
                return number is not None and _finite(number)
            case "boolean":
                return isinstance(value, bool)
            case "array":
                return isinstance(value, list | tuple)
            case "object":
                return isinstance(value, Mapping)
            case "null":
                return value is None
        return True  # a type this module does not know: no constraint

    def _range_problem(self, value: object, schema: Mapping[str, Any]) -> str | None:
        number = _number(value)
        low, high = _bounds(schema)
        if number is None:
            return None
        excl_low, excl_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        below = low is not None and (number < low or (excl_low is True and number == low))
        above = high is not None and (number > high or (excl_high is True and number == high))
        for bound, strict in ((excl_low, "gt"), (excl_high, "lt")):
            limit = _number(bound)
            if limit is not None:
                below = below or (strict == "gt" and number <= limit)
                above = above or (strict == "lt" and number >= limit)
        if below or above:
            return f"{self._accepts(schema)}; not {self._shown(value)}"
        return None

    def _length_problem(
        self,
        value: str | list[Any] | tuple[Any, ...],
        schema: Mapping[str, Any],
        unit: str,
        low_key: str = "minLength",
        high_key: str = "maxLength",
    ) -> str | None:
        low, high = _number(schema.get(low_key)), _number(schema.get(high_key))
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            span = _range(low, high, {})
            return f"{span} {unit}; not {len(value)}"
        return None

    def _accepts(self, schema: Mapping[str, Any]) -> str:
        type_name = _type_name(schema, self.resolve)
        return _accepts(schema, type_name, command_line=self.command_line)

    @staticmethod
    def _shown(value: object) -> str:
        if _is_file(value):
            return "a file"
        if isinstance(value, str) and not value:
            return '"" (empty)'
        return _json_text(value)


def _unknown(name: str, properties: Iterable[str]) -> str:
    names = sorted(properties)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if not close:  # "steps" for num_inference_steps, "aspectRatio" for aspect_ratio
        wanted = re.sub(r"[^a-z0-9]", "", name.lower())
        close = [
            n
            for n in names
            if wanted
            and (wanted in (plain := re.sub(r"[^a-z0-9]", "", n.lower())) or plain == wanted)
        ][:3]
    if close:
        return "unknown input; did you mean " + " or ".join(close) + "?"
    if not names:
        return "unknown input; the model takes no inputs"
    more = len(names) - MAX_CHOICES
    listed = ", ".join(names[:MAX_CHOICES]) + (f" and {more} more" if more > 0 else "")
    return "unknown input; the inputs are " + listed


@dataclass(frozen=True)
class OutputShape:
    """What the model's ``Output`` schema says its output is."""

    type: str
    """As :attr:`Field.type`: ``array of file``, ``string``, ``object``..."""
    files: bool
    """Some part of it is a file (``format: uri``)."""
    streamed_text: bool
    """Text tokens, to be joined (``x-cog-array-type: iterator`` and
    ``x-cog-array-display: concatenate``)."""

    @property
    def text(self) -> bool:
        """Whether the output is text: a string that is not a file, or streamed text."""
        return self.streamed_text or self.type == "string"


class ModelSchema:
    """A model's ``Input`` and ``Output`` from its document's ``components.schemas``."""

    def __init__(self, model: str, schemas: Mapping[str, Any]) -> None:
        self.model = model
        self._resolve = _Resolver(schemas)
        self.input = self._resolve(self._resolve.schemas.get("Input"))
        properties = self.input.get("properties")
        self._properties: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
        required = self.input.get("required")
        self._required = set(required) if isinstance(required, list) else set()
        self.fields: tuple[Field, ...] = tuple(
            sorted(
                (self._field(name, spec) for name, spec in self._properties.items()),
                key=lambda f: (f.order, f.name),
            )
        )
        self._by_name = {f.name: f for f in self.fields}
        self.checkable = (
            isinstance(properties, Mapping)
            and not self._resolve.exhausted
            and not self._resolve.cyclic
        )
        """Whether the document's ``Input`` can be checked: ``False`` when it names no
        properties at all (an unresolvable reference), refers to itself, or needs more than
        :data:`MAX_WORK` steps; then every input is let through, for the API to judge."""

    def _field(self, name: str, spec: object) -> Field:
        schema = self._resolve(spec)
        order = _number(schema.get("x-order"))
        enum = schema.get("enum")
        low, high = _bounds(schema)
        description = schema.get("description")
        return Field(
            name=str(name),
            type=_type_name(schema, self._resolve),
            required=name in self._required,
            default=schema.get("default", MISSING),
            choices=tuple(enum) if isinstance(enum, list) and enum else None,
            minimum=low,
            maximum=high,
            description=description.strip() if isinstance(description, str) else "",
            order=order if order is not None else math.inf,
            schema=schema,
        )

    def field(self, name: str) -> Field | None:
        return self._by_name.get(name)

    def required(self, name: str) -> bool | None:
        """Whether ``name`` is a required input; ``None`` when the model has no such input."""
        return name in self._required if name in self._properties else None

    def problems(
        self, model_input: Mapping[str, Any], *, command_line: bool = False
    ) -> list[tuple[str, str]]:
        """Each ``(field, what is wrong and what it accepts)``; ``[]`` when the input fits
        (or the document cannot be checked: :attr:`checkable`). ``command_line``: a file is
        said to be ``@path`` or a URL."""
        if not self.checkable:
            return []
        checker = _Checker(self._resolve, command_line)
        try:
            checker.check_object(model_input, self.input, "", 0)
        except _TooMuchWork:
            return []
        except RecursionError:
            return [("", "nested too deeply to check")]
        return checker.problems

    def check(self, model_input: Mapping[str, Any], *, command_line: bool = False) -> None:
        """:class:`InvalidInputError` (a ``ValueError``) naming every field that does not fit."""
        problems = self.problems(model_input, command_line=command_line)
        if problems:
            raise InvalidInputError(self.model, problems)

    def coerce(self, name: str, text: str, previous: Any = MISSING) -> Any:
        """The value of ``-i name=text`` as the field's type has it (``previous``: the value
        an earlier ``-i`` gave the same array, which this one extends).

        Integers, numbers and booleans are parsed; a string (or a string choice) is the text
        as it is; ``@path`` is a file; an array takes a JSON array, or one item per ``-i``;
        anything else, or a name the schema lacks, is read as JSON when it is JSON, else
        text. :class:`InvalidInputError` when the text is not of the field's type.
        """
        spec = self.field(name)
        if spec is None:
            return _literal(text)
        schema = spec.schema
        if "array" in _types(schema):
            items = self._resolve(schema.get("items"))
            if text.lstrip().startswith("["):
                parsed = _literal(text)
                if isinstance(parsed, list):
                    return [
                        self._scalar(
                            f"{name}[{i}]", json.dumps(v) if not isinstance(v, str) else v, items, v
                        )
                        for i, v in enumerate(parsed)
                    ]
            index = len(previous) if isinstance(previous, list) else 0
            value = self._scalar(f"{name}[{index}]", text, items)
            return [*previous, value] if isinstance(previous, list) else [value]
        return self._scalar(name, text, schema)

    def _scalar(
        self, name: str, text: str, schema: Mapping[str, Any], parsed: Any = MISSING
    ) -> Any:
        types = [t for t in _types(schema) if t != "null"]
        enum = schema.get("enum")
        if isinstance(enum, list) and parsed is MISSING:  # the choice the text spells
            for choice in enum:
                if text == (choice if isinstance(choice, str) else json.dumps(choice)):
                    return choice
        if not types and isinstance(enum, list) and enum:
            types = [_enum_type(enum)]
        if text.startswith("@") and (schema.get("format") == "uri" or not types):
            return Path(text[1:])
        if text.strip().lower() in ("null", "none") and self._resolve_nullable(schema):
            return None
        kind = types[0] if len(types) == 1 else None
        try:
            if kind == "integer":
                if parsed is MISSING and _INTEGER.fullmatch(text):
                    return int(text)
                number = float(text) if parsed is MISSING else float(parsed)
                if not number.is_integer():
                    raise ValueError
                return int(number)
            if kind == "number":
                number = float(text) if parsed is MISSING else float(parsed)
                if not math.isfinite(number):
                    raise ValueError
                return int(number) if number.is_integer() and "." not in text else number
            if kind == "boolean":
                word = text.strip().lower()
                if word in _TRUE | _FALSE:
                    return word in _TRUE
                raise ValueError
        except (TypeError, ValueError):
            accepts = _accepts(schema, _type_name(schema, self._resolve), command_line=True)
            shown = _json_text(text if parsed is MISSING else parsed)
            raise InvalidInputError(self.model, [(name, f"{accepts}; not {shown}")]) from None
        if kind == "string" and schema.get("format") == "uri" and parsed is not MISSING:
            return parsed  # [1, 2] for files: refused by the check as 1, not as "1"
        if kind == "string":
            return text if parsed is MISSING or not isinstance(parsed, str) else parsed
        return _literal(text) if parsed is MISSING else parsed

    def _resolve_nullable(self, schema: Mapping[str, Any]) -> bool:
        return schema.get("nullable") is True or "null" in _types(schema)

    def output(self) -> OutputShape:
        """The shape of the output, from ``Output``."""
        schema = self._resolve(self._resolve.schemas.get("Output"))
        items = self._resolve(schema.get("items"))
        streamed = (
            "array" in _types(schema)
            and "string" in _types(items)
            and items.get("format") != "uri"
            and schema.get("x-cog-array-type") == "iterator"
            and schema.get("x-cog-array-display") == "concatenate"
        )
        return OutputShape(
            type=_type_name(schema, self._resolve) if schema else "any",
            files=self._has_file(schema, 0),
            streamed_text=streamed,
        )

    def _has_file(self, schema: Mapping[str, Any], depth: int) -> bool:
        if depth > MAX_DEPTH or not schema:
            return False
        if schema.get("format") == "uri":
            return True
        parts: list[Any] = [schema.get("items")]
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            parts += list(properties.values())
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                parts += schema[key]
        return any(self._has_file(self._resolve(p, depth + 1), depth + 1) for p in parts)


def _literal(text: str) -> Any:
    """``-i`` text with no schema to go by: a JSON literal when it is one, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text
