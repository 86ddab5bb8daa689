"""Every Python example in the README passes `mypy --strict` as a user would write it: reading
``p.logs``, ``p.error`` or ``p.metrics`` needs no import of the generator's ``Unset``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tools.generate import ROOT

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
    text = (ROOT / "README.md").read_text("utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


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
    assert len(blocks) >= 3
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
