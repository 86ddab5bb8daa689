"""Python SDK for the Replicate prediction API served by CometAPI.

from cometapi_replicate import Client

with Client() as client:  # COMETAPI_KEY from the environment
    prediction = client.run("black-forest-labs/flux-schnell", {"prompt": "a paper boat"})
    paths = client.predictions.download(prediction, "out/")
"""

from typing import TYPE_CHECKING, Any

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
    from cometapi_replicate_api.models import Prediction
    from cometapi_replicate_api.spec_info import SPECS

    from ._batch.records import BatchOutcome, BatchResult, BatchSummary
    from ._batch.runner import AsyncBatch, Batch
    from ._outputs import output_text

    SPEC_VERSION: str
    """``info.version`` of the vendored CometAPI document the SDK was generated from."""
    SPEC_SHA256: str
    """sha256 of that document (all vendored documents: ``SPECS``)."""

_LAZY = {
    "AsyncBatch": "_batch.runner",
    "Batch": "_batch.runner",
    "BatchOutcome": "_batch.records",
    "BatchResult": "_batch.records",
    "BatchSummary": "_batch.records",
    "output_text": "_outputs",
    "Prediction": "cometapi_replicate_api.models",
    "SPECS": "cometapi_replicate_api.spec_info",
}
_SPEC = {"SPEC_VERSION": "version", "SPEC_SHA256": "sha256"}
_QUERY_SPEC = "replicate-query.openapi.yaml"


def __getattr__(name: str) -> Any:
    """The batch names, ``output_text`` and the generated package's, imported on first use: a
    program that runs no batch never pays for them (nor for ``sqlite3`` and ``asyncio``), and
    ``import cometapi_replicate`` does not load the generated models and attrs (the first
    request does)."""
    import importlib

    if name in _SPEC:
        value: Any = importlib.import_module(_LAZY["SPECS"]).SPECS[_QUERY_SPEC][_SPEC[name]]
    elif name in _LAZY:
        module = _LAZY[name]
        value = getattr(importlib.import_module(module if module[0] != "_" else f".{module}",
                                                __name__), name)  # fmt: skip
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SPEC})


setup_logging()  # COMETAPI_LOG=debug|info

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
