"""What the batch scheduler decides and its drivers carry out: journal records to save, requests
to send (create, poll, download), results to hand over, and an abort."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cometapi_replicate_api.models import Prediction

from .._errors import CometAPIError
from .records import BatchResult, Record

__all__ = [
    "Abort",
    "CreateRequest",
    "DownloadRequest",
    "Effect",
    "Finish",
    "PollRequest",
    "Request",
    "Save",
]


@dataclass(frozen=True, slots=True)
class Save:
    """Stage ``record`` in the journal (committed before the requests of the same batch)."""

    record: Record


@dataclass(frozen=True, slots=True)
class Finish:
    result: BatchResult


@dataclass(frozen=True, slots=True)
class Abort:
    """Stop the batch and raise ``error`` (the key is refused: every item would fail alike)."""

    error: CometAPIError


@dataclass(frozen=True, slots=True)
class CreateRequest:
    key: str
    input: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PollRequest:
    key: str
    prediction_id: str


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """Save the prediction's files into the folder ``folder`` of the batch's directory."""

    key: str
    prediction: Prediction
    folder: str


Request = CreateRequest | PollRequest | DownloadRequest
Effect = Save | Finish | Abort | CreateRequest | PollRequest | DownloadRequest
