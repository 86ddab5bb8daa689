"""Saving a prediction's outputs: safe names, atomic files, no key to foreign hosts.

``plan_files`` decides everything (sources, names, refusals) before any byte moves;
``fetch``/``afetch`` stream one source into place and raise on any failure, leaving nothing
behind.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import tempfile
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import IO

import httpx
from cometapi_replicate_api.models import Prediction

from ._secret import Secret
from .errors import (
    APIConnectionError,
    OutputUnavailableError,
    ResponseValidationError,
)
from .responses import error_for
from .status import PredictionStatus, normalize_status, output_urls

__all__ = ["afetch", "fetch", "plan_files"]

MAX_NAME = 100
CHUNK = 64 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def plan_files(
    prediction: Prediction, directory: Path, *, overwrite: bool
) -> list[tuple[str, Path]]:
    """``(source, destination)`` for each output, in output order; raises before any I/O."""
    if normalize_status(prediction.status) is not PredictionStatus.SUCCEEDED:
        raise OutputUnavailableError(
            f"prediction {prediction.id} is {prediction.status}, not succeeded", prediction
        )
    urls = output_urls(prediction)
    if prediction.data_removed is True or not urls:
        raise OutputUnavailableError(
            f"prediction {prediction.id} has no output (removed about an hour after it ended)",
            prediction,
        )
    root = directory.resolve()
    used: set[str] = set()
    plan = []
    for index, url in enumerate(urls):
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https", "data"):
            raise ResponseValidationError(f"refusing to download a {scheme or 'relative'}: URL")
        name = _unique(_safe_name(url, index), used)
        destination = root / name
        if not destination.resolve().is_relative_to(root):  # pragma: no cover - names are safe
            raise ResponseValidationError(f"output name {name!r} leaves the directory")
        if destination.exists() and not overwrite:
            raise FileExistsError(f"{destination} exists (pass overwrite=True to replace it)")
        plan.append((url, destination))
    return plan


def _safe_name(url: str, index: int) -> str:
    if url.startswith("data:"):
        mime = url[5:].split(";", 1)[0].split(",", 1)[0]
        return f"output-{index}{mimetypes.guess_extension(mime) or ''}"
    raw = urllib.parse.unquote(PurePosixPath(urllib.parse.urlsplit(url).path).name)
    name = _UNSAFE.sub("_", raw).lstrip(".")
    if not name.strip("._-"):
        return f"output-{index}"
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = name, ""
    ext = f".{ext}" if ext else ""
    return stem[: MAX_NAME - len(ext)] + ext


def _unique(name: str, used: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, dot + ext) if dot and stem else (name, "")
    candidate, n = name, 1
    while candidate.lower() in used:
        candidate, n = f"{stem}-{n}{ext}", n + 1
    used.add(candidate.lower())
    return candidate


def decode_data_url(url: str) -> bytes:
    header, sep, payload = url[5:].partition(",")
    if not sep:
        raise ResponseValidationError("malformed data: URL")
    if header.endswith(";base64"):
        try:
            return base64.b64decode(payload, validate=True)
        except ValueError as exc:
            raise ResponseValidationError("malformed base64 in a data: URL") from exc
    return urllib.parse.unquote_to_bytes(payload)


class _Partial:
    """A temporary file beside the destination, renamed into place only when complete."""

    def __init__(self, destination: Path, overwrite: bool) -> None:
        self.destination, self.overwrite, self.size = destination, overwrite, 0
        fd, name = tempfile.mkstemp(
            dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
        )
        self.path = Path(name)
        self.file: IO[bytes] = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.size += len(chunk)

    def commit(self, expected: int | None) -> Path:
        self.file.close()
        if expected is not None and self.size != expected:
            raise APIConnectionError(f"incomplete download: {self.size} of {expected} bytes")
        if self.overwrite:
            os.replace(self.path, self.destination)
        else:
            os.link(self.path, self.destination)  # fails if something appeared there meanwhile
            self.path.unlink()
        return self.destination

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def _expected_size(response: httpx.Response) -> int | None:
    if response.headers.get("content-encoding", "identity") != "identity":
        return None  # Content-Length counts the encoded bytes
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def fetch(
    http: httpx.Client, url: str, destination: Path, overwrite: bool, secret: Secret | None
) -> Path:
    """Download ``url`` to ``destination`` atomically (sync)."""
    partial = _Partial(destination, overwrite)
    try:
        if url.startswith("data:"):
            partial.write(decode_data_url(url))
            return partial.commit(None)
        with http.stream("GET", url) as response:
            if not response.is_success:  # the body is no local: it may echo the key
                raise error_for(response.status_code, response.headers, response.read(), secret)
            for chunk in response.iter_bytes(CHUNK):
                partial.write(chunk)
            return partial.commit(_expected_size(response))
    finally:
        partial.discard()


async def afetch(
    http: httpx.AsyncClient, url: str, destination: Path, overwrite: bool, secret: Secret | None
) -> Path:
    """Download ``url`` to ``destination`` atomically (async)."""
    partial = _Partial(destination, overwrite)
    try:
        if url.startswith("data:"):
            partial.write(decode_data_url(url))
            return partial.commit(None)
        async with http.stream("GET", url) as response:
            if not response.is_success:
                raise error_for(
                    response.status_code, response.headers, await response.aread(), secret
                )
            async for chunk in response.aiter_bytes(CHUNK):
                partial.write(chunk)
            return partial.commit(_expected_size(response))
    finally:
        partial.discard()
