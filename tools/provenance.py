"""``openapi/provenance.json``: where each vendored document came from, and its sha256.

``make update-spec`` writes a record when it takes a document; ``make check-generated`` and the
tests verify every vendored document against its record, so a hand edit (or a document taken
without ``update-spec``) is caught, whatever the document says.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

FILE = "provenance.json"
FIELDS = ("retrieved", "sha256", "source")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(openapi_dir: Path) -> dict[str, dict[str, str]]:
    path = openapi_dir / FILE
    if not path.exists():
        return {}
    records = json.loads(path.read_text("utf-8"))
    return records if isinstance(records, dict) else {}


def record(openapi_dir: Path, name: str, text: bytes, source: str) -> None:
    """Record that ``name`` now holds ``text``, taken from ``source`` today."""
    records = load(openapi_dir)
    records[name] = {
        "source": source,
        "retrieved": datetime.date.today().isoformat(),
        "sha256": hashlib.sha256(text).hexdigest(),
    }
    (openapi_dir / FILE).write_text(json.dumps(records, indent=2, sort_keys=True) + "\n", "utf-8")


def problems(openapi_dir: Path, documents: Iterable[str]) -> list[str]:
    """Each vendored document that has no complete record or differs from it (empty: all good)."""
    try:
        records = load(openapi_dir)
    except (OSError, ValueError) as exc:
        return [f"openapi/{FILE} cannot be read: {exc}"]
    found: list[str] = []
    for name in documents:
        entry = records.get(name)
        if not isinstance(entry, dict) or any(not entry.get(key) for key in FIELDS):
            found.append(f"openapi/{name} has no complete record in openapi/{FILE}")
        elif entry["sha256"] != sha256(openapi_dir / name):
            found.append(
                f"openapi/{name} is not the document recorded in openapi/{FILE} (sha256 "
                "differs): vendored documents change only through `make update-spec`"
            )
    return found
