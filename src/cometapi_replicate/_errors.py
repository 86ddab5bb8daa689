"""Every exception the SDK raises on purpose, and the pure mapping from a response to one."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._secret import Secret

if TYPE_CHECKING:
    from cometapi_replicate_api.models import Prediction

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CometAPIError",
    "InternalServerError",
    "InvalidInputError",
    "JournalError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OutputTooLargeError",
    "OutputUnavailableError",
    "PermissionDeniedError",
    "PredictionCanceledError",
    "PredictionError",
    "PredictionFailedError",
    "RateLimitError",
    "ResponseValidationError",
    "WaitTimeoutError",
]

MAX_BODY = 4096
"""How much of an error response body an exception keeps (characters)."""


class CometAPIError(Exception):
    """Base class of every error the SDK raises on purpose: no ``KeyError``, ``JSONDecodeError``
    or httpx exception escapes a public call, and no error's message, fields or chain hold the
    API key. Catch it to handle them all::

        try:
            prediction = client.run("black-forest-labs/flux-schnell", {"prompt": "a fox"})
        except CometAPIError as error:
            print("no image:", error)
    """


class MissingAPIKeyError(CometAPIError):
    """No key: neither ``api_key=`` nor ``COMETAPI_KEY`` (or only whitespace). Nothing is sent."""


class APIStatusError(CometAPIError):
    """The API answered with an error status (a subclass names the common ones).

    ``status_code``; ``message``, from CometAPI's error envelope, Replicate's ``detail``, or a
    note that the body was HTML or empty; ``code`` and ``request_id`` when the body has them;
    ``body``, the response text; ``headers``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        request_id: str | None = None,
        body: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.headers: Mapping[str, str] = headers or {}
        self.message = message
        self.code = code
        self.request_id = request_id
        self.body = body


class BadRequestError(APIStatusError):
    """400: the request was refused as malformed (a bad input, for one)."""


class AuthenticationError(APIStatusError):
    """401: the key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such prediction (or a wrong path)."""


class RateLimitError(APIStatusError):
    """429: too many requests; raised once the retries (which honour ``Retry-After``) are spent."""


class InternalServerError(APIStatusError):
    """500 and above; raised once the retries of a GET are spent (a create is not retried)."""


class APIConnectionError(CometAPIError):
    """The request did not get a response: DNS, refused or dropped connection, protocol error."""


class APITimeoutError(APIConnectionError):
    """The request timed out, or (with your own ``http_client``) its pool had no free
    connection in time."""


class ResponseValidationError(CometAPIError):
    """A successful response that does not answer the request: not a prediction (not JSON, no
    ``id`` or ``status``, an id that cannot go in a URL or is not UTF-8, nested deeper than 64
    or larger than ``max_response_bytes``), or a GET answered with another prediction; also a
    malformed ``data:`` output URL."""


class OtherPredictionError(ResponseValidationError):
    """A GET answered with another prediction's body (a proxy's cache or routing fault):
    transient, so a wait polls again instead of returning it."""


class JournalError(CometAPIError):
    """A batch's journal cannot be used: in use by another run, of another model, not a
    journal of this SDK (another application's database, a newer format, not SQLite), or
    a write or read that failed (disk full, read-only, removed); ``__cause__`` is the
    ``sqlite3`` or ``OSError`` behind it."""


class InvalidInputError(CometAPIError, ValueError):
    """An input the model's vendored document does not allow, refused before anything was sent
    (a ``ValueError`` too). ``model``; ``problems``, each ``(field, what is wrong and what it
    accepts)``, the field a dotted path (``images[0]``, ``options.size``)."""

    def __init__(self, model: str, problems: list[tuple[str, str]]) -> None:
        self.model = model
        self.problems = list(problems)
        lines = [f"{field}: {problem}" for field, problem in self.problems]
        head = f"{model}: input refused, nothing was sent"
        if len(lines) == 1:
            super().__init__(f"{head}: {lines[0]}")
        else:
            super().__init__(f"{head}:\n  " + "\n  ".join(lines))

    @property
    def fields(self) -> list[str]:
        """The fields refused, in the order found."""
        return [field for field, _ in self.problems]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.model, self.problems))


class PredictionError(CometAPIError):
    """A prediction did not end as hoped; ``.prediction`` is its last state."""

    def __init__(self, message: str, prediction: Prediction) -> None:
        super().__init__(message)
        self.prediction = prediction


class PredictionFailedError(PredictionError):
    """The prediction's status is ``failed``; ``.prediction.error`` says why."""


class PredictionCanceledError(PredictionError):
    """The prediction was ``canceled`` or ``aborted``."""


class OutputUnavailableError(PredictionError):
    """No output file to fetch: not succeeded, data removed, an output with no files, or no
    such index."""


class OutputTooLargeError(CometAPIError):
    """An output file is larger than the ``max_bytes`` given; no more of it was read."""

    def __init__(self, max_bytes: int, size: int) -> None:
        super().__init__(f"the output file is larger than max_bytes={max_bytes} ({size}+ bytes)")
        self.max_bytes = max_bytes
        self.size = size


class WaitTimeoutError(CometAPIError, TimeoutError):
    """The wait's deadline passed first; ``.prediction`` is the last state seen."""

    def __init__(self, message: str, prediction: Prediction | None) -> None:
        super().__init__(message)
        self.prediction = prediction


_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


_REQUEST_ID = re.compile(r"\(request id: ([^)\s]+)\)")


def without_foreign_causes(error: CometAPIError) -> CometAPIError:
    """``error`` with its chain cut at the first exception that is not the SDK's own.

    A foreign exception (httpx, h11, a socket error) may carry server bytes or the request's
    headers in its message and its frames' locals; the SDK's message already says what it was.
    """
    link: BaseException = error
    while True:
        nxt = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
        if not isinstance(nxt, CometAPIError) or nxt is error:
            link.__cause__, link.__context__, link.__suppress_context__ = None, None, True
            return error
        link.__cause__, link.__context__ = nxt, None
        link = nxt


def redact(text: str, secret: Secret | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``<redacted>``."""
    return secret.redact(text) if secret is not None else text


def status_error(
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    secret: Secret | None = None,
) -> APIStatusError:
    """The exception for an error response, its message taken from the body when it has one.

    Understands CometAPI's envelope (``{"error": {"message", "code", ...}}``) and Replicate's
    RFC 7807 problem details (``detail``); an HTML or empty body gets a short note instead.
    ``secret`` is removed from everything the exception carries.
    """
    text = redact(content.decode("utf-8", errors="replace"), secret)
    message, code = _message_and_code(text, headers.get("content-type", ""))
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    found = _REQUEST_ID.search(message)
    request_id = headers.get("x-request-id") or (found[1] if found else None)
    return cls(
        message or f"HTTP {status_code}",
        status_code=status_code,
        code=code,
        request_id=redact(request_id, secret) if request_id else None,
        body=text[:MAX_BODY],
        headers=headers,
    )


def _message_and_code(text: str, content_type: str) -> tuple[str, str | None]:
    stripped = text.strip()
    if not stripped:
        return "empty response body", None
    try:
        data: Any = json.loads(stripped)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's limit
        looks_html = "html" in content_type or stripped[:1] == "<"
        kind = "an HTML page" if looks_html else "a non-JSON body"
        return f"the server returned {kind} instead of an API error", None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            return _short(error.get("message")), str(code) if code else None
        if isinstance(error, str):
            return _short(error), None
        for key in ("detail", "title", "message"):
            if isinstance(data.get(key), str):
                return _short(data[key]), None
    return _short(stripped), None


def _short(value: Any, limit: int = 500) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
