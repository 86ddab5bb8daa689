"""The API key: normalised once, held in a type that never renders it, and redacted from
everything the SDK builds from server data and from every log record its calls cause."""

from __future__ import annotations

import logging
import re
import weakref
from typing import NoReturn

REDACTED = "<redacted>"
_JSON_SHORT_ESCAPES = frozenset('"\\/')


def _forms(value: str) -> re.Pattern[str]:
    """The value, each character as itself or JSON-escaped (``\\u0073``, ``\\/``), with any
    number of backslashes (a ``repr`` of bytes doubles them)."""
    parts = []
    for char in value:
        hexdigits = "".join(f"[{d.lower()}{d.upper()}]" for d in f"{ord(char):04x}")
        forms = [re.escape(char), r"\\+u" + hexdigits]
        if char in _JSON_SHORT_ESCAPES:
            forms.append(r"\\+" + re.escape(char))
        parts.append("(?:" + "|".join(forms) + ")")
    return re.compile("".join(parts))


class Secret:
    """Holds the API key. ``reveal()`` is the only way to the value; everything that prints an
    object (``repr``, ``str``, f-strings, frame-local dumps, pickling) sees ``<redacted>``."""

    __slots__ = ("__weakref__", "_escape", "_pattern", "_value")

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise TypeError("a secret is a non-empty string")
        self._value = value
        self._pattern = _forms(value)
        # What any escaped form of the value contains: "\u", or just "\" when the value has a
        # character JSON may also escape as "\/", "\"" or "\\".
        self._escape = "\\" if _JSON_SHORT_ESCAPES.intersection(value) else "\\u"
        _LIVE.add(self)

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the value, as itself or JSON-escaped, replaced by
        ``<redacted>``."""
        text = text.replace(self._value, REDACTED)
        return self._pattern.sub(REDACTED, text) if self._escape in text else text

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is not pickled")


_LIVE: weakref.WeakSet[Secret] = weakref.WeakSet()
"""Every key a client holds now: the log filter removes each of them."""


def normalize_key(raw: str) -> Secret:
    """The key without surrounding whitespace (a newline read from a file, a CRLF ``.env``).

    ``ValueError`` (that does not show the key) when what remains is not printable ASCII
    without spaces: such a key cannot be a valid one and would break the request header.
    """
    if not isinstance(raw, str):
        raise TypeError(f"the API key is a string, not {type(raw).__name__}")
    key = raw.strip()
    if not all("!" <= char <= "~" for char in key):
        raise ValueError(
            "the API key contains spaces, control or non-ASCII characters "
            f"({len(key)} characters, not shown); check how it was read"
        )
    return Secret(key)


def redact_all(text: str) -> str:
    """``text`` without any key a live client holds."""
    for secret in list(_LIVE):
        text = secret.redact(text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a log record whose message contains a live key, whoever emits it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _LIVE:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business
            return True
        clean = redact_all(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


LOGGERS = ("cometapi_replicate", "httpx", "httpcore")
_FILTER = RedactingFilter()


def install_log_filter() -> None:
    """Put the filter on the SDK's, httpx's and httpcore's loggers and their children (a
    logger's filters do not see its children's records). Idempotent."""
    names = set(LOGGERS) | {
        name
        for name in list(logging.root.manager.loggerDict)
        if name.startswith(tuple(f"{prefix}." for prefix in LOGGERS))
    }
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
