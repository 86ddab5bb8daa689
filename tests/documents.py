"""The project's prose: README.md and every page of the documentation site (docs/**/*.md), for
tests that check a passage (an example, a table, a recipe) wherever it lives."""

from __future__ import annotations

import re

from tools.generate import ROOT


def documents() -> dict[str, str]:
    """Each document's text by its path in the repository."""
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return {str(path.relative_to(ROOT)): path.read_text("utf-8") for path in paths}


def python_blocks(text: str) -> list[str]:
    """The ``python`` code blocks of a Markdown text, in order."""
    return re.findall(r"```python\n(.*?)```", text, re.S)


def containing(marker: str) -> tuple[str, str]:
    """The one document that contains ``marker``: its path and text."""
    (found,) = [(path, text) for path, text in documents().items() if marker in text]
    return found


def python_block(marker: str) -> tuple[str, str]:
    """The one ``python`` block of all the documents that contains ``marker``: the path of its
    document and its code."""
    (found,) = [
        (path, block)
        for path, text in documents().items()
        for block in python_blocks(text)
        if marker in block
    ]
    return found
