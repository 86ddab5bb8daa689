"""Every Python example on the documentation site runs as a user would run it, against the
local sandbox over HTTP (``COMETAPI_BASE_URL`` and ``COMETAPI_KEY`` set as `cometapi-replicate
sandbox` prints them), and passes ``mypy --strict`` in a project of its own. An example that
defines ``test_`` functions is a user's pytest module and runs under pytest."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.generate import ROOT

from .test_readme_types import mypy_strict


def examples() -> dict[str, str]:
    """Every ``python`` block of every page, named after its page and place."""
    found = {}
    for page in sorted((ROOT / "docs").rglob("*.md")):
        blocks = re.findall(r"```python\n(.*?)```", page.read_text("utf-8"), re.S)
        stem = "_".join(page.relative_to(ROOT / "docs").with_suffix("").parts).replace("-", "_")
        for number, block in enumerate(blocks, 1):
            prefix = "test_" if re.search(r"^def test_", block, re.M) else "example_"
            found[f"{prefix}{stem}_{number}"] = block
    return found


EXAMPLES = examples()


def test_the_site_has_examples() -> None:
    assert len(EXAMPLES) >= 2 and any(name.startswith("test_") for name in EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_runs_against_the_sandbox(
    name: str, env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / f"{name}.py"
    script.write_text(EXAMPLES[name], "utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", script.name]
    if not name.startswith("test_"):
        command = [sys.executable, script.name]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_the_examples_pass_mypy_strict(tmp_path: Path) -> None:
    result = mypy_strict(tmp_path, EXAMPLES)
    assert result.returncode == 0, result.stdout + result.stderr
