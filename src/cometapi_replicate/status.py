"""Prediction statuses, what to do with a prediction that has ended, and its JSON form."""

from __future__ import annotations

import json
from enum import StrEnum

from cometapi_replicate_api.models import Prediction
from cometapi_replicate_api.types import Unset

from .errors import PredictionCanceledError, PredictionError, PredictionFailedError

__all__ = [
    "TERMINAL_STATUSES",
    "PredictionStatus",
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
        prediction_or_status.status
        if isinstance(prediction_or_status, Prediction)
        else prediction_or_status
    )
    return normalize_status(status) in TERMINAL_STATUSES


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


def output_urls(prediction: Prediction) -> list[str]:
    """The output as a list of strings: ``None`` is ``[]``, ``"url"`` is ``["url"]``."""
    output = prediction.output
    if output is None or isinstance(output, Unset):
        return []
    if isinstance(output, str):
        return [output]
    return [item for item in output if isinstance(item, str)]


def to_json(prediction: Prediction, *, indent: int | None = None) -> str:
    """The prediction as a JSON string (the API's field names, unknown fields kept);
    ``Prediction.from_dict(json.loads(text))`` reads it back."""
    return json.dumps(prediction.to_dict(), indent=indent)
