"""File names for output files: from a template, safe on Linux, macOS and Windows, unique."""

from __future__ import annotations

import itertools
import mimetypes
import re
import string
import unicodedata
import urllib.parse
from collections.abc import Sequence
from pathlib import PurePosixPath

__all__ = ["DEFAULT_NAME", "MAX_NAME_BYTES", "check_name_template", "file_names", "safe_name"]

DEFAULT_NAME = "{id}-{index}{ext}"
"""Output ``index`` of prediction ``id``: two predictions never share a name in one folder."""
MAX_NAME_BYTES = 255
"""The longest file name Linux, macOS and Windows all accept (in UTF-8 bytes)."""

_FIELDS = ("id", "index", "stem", "ext")
_KEEP = frozenset("._-+@=,~_")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]]
)
_EXT = re.compile(r"\.[A-Za-z0-9]{1,16}")
_NUMBER = re.compile(r"\d+")


def check_name_template(template: object) -> str:
    """``template`` if it is a usable file name template; ``ValueError`` otherwise.

    Fields: ``{id}`` (the prediction's id), ``{index}`` (the file's position in the output,
    from 0; format specs such as ``{index:03d}`` work), ``{stem}`` and ``{ext}`` (the URL's
    file name without and with its dot-extension, ``.png``).
    """
    if not isinstance(template, str) or not template:
        raise ValueError("name must be a non-empty template such as '{id}-{index}{ext}'")
    try:
        for _, field_name, spec, _ in string.Formatter().parse(template):
            if field_name is not None and field_name not in _FIELDS:
                raise ValueError(f"unknown field {{{field_name}}}")
            # '{index:>999999999}' would build gigabytes for a name cut to 255 bytes anyway.
            if spec and (
                "{" in spec or any(int(n) > MAX_NAME_BYTES for n in _NUMBER.findall(spec))
            ):
                raise ValueError(f"format spec {spec!r}: no nested fields, no width over 255")
        template.format(id="id", index=0, stem="stem", ext=".ext")
    except (ValueError, TypeError) as exc:
        fields = ", ".join(f"{{{f}}}" for f in _FIELDS)
        raise ValueError(f"name template {template!r}: {exc} (fields: {fields})") from None
    return template


def safe_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` as a file name that Linux, macOS and Windows all accept, in one folder.

    Letters, marks and digits of any script stay (NFC-normalised), and ``._-+@=,~``; a run of
    other characters becomes one ``_``; no leading ``.``, ``_``, ``-`` or ``~``, no trailing
    ``.``; Windows'
    reserved device names (``CON``, ``nul``, ``COM1.txt``) get a ``_`` prefix; at most
    ``limit`` bytes in UTF-8, the extension kept.
    """
    text = unicodedata.normalize("NFC", name)
    marked = "".join(c if c in _KEEP or unicodedata.category(c)[0] in "LMN" else "\0" for c in text)
    kept = re.sub("\0+", "_", marked).lstrip("._-~").rstrip(".")
    if not kept.strip("_"):
        kept = "output"
    if kept.split(".", 1)[0].upper() in _RESERVED:
        kept = "_" + kept
    return _fit(kept, limit)


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and _EXT.fullmatch(dot + ext):
        return stem, dot + ext
    return name, ""


def _fit(name: str, limit: int) -> str:
    if len(name.encode()) <= limit:
        return name
    stem, ext = _split_ext(name)
    room = max(limit - len(ext.encode()), 1)
    return stem.encode()[:room].decode("utf-8", "ignore").rstrip(".") + ext


def _name_fields(url: str, index: int, prediction_id: str) -> dict[str, object]:
    if url[:5].lower() == "data:":
        mime = url[5:].split(",", 1)[0].split(";", 1)[0].lower()
        stem, ext = "output", mimetypes.guess_extension(mime) or ""
    else:
        path = urllib.parse.urlsplit(url).path
        stem, ext = _split_ext(urllib.parse.unquote(PurePosixPath(path).name))
    return {"id": prediction_id, "index": index, "stem": stem or "output", "ext": ext}


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name-1``, ``name-2``... the first not in ``used`` (case-insensitively)."""
    stem, ext = _split_ext(name)
    candidate = name
    for n in itertools.count(1):
        key = candidate.casefold()
        if key not in used:
            used.add(key)
            return candidate
        suffix = f"-{n}{ext}"
        candidate = _fit(stem, MAX_NAME_BYTES - len(suffix.encode())) + suffix
    raise AssertionError("unreachable")  # pragma: no cover


def file_names(template: str, prediction_id: str, urls: Sequence[str]) -> list[str]:
    """The safe, unique (case-insensitively) name of each output file, in output order."""
    template = check_name_template(template)
    used: set[str] = set()
    return [
        _unique(safe_name(template.format(**_name_fields(url, index, prediction_id))), used)
        for index, url in enumerate(urls)
    ]
