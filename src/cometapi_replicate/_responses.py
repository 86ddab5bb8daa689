"""Everything a server sends, read defensively in one place.

Whatever the body or headers hold (nesting 100,000 deep, a body of gigabytes, a ``Retry-After``
in the year 99999, header values of any size, the key echoed back plain or JSON-escaped), what
leaves this module is a clean value or one of the SDK's own errors: never ``RecursionError``,
``OverflowError``, ``KeyError`` or ``JSONDecodeError``, and never the key.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from ._errors import (
    APIStatusError,
    OtherPredictionError,
    ResponseValidationError,
    redact,
    status_error,
)
from ._inputs import validate_prediction_id
from ._secret import Secret

if TYPE_CHECKING:  # at run time the generated models are imported on first use
    from cometapi_replicate_api.models import Prediction
    from cometapi_replicate_api.types import Response

__all__ = [
    "MAX_DEPTH",
    "MAX_HEADER_VALUE",
    "MAX_RESPONSE_BYTES",
    "Reply",
    "clean_headers",
    "error_for",
    "load_json",
    "parse_retry_after",
    "read_prediction_body",
    "server_time",
]

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""Default of ``Client(max_response_bytes=...)``: a larger API response body is refused."""
MAX_DEPTH = 64
"""Deepest nesting of objects and lists accepted in a response body."""
MAX_HEADER_VALUE = 8192
"""Characters of each header value kept on an error (the rest is cut)."""
_MAX_RETRY_AFTER_TEXT = 64


def clean_headers(headers: Mapping[str, str], secret: Secret | None) -> httpx.Headers:
    """A copy of ``headers`` for an error to keep: values cut to ``MAX_HEADER_VALUE`` and
    without the key (``WWW-Authenticate`` or ``Location`` may echo it)."""
    items = headers.multi_items() if isinstance(headers, httpx.Headers) else headers.items()
    return httpx.Headers(
        [(str(name), redact(str(value)[:MAX_HEADER_VALUE], secret)) for name, value in items]
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if not isinstance(value, str) or len(value) > _MAX_RETRY_AFTER_TEXT:
        return None
    return value


def _seconds(text: str, per_second: float) -> float | None:
    try:
        value = float(text) / per_second
    except ValueError:
        return None
    return max(value, 0.0) if math.isfinite(value) else None


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or
    as an HTTP-date (``now`` is the current Unix time). ``None`` when absent or unreadable:
    an absurd date, zone or number is unreadable, not an error."""
    millis = _header(headers, "retry-after-ms")
    if millis is not None and (seconds := _seconds(millis, 1000)) is not None:
        return seconds
    value = _header(headers, "retry-after")
    if value is None:
        return None
    seconds = _seconds(value, 1)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        return max(when.timestamp() - now, 0.0)
    except (TypeError, ValueError, OverflowError, IndexError, OSError):
        return None


def server_time(value: object) -> float | None:
    """A timestamp the server sent (ISO 8601; UTC unless it says otherwise) as Unix seconds;
    ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def _depth_ok(data: Any) -> bool:
    """Whether ``data`` nests no deeper than ``MAX_DEPTH``: one level at a time, no recursion."""
    level, depth = [data], 0
    while containers := [value for value in level if isinstance(value, dict | list)]:
        depth += 1
        if depth > MAX_DEPTH:
            return False
        level = [c for v in containers for c in (v.values() if isinstance(v, dict) else v)]
    return True


def load_json(text: str) -> Any:
    """The JSON value in ``text``; ``ResponseValidationError`` if it is not JSON or is nested
    deeper than ``MAX_DEPTH``."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ResponseValidationError("the response body is nested too deeply") from None
    except ValueError:
        raise ResponseValidationError("the response body is not JSON") from None
    # A value nests no deeper than the brackets the text holds: most bodies need no walk.
    if text.count("[") + text.count("{") > MAX_DEPTH and not _depth_ok(data):
        raise ResponseValidationError(f"the response body is nested deeper than {MAX_DEPTH}")
    return data


def _check_size(content: bytes, limit: int) -> None:
    if len(content) > limit:
        raise ResponseValidationError(
            f"the response body is larger than {limit} bytes (max_response_bytes)"
        )


def _id_bytes_valid(content: bytes, secret: Secret | None, replaced: Any) -> bool:
    """Whether the ``id`` of a body that is not valid UTF-8 survived decoding unchanged
    (``replaced``: the body decoded with replacement characters, then parsed)."""
    exact = load_json(redact(content.decode("utf-8", errors="surrogateescape"), secret))
    return isinstance(exact, dict) and exact.get("id") == replaced.get("id")


def error_for(
    status: int, headers: Mapping[str, str], content: bytes, secret: Secret | None
) -> APIStatusError:
    """The exception for an error response (its body cut, never parsed past our limits)."""
    return status_error(
        status,
        clean_headers(headers, secret),
        content[:MAX_RESPONSE_BYTES],
        secret=secret,
    )


class Reply:
    """A response as a driver hands it over: the generated ``Response`` type, its body at most
    ``limit + 1`` bytes. Printed without its body, and its raw bytes are never bound to a
    local name here: a server may echo the key, and crash reporters print frames' locals."""

    __slots__ = ("response",)

    def __init__(self, response: Response[Prediction]) -> None:
        self.response = response

    def __repr__(self) -> str:
        return f"Reply(status_code={self.response.status_code})"


def read_prediction_body(
    reply: Reply,
    *,
    secret: Secret | None,
    limit: int = MAX_RESPONSE_BYTES,
    asked_for: str | None = None,
) -> Prediction:
    """The prediction in a response; the mapped error for an error status;
    ``ResponseValidationError`` for anything that is not a usable prediction, and for a
    prediction other than ``asked_for`` (the id a GET asked for).

    Text that is not valid UTF-8 is read with replacement characters (``logs`` may hold
    anything), except in the id: an id is exactly what the server sent, or it is refused."""
    status = reply.response.status_code
    if status // 100 != 2:
        raise error_for(status, reply.response.headers, reply.response.content, secret)
    _check_size(reply.response.content, limit)
    try:
        data = load_json(redact(reply.response.content.decode("utf-8"), secret))
    except UnicodeDecodeError:
        data = load_json(redact(reply.response.content.decode("utf-8", errors="replace"), secret))
        if isinstance(data, dict) and not _id_bytes_valid(reply.response.content, secret, data):
            raise ResponseValidationError("the response's prediction id is not UTF-8") from None
    if not isinstance(data, dict):
        raise ResponseValidationError(f"HTTP {status}: the body is not a prediction object")
    from cometapi_replicate_api.models import Prediction  # the first prediction read loads them

    try:
        prediction = Prediction.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        kind = type(exc).__name__
        raise ResponseValidationError(f"the response body is not a prediction ({kind})") from None
    if not isinstance(prediction.id, str) or not isinstance(prediction.status, str):
        raise ResponseValidationError("the response is not a prediction: id or status missing")
    if not _usable_id(prediction.id):
        raise ResponseValidationError("the response's prediction id cannot be used in a URL")
    if asked_for is not None and prediction.id != asked_for:
        raise OtherPredictionError(
            f"asked for prediction {asked_for}, the server answered with prediction {prediction.id}"
        )
    return prediction


def _usable_id(prediction_id: str) -> bool:
    try:  # the one rule for ids, sent or received
        validate_prediction_id(prediction_id)
    except ValueError:
        return False
    return True
