"""The wheel is what users install: both packages, typed, working outside the tree on every
CPython the project supports that this machine has, with metadata a registry shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cometapi_replicate import __version__
from tools.generate import ROOT

from .. import pythons

SMOKE = """
import cometapi_replicate, cometapi_replicate_api
print(cometapi_replicate.__file__)
print(cometapi_replicate_api.__file__)
print(cometapi_replicate.Prediction.from_dict({"id": "a", "status": "starting"}).id)
"""


def test_wheel_ships_both_packages_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "cometapi_replicate/py.typed" in names
    assert "cometapi_replicate_api/py.typed" in names
    assert "cometapi_replicate_api/models/prediction.py" in names
    assert "cometapi_replicate_models/py.typed" in names
    flux = "cometapi_replicate_models/black_forest_labs/flux_schnell"
    assert {f"{flux}/schema.py", f"{flux}/models/input_.py"} <= names
    assert not any(n.startswith(("tests/", "tools/")) or "__pycache__" in n for n in names)


def metadata(wheel: Path) -> str:
    info = f"cometapi_replicate-{__version__}.dist-info/METADATA"
    return zipfile.ZipFile(wheel).read(info).decode()


def test_dev_tools_are_a_dependency_group_not_an_extra(wheel: Path) -> None:
    extras = re.findall(r"^Provides-Extra: (\S+)$", metadata(wheel), re.M)
    assert sorted(extras) == ["cli", "sandbox"]
    requires = re.findall(r"^Requires-Dist: (.+)$", metadata(wheel), re.M)
    assert requires and not [r for r in requires if "pytest" in r], requires
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert "[dependency-groups]" in pyproject


def test_classifiers_name_each_python_version_tested(wheel: Path) -> None:
    text = metadata(wheel)
    classified = re.findall(r"^Classifier: Programming Language :: Python :: (3\.\d+)$", text, re.M)
    assert classified, "one classifier per supported Python version"
    assert set(classified) <= set(pythons.SUPPORTED)
    missing = [v for v in pythons.present() if v not in classified]
    assert not missing, f"tested on {missing} but no classifier says so"
    assert re.search(r"^Classifier: Development Status :: \d - \w+", text, re.M)
    assert re.search(r"^Project-URL: ", text, re.M)


@pytest.mark.parametrize("version", pythons.present())
def test_the_wheel_installs_and_runs_on_each_python(
    version: str, wheel: Path, tmp_path: Path
) -> None:
    interpreter = pythons.find(version)
    assert interpreter is not None
    env_dir = tmp_path / "venv"
    subprocess.run([interpreter, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, cwd=tmp_path
    )
    result = subprocess.run(
        [str(python), "-I", "-c", SMOKE], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    first, second, parsed = result.stdout.split()
    for location in (first, second):
        assert Path(location).is_relative_to(env_dir), location
    assert parsed == "a"
    cli = subprocess.run(
        [str(env_dir / "bin" / "cometapi-replicate"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert cli.stdout.strip() == f"cometapi-replicate {__version__}"
    # The licence is a PEP 639 License-Expression, which recent pips show (the one `make
    # install` puts in .venv does); a venv's bundled pip may be older, so ours is asked.
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "show",
            "--verbose",
            "cometapi-replicate",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"^License-Expression: MIT$", shown, re.M), shown
    assert f"Programming Language :: Python :: {version}" in shown
    assert "API documentation, https://apidoc.cometapi.com" in shown


def test_importing_the_package_leaves_attrs_and_the_generated_models_for_the_first_use() -> None:
    """``import cometapi_replicate`` costs httpx and little more: attrs and the generated
    package load when a prediction is first named or read, and the names are the same."""
    probe = """
import sys
import cometapi_replicate as sdk
def loaded():
    return sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in (
        "attr", "attrs", "cometapi_replicate_api")})
print(loaded())
from cometapi_replicate import Prediction
from cometapi_replicate_api.models import Prediction as Generated
from cometapi_replicate_api.spec_info import SPECS
print(loaded(), Prediction is Generated, sdk.SPECS is SPECS)
query = SPECS["replicate-query.openapi.yaml"]
print(sdk.SPEC_VERSION == query["version"], sdk.SPEC_SHA256 == query["sha256"])
print("Prediction" in dir(sdk), "SPEC_VERSION" in dir(sdk))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE", "COVERAGE_"))}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.splitlines() == [
        "[]",
        "['attr', 'attrs', 'cometapi_replicate_api'] True True",
        "True True",
        "True True",
    ]


def test_importing_the_package_leaves_batches_downloads_and_asyncio_for_later() -> None:
    """``import cometapi_replicate`` loads what a ``get`` needs; the rest comes on first use."""
    probe = """
import sys
import cometapi_replicate as sdk
later = ("asyncio", "sqlite3", "httpcore", "cometapi_replicate._batch.scheduler",
         "cometapi_replicate._batch.runner", "cometapi_replicate._batch.journal",
         "cometapi_replicate._download", "cometapi_replicate._outputs",
         "cometapi_replicate._staging", "cometapi_replicate._cli.main",
         "cometapi_replicate_models", "cometapi_replicate._model_inputs", "difflib")
print(sorted(m for m in later if m in sys.modules))
from cometapi_replicate import Batch, JournalError
print(Batch.__module__, JournalError.__module__, sdk.BatchSummary.__name__, "Batch" in dir(sdk))
try:
    sdk.nothing_here
except AttributeError as error:
    print(error)
"""
    # Without the suite's subprocess coverage, which loads sqlite3 for its own data file.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE", "COVERAGE_"))}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.splitlines() == [
        "[]",
        "cometapi_replicate._batch.runner cometapi_replicate._errors BatchSummary True",
        "module 'cometapi_replicate' has no attribute 'nothing_here'",
    ]
