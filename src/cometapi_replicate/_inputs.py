"""Model ids and prediction inputs, checked and encoded before anything is sent."""

from __future__ import annotations

import base64
import io
import mimetypes
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["TypedInput", "encode_input", "split_model", "validate_prediction_id"]


@runtime_checkable
class TypedInput(Protocol):
    """A model's generated ``Input`` class (see :func:`input_type`): anything with
    ``to_dict()`` returning the input as a dict."""

    def to_dict(self) -> dict[str, Any]: ...


MAX_ID_LENGTH = 128
_BAD_ID = re.compile(r"[/?#%\\\s\x00-\x1f\x7f]")

_MODEL_PART = re.compile(r"[A-Za-z0-9._-]{1,100}")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"%PDF", "application/pdf"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
)


def split_model(model: str) -> tuple[str, str]:
    """``"owner/name"`` -> ``("owner", "name")``; ``ValueError`` unless each part is letters,
    digits, ``.``, ``_`` or ``-`` (and not only dots)."""
    parts = model.split("/") if isinstance(model, str) else []
    if len(parts) != 2 or not all(_MODEL_PART.fullmatch(p) and p.strip(".") for p in parts):
        raise ValueError(f"a model is 'owner/name' of letters, digits, '.', '_', '-': {model!r}")
    return parts[0], parts[1]


def validate_prediction_id(prediction_id: object) -> str:
    """The id if it is safe to put in a URL path; ``ValueError`` otherwise (nothing is sent)."""
    if not isinstance(prediction_id, str):
        raise ValueError(f"a prediction id is a string, not {type(prediction_id).__name__}")
    if prediction_id in ("", ".", "..") or _BAD_ID.search(prediction_id):
        raise ValueError(f"not a prediction id: {prediction_id[:MAX_ID_LENGTH]!r}")
    if not prediction_id.isprintable():  # control characters, lone surrogates
        raise ValueError("not a prediction id: it has characters that are not printable text")
    if len(prediction_id) > MAX_ID_LENGTH:
        raise ValueError(f"a prediction id has at most {MAX_ID_LENGTH} characters")
    return prediction_id


def encode_input(value: Any) -> Any:
    """``value`` with every ``Path``, bytes or binary file in it replaced by a ``data:`` URL."""
    if isinstance(value, Path):
        return _data_url(value.read_bytes(), value.name)
    if isinstance(value, bytes | bytearray | memoryview):
        return _data_url(bytes(value), None)
    if isinstance(value, io.IOBase) or (hasattr(value, "read") and hasattr(value, "mode")):
        data = value.read()
        if not isinstance(data, bytes):
            raise TypeError("files in an input must be opened in binary mode ('rb')")
        return _data_url(data, str(getattr(value, "name", "")) or None)
    if isinstance(value, Mapping):
        return {str(k): encode_input(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_input(v) for v in value]
    return value


def _data_url(data: bytes, name: str | None) -> str:
    mime = mimetypes.guess_type(name)[0] if name else None
    if mime is None:
        mime = next((m for magic, m in _MAGIC if data.startswith(magic)), None)
    if mime is None and data[8:12] == b"WEBP":
        mime = "image/webp"
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:{mime or 'application/octet-stream'};base64,{encoded}"
