"""The vendored model documents: ``cometapi_replicate_models``, loaded on first use.

``import cometapi_replicate`` imports none of it: a model's schema and its generated ``Input``
class are imported the first time a call names that model, and kept. A model with no vendored
document (or an installation without the package) has no schema: its input is sent unchecked.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._inputs import split_model

if TYPE_CHECKING:
    from ._model_inputs import ModelSchema

__all__ = ["PACKAGE", "check_input", "input_type", "model_schema", "vendored_models"]

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
    index = _index()
    return index.get(f"{owner}/{name}") or index.get(f"{owner}/{name}".lower())


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
