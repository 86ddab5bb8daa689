"""``Secret``: a string that no repr, str, format or log line can show."""

from __future__ import annotations

from typing import NoReturn


class Secret:
    """Holds the API key. ``reveal()`` is the only way to the value; everything that prints an
    object (``repr``, ``str``, f-strings, frame-local dumps, pickling) sees ``<redacted>``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise TypeError("a secret is a non-empty string")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the value replaced by ``<redacted>``."""
        return text.replace(self._value, REDACTED)

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is not pickled")


REDACTED = "<redacted>"
