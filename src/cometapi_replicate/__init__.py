"""Python SDK for the Replicate prediction API served by CometAPI.

from cometapi_replicate import Client

with Client() as client:  # COMETAPI_KEY from the environment
    prediction = client.run("black-forest-labs/flux-schnell", {"prompt": "a paper boat"})
    paths = client.predictions.download(prediction, "out/")
"""

from typing import TYPE_CHECKING, Any

from cometapi_replicate_api.models import Prediction
from cometapi_replicate_api.spec_info import SPECS

from ._client import AsyncClient, AsyncPredictions, Client, Predictions
from ._clock import Clock
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CometAPIError,
    InternalServerError,
    InvalidInputError,
    JournalError,
    MissingAPIKeyError,
    NotFoundError,
    OutputTooLargeError,
    OutputUnavailableError,
    PermissionDeniedError,
    PredictionCanceledError,
    PredictionError,
    PredictionFailedError,
    RateLimitError,
    ResponseValidationError,
    WaitTimeoutError,
)
from ._inputs import TypedInput
from ._logs import setup_logging
from ._models import input_type
from ._progress import Progress, parse_progress
from ._settings import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, MAX_CONNECTIONS
from ._status import (
    TERMINAL_STATUSES,
    PredictionStatus,
    is_terminal,
    output_urls,
    raise_for_failure,
    to_json,
)
from ._timing import OUTPUT_GRACE
from ._version import __version__

if TYPE_CHECKING:
    from ._batch.records import BatchOutcome, BatchResult, BatchSummary
    from ._batch.runner import AsyncBatch, Batch
    from ._outputs import output_text

_LAZY = {
    "AsyncBatch": "_batch.runner",
    "Batch": "_batch.runner",
    "BatchOutcome": "_batch.records",
    "BatchResult": "_batch.records",
    "BatchSummary": "_batch.records",
    "output_text": "_outputs",
}


def __getattr__(name: str) -> Any:
    """The batch names and ``output_text``, imported on first use: a program that runs no
    batch never pays for them (nor for ``sqlite3`` and ``asyncio``)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


setup_logging()  # COMETAPI_LOG=debug|info

SPEC_VERSION: str = SPECS["replicate-query.openapi.yaml"]["version"]
"""``info.version`` of the vendored CometAPI document the SDK was generated from."""
SPEC_SHA256: str = SPECS["replicate-query.openapi.yaml"]["sha256"]
"""sha256 of that document (all vendored documents: ``SPECS``)."""

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "MAX_CONNECTIONS",
    "OUTPUT_GRACE",
    "SPECS",
    "SPEC_SHA256",
    "SPEC_VERSION",
    "TERMINAL_STATUSES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncBatch",
    "AsyncClient",
    "AsyncPredictions",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchOutcome",
    "BatchResult",
    "BatchSummary",
    "Client",
    "Clock",
    "CometAPIError",
    "InternalServerError",
    "InvalidInputError",
    "JournalError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OutputTooLargeError",
    "OutputUnavailableError",
    "PermissionDeniedError",
    "Prediction",
    "PredictionCanceledError",
    "PredictionError",
    "PredictionFailedError",
    "PredictionStatus",
    "Predictions",
    "Progress",
    "RateLimitError",
    "ResponseValidationError",
    "TypedInput",
    "WaitTimeoutError",
    "__version__",
    "input_type",
    "is_terminal",
    "output_text",
    "output_urls",
    "parse_progress",
    "raise_for_failure",
    "to_json",
]
