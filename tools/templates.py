"""The generator's own templates, with the project's patches (``openapi/templates/*.patch``).

Each patch is a unified diff against the stock templates of the pinned openapi-python-client,
preceded by a note saying why. At generation time the stock templates are read from the
installed generator, patched, and written to a directory passed as ``--custom-template-path``,
so after a generator bump every change is re-applied to the new templates instead of an old
copy silently winning.

whatthepatch parses the diffs. Applying them is done here because whatthepatch applies a hunk
only at its exact line numbers (a bump that shifts a template by one line would reject an
intact change) while GNU patch applies with fuzz (a change can land in the wrong place). This
rule is the overlay's: a hunk applies where its context and removed lines match exactly,
searched from its stated line outwards, and a hunk that matches nowhere fails by name.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import whatthepatch

PATCHES = Path(__file__).resolve().parent.parent / "openapi" / "templates"


class TemplatePatchError(Exception):
    """A patch that is malformed or no longer applies to the generator's template."""


@dataclass(frozen=True)
class Hunk:
    number: int
    start: int  # 1-based line in the old file, as the diff states it
    old: list[str]
    new: list[str]


def stock_templates() -> Path:
    """The template directory of the installed openapi-python-client."""
    return Path(str(importlib.resources.files("openapi_python_client") / "templates"))


def parse(patch: Path) -> dict[str, list[Hunk]]:
    """``{template: hunks}`` for one patch file."""
    files: dict[str, list[Hunk]] = {}
    for diff in whatthepatch.parse_patch(patch.read_text("utf-8")):
        if diff.header is None or not diff.changes:
            continue
        name = diff.header.new_path or diff.header.old_path
        name = name[2:] if name.startswith(("a/", "b/")) else name
        hunks: dict[int, Hunk] = {}
        for change in diff.changes:
            hunk = hunks.get(change.hunk)
            if hunk is None:
                start = change.old if change.old is not None else (change.new or 1)
                hunk = hunks[change.hunk] = Hunk(change.hunk, start, [], [])
            if change.old is not None:
                hunk.old.append(change.line)
            if change.new is not None:
                hunk.new.append(change.line)
        files.setdefault(name, []).extend(hunks.values())
    if not files:
        raise TemplatePatchError(f"{patch.name}: no unified diff in the file")
    return files


def apply_hunks(text: str, hunks: Iterable[Hunk], label: str) -> str:
    """``text`` with each hunk applied where its old lines match exactly (nearest the stated
    line); raises :class:`TemplatePatchError` naming ``label`` and the hunk otherwise."""
    lines = text.splitlines()
    shift = 0  # lines added minus lines removed by the hunks applied so far
    for hunk in hunks:
        at = _find(lines, hunk.old, hunk.start - 1 + shift)
        if at is None:
            first = next((line for line in hunk.old if line.strip()), "")
            raise TemplatePatchError(
                f"{label}: hunk #{hunk.number} (@@ -{hunk.start} {first.strip()!r}) no longer "
                "applies: its lines are not in the generator's template. Re-make the change "
                "on the new template, or drop the patch if the generator now does it."
            )
        lines[at : at + len(hunk.old)] = hunk.new
        shift += len(hunk.new) - len(hunk.old)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def _find(lines: list[str], block: list[str], near: int) -> int | None:
    if not block:
        return max(0, min(near, len(lines)))
    last = len(lines) - len(block)
    for distance in range(max(near, last - near) + 1):
        for at in (near - distance, near + distance):
            if 0 <= at <= last and lines[at : at + len(block)] == block:
                return at
    return None


def patched_templates(output: Path, patches: Path = PATCHES, stock: Path | None = None) -> None:
    """Write every template that a patch in ``patches`` changes, patched, into ``output``."""
    stock = stock or stock_templates()
    output.mkdir(parents=True, exist_ok=True)
    for patch in sorted(patches.glob("*.patch")):
        for name, hunks in parse(patch).items():
            source = output / name if (output / name).exists() else stock / name
            if not source.is_file():
                raise TemplatePatchError(
                    f"{patch.name}: the generator has no template {name!r} any more"
                )
            patched = apply_hunks(source.read_text("utf-8"), hunks, f"{patch.name} on {name}")
            (output / name).parent.mkdir(parents=True, exist_ok=True)
            (output / name).write_text(patched, "utf-8")
