"""An item's key: keyed inputs, the input's fingerprint against the journal, shards, and the
folder of its files."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .._errors import InvalidInputError
from .._inputs import TypedInput
from .._models import model_schema, plain_input
from .records import Record

__all__ = [
    "MAX_KEY",
    "check_inputs",
    "check_shard",
    "checked_input",
    "fingerprint",
    "in_shard",
    "item_folder",
    "keyed",
]

MAX_KEY = 512


def keyed(
    inputs: Iterable[Any], model: str | None = None
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(key, input)`` for each item, lazily: a mapping's key is its position (``"0"``, ...),
    a ``(key, mapping)`` pair names its own. A generated ``Input`` is read as a dict (one of
    another model than ``model`` is a ``TypeError``)."""
    for index, item in enumerate(inputs):
        if isinstance(item, Mapping | TypedInput) and not isinstance(item, type):
            yield str(index), plain_input(model, item)
            continue
        if (
            isinstance(item, tuple | list)
            and len(item) == 2
            and isinstance(item[1], Mapping | TypedInput)
            and not isinstance(item[1], type)
        ):
            key = item[0]
            if isinstance(key, int) and not isinstance(key, bool):
                key = str(key)
            if isinstance(key, str) and 0 < len(key) <= MAX_KEY:
                yield key, plain_input(model, item[1])
                continue
            raise ValueError(f"item {index}: a key is a string of 1 to {MAX_KEY} characters")
        raise TypeError(f"item {index}: an input mapping or a (key, input mapping) pair")


def check_inputs(model: str, inputs: Iterable[Any]) -> None:
    """:class:`InvalidInputError` naming every refused field of every item (``item KEY:
    field``) when ``model`` has a vendored document; nothing is sent before."""
    schema = model_schema(model)
    if schema is None:
        for _ in keyed(inputs, model):  # another model's Input: refused before sending
            pass
        return
    problems = [
        (f"item {key}: {field}", problem)
        for key, model_input in keyed(inputs, model)
        for field, problem in schema.problems(model_input)
    ]
    if problems:
        raise InvalidInputError(schema.model, problems)


def checked_input(key: str, model_input: Mapping[str, Any], record: Record | None) -> str:
    """The input's fingerprint; a :class:`ValueError` when the journal's ``record`` of ``key``
    holds another input."""
    digest = fingerprint(model_input)
    if record is not None and record.input_hash != digest:
        raise ValueError(
            f"item {key!r}: the input differs from the one the journal recorded for this "
            "key; restore the input or use another journal"
        )
    return digest


def fingerprint(model_input: Mapping[str, Any]) -> str:
    """A stable digest of an input, to notice a journal resumed with different inputs."""

    def default(value: object) -> object:
        if isinstance(value, bytes | bytearray | memoryview):
            return "bytes:" + hashlib.sha256(bytes(value)).hexdigest()
        if isinstance(value, Path):
            return f"path:{value}"
        return f"{type(value).__name__}"

    text = json.dumps(model_input, sort_keys=True, default=default, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``key`` belongs to shard ``(index, count)`` (0-based), by a stable hash."""
    if shard is None:
        return True
    index, count = shard
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == index


def check_shard(shard: tuple[int, int] | None) -> tuple[int, int] | None:
    if shard is not None:
        index, count = shard
        if not (isinstance(index, int) and isinstance(count, int) and 0 <= index < count):
            raise ValueError(f"a shard is (index, count) with 0 <= index < count, not {shard!r}")
    return shard


_SAFE_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


def item_folder(key: str) -> str:
    """The folder name for an item's files: the key when it is a safe name, otherwise a safe
    prefix of it and a digest (so two keys never share a folder)."""
    if _SAFE_FOLDER.fullmatch(key) and not key.endswith("."):
        return key
    prefix = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:40].strip("._-")
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{prefix}~{digest}" if prefix else f"~{digest}"
