"""Every Python example in the README passes `mypy --strict` as a user would write it: reading
``p.logs``, ``p.error`` or ``p.metrics`` needs no import of the generator's ``Unset``. (The
site's examples are checked the same way by test_docs_examples.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tools.generate import ROOT

from .documents import python_blocks

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
