"""The vendored model documents: ``cometapi_replicate_models``, loaded on first use.

``import cometapi_replicate`` imports none of it: a model's schema and its generated ``Input``
class are imported the first time a call names that model, and kept. A model with no vendored
document (or an installation without the package) has no schema: its input is sent unchecked.
"""

from __future__ import annotations

import copy
import enum
import importlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._inputs import TypedInput, split_model

if TYPE_CHECKING:
    from ._model_inputs import ModelSchema

__all__ = [
    "PACKAGE",
    "check_input",
    "input_model",
    "input_type",
    "model_schema",
    "plain_input",
    "sendable",
    "vendored_models",
]

PACKAGE = "cometapi_replicate_models"

_lock = threading.Lock()
_schemas: dict[str, ModelSchema | None] = {}


def _index() -> Mapping[str, str]:
    """``MODELS`` of the package: ``"owner/name"`` -> its subpackage; ``{}`` without it."""
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError:
        return {}
    models = getattr(package, "MODELS", None)
    return models if isinstance(models, Mapping) else {}


def vendored_models() -> list[str]:
    """Every model with a vendored document, sorted."""
    return sorted(_index())


def _path(model: str) -> str | None:
    """The subpackage of ``model``'s document (``ValueError`` for a malformed name)."""
    owner, name = split_model(model)
    wanted = f"{owner}/{name}".lower()
    index = _index()
    found = index.get(f"{owner}/{name}")
    if found is None:  # ids are case-insensitive: compare both sides lower-cased
        found = next((path for key, path in index.items() if key.lower() == wanted), None)
    return found


def input_model(cls: type[Any]) -> str | None:
    """The model whose generated package holds ``cls``; ``None`` for a class from elsewhere."""
    module = getattr(cls, "__module__", "")
    if not isinstance(module, str) or not module.startswith(PACKAGE + "."):
        return None
    inside = module[len(PACKAGE) + 1 :]
    return next((model for model, path in _index().items() if inside.startswith(path + ".")), None)


class _Token:
    """A field's value, in disguise while a generated ``to_dict`` runs: whatever that code
    does with it (``.value`` for an enum field, as it is for the others), it comes out
    whole, so a plain ``str`` in an enum field is checked like any value."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _disguised(value: Any) -> Any:
    import attrs  # not at import time: ``import cometapi_replicate`` leaves attrs for later

    if type(value).__name__ == "Unset" or value is None:
        return value
    if attrs.has(type(value)):
        return _fields_disguised(value)
    if isinstance(value, list | tuple):
        return [_disguised(v) for v in value]
    return _Token(value)


def _fields_disguised(instance: Any) -> Any:
    import attrs

    twin = copy.copy(instance)
    for field in attrs.fields(type(instance)):
        if field.name != "additional_properties":
            object.__setattr__(twin, field.name, _disguised(getattr(instance, field.name)))
    return twin


def _plain(value: Any) -> Any:
    """Tokens and enum members as their values, anywhere; containers as dicts and lists."""
    if isinstance(value, _Token):
        return _plain(value.value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def plain_input(model: str | None, model_input: Any) -> dict[str, Any]:
    """The input as it is sent: a mapping, or a generated ``Input`` read field by field (unset
    fields left out, extra properties merged); enum members as their values, anywhere.
    ``TypeError`` for anything else, or for an ``Input`` of another model than ``model``."""
    if isinstance(model_input, Mapping):
        return {k: _plain(v) for k, v in model_input.items()}
    if isinstance(model_input, TypedInput) and not isinstance(model_input, type):
        owner = input_model(type(model_input))
        if model is not None and owner is not None and owner.lower() != model.lower():
            raise TypeError(
                f"an Input of {owner} was given for {model}: use "
                f"input_type({model!r}) or a dict (nothing was sent)"
            )
        import attrs

        converted: object = None
        if attrs.has(type(model_input)):
            try:
                converted = _fields_disguised(model_input).to_dict()
            except Exception:  # a shape the disguise does not fit: plain to_dict
                converted = None
        if converted is None:
            converted = model_input.to_dict()
        if isinstance(converted, Mapping):
            return {k: _plain(v) for k, v in converted.items()}
    raise TypeError(
        "input must be a mapping of the model's input names to values, or an instance of the "
        f"model's Input class, not {type(model_input).__name__}"
    )


def model_schema(model: str) -> ModelSchema | None:
    """``model``'s schema from its vendored document, or ``None`` when it has none."""
    with _lock:
        if model in _schemas:
            return _schemas[model]
    path = _path(model)
    schema = None
    if path is not None:
        from ._model_inputs import ModelSchema

        module = importlib.import_module(f"{PACKAGE}.{path}.schema")
        schema = ModelSchema(str(getattr(module, "MODEL", model)), module.SCHEMAS)
    with _lock:
        return _schemas.setdefault(model, schema)


def input_type(model: str) -> type[Any] | None:
    """The generated ``Input`` class of ``model``; ``None`` when it has no vendored document or
    the generator could not type it (its input is a plain dict). ``ValueError`` for a name
    that is not ``owner/name``."""
    path = _path(model)
    if path is None:
        return None
    schema_module = importlib.import_module(f"{PACKAGE}.{path}.schema")
    if not getattr(schema_module, "TYPED", False):
        return None
    found = getattr(importlib.import_module(f"{PACKAGE}.{path}"), "Input", None)
    return found if isinstance(found, type) else None


def check_input(model: str, model_input: Mapping[str, Any]) -> None:
    """:class:`InvalidInputError` when ``model`` has a vendored document that refuses the
    input; nothing when it fits or there is no document."""
    schema = model_schema(model)
    if schema is not None:
        schema.check(model_input)


def sendable(model: str, model_input: Mapping[str, Any]) -> dict[str, Any]:
    """The input without its optional inputs given as ``None`` (``None`` means "not given",
    so the model's own default applies), for a model with a vendored document."""
    schema = model_schema(model)
    if schema is None:
        return dict(model_input)
    return {
        k: v
        for k, v in model_input.items()
        if v is not None or schema.required(str(k)) is not False
    }
