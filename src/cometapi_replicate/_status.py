"""Prediction statuses, what to do with a prediction that has ended, and its JSON form."""

from __future__ import annotations

import json
import re
import sys
import urllib.parse
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, TypeGuard

from ._errors import PredictionCanceledError, PredictionError, PredictionFailedError

if TYPE_CHECKING:  # at run time the generated models are imported on first use
    from cometapi_replicate_api.models import Prediction
    from typing_extensions import TypeIs  # typing's own from Python 3.13

__all__ = [
    "TERMINAL_STATUSES",
    "PredictionStatus",
    "awaiting_output",
    "is_file_url",
    "is_terminal",
    "output_urls",
    "raise_for_failure",
    "to_json",
]


class PredictionStatus(StrEnum):
    STARTING = "starting"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    ABORTED = "aborted"


TERMINAL_STATUSES: frozenset[PredictionStatus] = frozenset(
    {
        PredictionStatus.SUCCEEDED,
        PredictionStatus.FAILED,
        PredictionStatus.CANCELED,
        PredictionStatus.ABORTED,
    }
)
_ALIASES = {"cancelled": PredictionStatus.CANCELED}


def is_prediction(value: object) -> TypeIs[Prediction]:
    """Whether ``value`` is a :class:`Prediction`, without importing the generated models:
    until something imports them, nothing can be one."""
    models = sys.modules.get("cometapi_replicate_api.models")
    return models is not None and isinstance(value, models.Prediction)


def normalize_status(status: str) -> PredictionStatus | None:
    """The known status a string names (``"cancelled"`` included), or ``None``."""
    value = status.strip().lower()
    try:
        return PredictionStatus(value)
    except ValueError:
        return _ALIASES.get(value)


def is_terminal(prediction_or_status: Prediction | str) -> bool:
    """Whether the prediction has ended: succeeded, failed, canceled (or cancelled), aborted."""
    status = (
        prediction_or_status.status if is_prediction(prediction_or_status) else prediction_or_status
    )
    return normalize_status(status) in TERMINAL_STATUSES


def awaiting_output(prediction: Prediction) -> bool:
    """Whether ``prediction`` says ``succeeded`` with no output yet (``output`` null and
    ``data_removed`` not true): the output may still be on its way."""
    return (
        normalize_status(prediction.status) is PredictionStatus.SUCCEEDED
        and prediction.output is None
        and prediction.data_removed is not True
    )


def raise_for_failure(prediction: Prediction) -> Prediction:
    """Return ``prediction`` if it succeeded; raise a :class:`PredictionError` otherwise."""
    status = normalize_status(prediction.status)
    if status is PredictionStatus.SUCCEEDED:
        return prediction
    if status is PredictionStatus.FAILED:
        error = prediction.error if isinstance(prediction.error, str) else "no error given"
        raise PredictionFailedError(f"prediction {prediction.id} failed: {error}", prediction)
    if status in (PredictionStatus.CANCELED, PredictionStatus.ABORTED):
        raise PredictionCanceledError(f"prediction {prediction.id} was {status}", prediction)
    raise PredictionError(
        f"prediction {prediction.id} has not ended (status {prediction.status!r})", prediction
    )


_HTTP_URL = re.compile(r"https?://[^\s/?#]+\S*", re.IGNORECASE | re.ASCII)
_PART = r"[a-z0-9!#$&^_.+-]+"  # a token of a media type or parameter (RFC 2045)
_DATA_URL = re.compile(
    rf"data:(?:{_PART}/{_PART})?(?:;{_PART}(?:={_PART})?)*,\S*", re.IGNORECASE | re.ASCII
)


def is_file_url(value: object) -> TypeGuard[str]:
    """Whether ``value`` is one ``http(s)`` URL with a host, or one ``data:`` URL, and nothing
    else: no surrounding text, no whitespace (the scheme is matched case-insensitively)."""
    if not isinstance(value, str):
        return False
    if _DATA_URL.fullmatch(value):
        return True
    if not _HTTP_URL.fullmatch(value):
        return False
    try:
        return bool(urllib.parse.urlsplit(value).hostname)
    except ValueError:  # a malformed port or IPv6 literal
        return False


def output_urls(prediction_or_output: object) -> list[str]:
    """The file URLs in a prediction's output (or in any output value), in document order.

    Every ``http(s)`` or ``data:`` URL string found in the output itself, in list items,
    nested lists and the values of objects (never their keys); plain text, numbers and
    streamed text tokens are not files. ``[]`` when there are none.
    """
    output = (
        prediction_or_output.output if is_prediction(prediction_or_output) else prediction_or_output
    )
    return [value for value in _leaves(output) if is_file_url(value)]


def _leaves(value: object) -> Iterator[object]:
    """The scalar values inside ``value``, depth first in document order (no recursion limit)."""
    stack: list[Iterator[object]] = [iter((value,))]
    while stack:
        for item in stack[-1]:
            if isinstance(item, Mapping):
                stack.append(iter(item.values()))
                break
            if isinstance(item, list | tuple):
                stack.append(iter(item))
                break
            yield item
        else:
            stack.pop()


def to_json(prediction: Prediction, *, indent: int | None = None) -> str:
    """The prediction as a JSON string (the API's field names, unknown fields kept);
    ``Prediction.from_dict(json.loads(text))`` reads it back."""
    return json.dumps(prediction.to_dict(), indent=indent)
