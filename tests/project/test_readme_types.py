"""Every Python example in the README passes `mypy --strict` as a user would write it: reading
``p.logs``, ``p.error`` or ``p.metrics`` needs no import of the generator's ``Unset``. (The
site's examples are checked the same way by test_docs_examples.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from cometapi_replicate import BatchOutcome
from tools.generate import ROOT

from ..documents import containing, python_blocks

TYPES_TABLE = "| attribute | type |\n|---|---|\n"

# What users write, as the README shows it: no Unset, no isinstance dance.
READING = """
from cometapi_replicate import Client, Prediction, parse_progress


def report(p: Prediction) -> str:
    progress = parse_progress(p.logs)
    seconds = p.metrics.predict_time if p.metrics else None
    if p.error:
        return p.error.upper()
    return f"{p.status} {progress.percentage if progress else 0:.0%} {seconds or 0.0:.1f}s"


with Client("key") as client:
    print(report(client.predictions.get("abc")))
"""


def readme_blocks() -> list[str]:
    """Every Python block of the README as a module: a block that awaits at top level (as
    the README's asyncio snippets do) becomes the body of an ``async def``."""
    blocks = python_blocks((ROOT / "README.md").read_text("utf-8"))
    modules = []
    for block in blocks:
        top_level = [line for line in block.splitlines() if line and not line[0].isspace()]
        if any(re.match(r"(async with|async for|await)\b", line) for line in top_level):
            imports = [line for line in top_level if re.match(r"(from|import) ", line)]
            body = [line for line in block.splitlines() if line not in imports]
            block = "\n".join([*imports, "", "", "async def main() -> None:"])
            block += "\n" + "\n".join("    " + line if line else "" for line in body) + "\n"
        modules.append(block)
    return modules


def mypy_strict(tmp_path: Path, sources: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name, code in sources.items():
        (tmp_path / f"{name}.py").write_text(code, "utf-8")
    command = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".cache")]
    return subprocess.run(
        [*command, *(f"{name}.py" for name in sources)],
        cwd=tmp_path,  # not the project's mypy settings: a user's own project
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_readme_examples_pass_mypy_strict(tmp_path: Path) -> None:
    blocks = readme_blocks()
    assert blocks, "the README has its first example"
    sources = {f"readme_block_{i}": code for i, code in enumerate(blocks, 1)}
    sources["reading_fields"] = READING
    assert "import Unset" not in "".join(sources.values())
    result = mypy_strict(tmp_path, sources)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_does_catch_a_misread_field(tmp_path: Path) -> None:
    """The check above can fail: a user who treats an optional field as always set is told."""
    wrong = READING.replace(
        "p.metrics.predict_time if p.metrics else None", "p.metrics.predict_time"
    )
    result = mypy_strict(tmp_path, {"wrong": wrong})
    assert result.returncode == 1
    assert (
        'Item "None" of "PredictionMetrics | None" has no attribute "predict_time"' in result.stdout
    )


def documented_types(text: str) -> list[tuple[str, str]]:
    """``(Class.attribute, type)`` for each row of the documented table of attribute types."""
    table = text.split(TYPES_TABLE, 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines():
        names, kind = re.split(r"(?<!\\)\|", line.strip("|"))[:2]
        first_type = re.match(r"\s*`([^`]+)`", kind)
        assert first_type, line
        for name in re.findall(r"`(\w+\.\w+)`", names):
            rows.append((name, first_type[1].replace("\\|", "|")))
    return rows


def attribute_program(rows: list[tuple[str, str]]) -> str:
    """A program that reads every attribute of ``rows`` and asserts its documented type."""
    classes = sorted({name.split(".")[0] for name, _ in rows})
    lines = [
        "from collections.abc import Mapping",
        "from pathlib import Path",
        "from typing import Any, assert_type",
        "",
        f"from cometapi_replicate import BatchOutcome, Prediction, {', '.join(classes)}",
        "",
        "",
        "def read(" + ", ".join(f"{c.lower()}: {c}" for c in classes) + ") -> None:",
    ]
    for name, kind in rows:
        owner, attribute = name.split(".")
        lines.append(f"    assert_type({owner.lower()}.{attribute}, {kind})")
    return "\n".join(lines) + "\n"


def test_every_documented_attribute_has_the_documented_type(tmp_path: Path) -> None:
    rows = documented_types(containing(TYPES_TABLE)[1])
    names = {name for name, _ in rows}
    summary_counts = {f"BatchSummary.{outcome.value}" for outcome in BatchOutcome}
    assert summary_counts <= names, "a count attribute for every outcome"
    assert {"Progress.current", "WaitTimeoutError.prediction", "BatchResult.files"} <= names
    result = mypy_strict(tmp_path, {"attributes": attribute_program(rows)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_table_that_misstates_a_type_fails_the_check(tmp_path: Path) -> None:
    rows = [("Progress.current", "int"), ("BatchResult.files", "list[Path]")]
    result = mypy_strict(tmp_path, {"wrong": attribute_program(rows)})
    assert result.returncode == 1
    assert result.stdout.count("Expression is of type") == 2, result.stdout
