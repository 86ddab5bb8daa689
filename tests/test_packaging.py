"""The wheel is what users install: it must carry both packages and work outside the tree."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tools.generate import ROOT


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("cometapi_replicate-*.whl")
    return path


def test_wheel_ships_both_packages_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "cometapi_replicate/py.typed" in names
    assert "cometapi_replicate_api/py.typed" in names
    assert "cometapi_replicate_api/models/prediction.py" in names
    assert not any(n.startswith(("tests/", "tools/")) or "__pycache__" in n for n in names)


def test_wheel_installs_and_imports_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, cwd=tmp_path
    )
    script = (
        "import cometapi_replicate, cometapi_replicate_api;"
        "print(cometapi_replicate.__file__); print(cometapi_replicate_api.__file__);"
        "print(cometapi_replicate.Prediction.from_dict({'id': 'a', 'status': 'starting'}).id)"
    )
    result = subprocess.run(
        [str(python), "-I", "-c", script], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    first, second, parsed = result.stdout.split()
    for location in (first, second):
        assert Path(location).is_relative_to(env_dir), location
    assert parsed == "a"
