"""Which output files a prediction has, and where each goes: pure decisions that touch nothing.

``downloadable_urls`` (or :class:`OutputUnavailableError` saying why there is nothing to
fetch), ``plan_download`` (each URL and its destination, named by a template), and the
``data:`` URLs the SDK decodes instead of sending anywhere.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import OutputUnavailableError, ResponseValidationError
from ._filenames import file_names
from ._models import model_schema
from ._status import PredictionStatus, is_file_url, is_terminal, normalize_status, output_urls

if TYPE_CHECKING:  # at run time the generated models are imported on first use
    from cometapi_replicate_api.models import Prediction

__all__ = [
    "Target",
    "check_index",
    "decode_data_url",
    "downloadable_urls",
    "is_data_url",
    "output_source",
    "output_text",
    "plan_download",
    "to_read",
]


def to_read(prediction_or_id: Prediction | str) -> Prediction | str:
    """Where outputs are read from: a terminal prediction as it was passed; otherwise an id to
    get afresh (one GET). A prediction passed while starting or processing may have ended
    since, as the same call with its id would find."""
    if isinstance(prediction_or_id, str) or is_terminal(prediction_or_id):
        return prediction_or_id
    return prediction_or_id.id


def downloadable_urls(prediction: Prediction) -> list[str]:
    """The prediction's file URLs; :class:`OutputUnavailableError` if it has none to fetch."""
    status = prediction.status
    if normalize_status(status if isinstance(status, str) else "") is not (
        PredictionStatus.SUCCEEDED
    ):
        raise OutputUnavailableError(
            f"prediction {prediction.id} is {status}, not succeeded", prediction
        )
    if prediction.data_removed is True:
        raise OutputUnavailableError(
            f"prediction {prediction.id}'s output was removed by the API "
            "(it keeps outputs about an hour after a prediction ends)",
            prediction,
        )
    urls = output_urls(prediction)
    if not urls:
        output = prediction.output
        kind = "text" if isinstance(output, str) else "empty" if output is None else "JSON"
        raise OutputUnavailableError(
            f"prediction {prediction.id}'s output has no files (it is {kind}: "
            "read it from prediction.output)",
            prediction,
        )
    return urls


def output_source(prediction: Prediction, index: int) -> str:
    """File ``index`` of the prediction's output (negative counts from the end)."""
    urls = downloadable_urls(prediction)
    try:
        return urls[index]
    except IndexError:
        raise OutputUnavailableError(
            f"prediction {prediction.id} has {len(urls)} output file(s), no index {index}",
            prediction,
        ) from None


def check_index(index: object) -> int:
    if not isinstance(index, int) or isinstance(index, bool):
        raise ValueError(f"index must be an int, not {type(index).__name__}")
    return index


@dataclass(frozen=True)
class Target:
    source: str
    destination: Path


def plan_download(prediction: Prediction, directory: Path, *, name: str) -> list[Target]:
    """Where each output file goes, in output order; raises before anything is touched."""
    urls = downloadable_urls(prediction)
    root = directory.resolve()
    targets = [
        Target(url, root / file_name)
        for url, file_name in zip(urls, file_names(name, prediction.id, urls), strict=True)
    ]
    if any(t.destination.parent != root for t in targets):  # pragma: no cover - safe names
        raise ResponseValidationError("an output name leaves the folder")
    return targets


def is_data_url(url: str) -> bool:
    return url[:5].lower() == "data:"


def decode_data_url(url: str) -> bytes:
    """The bytes of a ``data:`` URL (``;base64`` in any case, padding optional)."""
    header, sep, payload = url[5:].partition(",")
    if not sep:
        raise ResponseValidationError("malformed data: URL (no comma)")
    raw = urllib.parse.unquote_to_bytes(payload)
    if not header.lower().endswith(";base64"):
        return raw
    compact = re.sub(rb"\s+", b"", raw)
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
    except ValueError as exc:
        raise ResponseValidationError("malformed base64 in a data: URL") from exc


def output_text(prediction: Prediction) -> str:
    """The prediction's output as text: a string output as it is; streamed text (a list of
    tokens) joined.

    For a model with a vendored document, its ``Output`` schema decides: a list is joined
    when it says ``x-cog-array-type: iterator`` and ``x-cog-array-display: concatenate``.
    For another model, a list of strings none of which is a file URL is taken as tokens. The
    text so far while the prediction runs (``""`` before any); :class:`OutputUnavailableError`
    when the output is files or other JSON, or there is none once it has ended."""
    output = prediction.output
    shape = None
    model = prediction.model if isinstance(prediction.model, str) else ""
    try:
        schema = model_schema(model.partition(":")[0]) if model else None
    except ValueError:  # not owner/name: no document to go by
        schema = None
    if schema is not None:
        shape = schema.output()
    if output is None:
        if not is_terminal(prediction):
            return ""
        why = "was removed by the API" if prediction.data_removed is True else "is empty"
        raise OutputUnavailableError(f"prediction {prediction.id}'s output {why}", prediction)
    if isinstance(output, str) and (shape is None or shape.text or not shape.files):
        return output
    if isinstance(output, list) and all(isinstance(item, str) for item in output):
        tokens = shape.streamed_text if shape is not None else not any(map(is_file_url, output))
        if tokens:
            return "".join(output)
    said = f" (its document says: {shape.type})" if shape is not None else ""
    kind = "files" if output_urls(output) else "JSON"
    raise OutputUnavailableError(
        f"prediction {prediction.id}'s output is {kind}, not text{said}", prediction
    )
