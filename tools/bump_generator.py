"""``make bump-generator VERSION=x.y.z``: move the openapi-python-client pin and regenerate.

1. rewrites the pin in ``pyproject.toml`` (the ``dev`` dependency group) and installs that
   version into the running environment;
2. regenerates ``generated/`` (the API package and the model packages): every patch in
   ``openapi/templates`` is applied to the new version's own templates, and one that no
   longer applies fails by name;
3. prints what changed in ``generated/``, and the httpx/attrs ranges the new generator's code
   asks for when they differ from the project's.

On failure the old pin, the old generator and the old ``generated/`` are put back.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import generate_models
from tools.generate import PACKAGE, ROOT, TARGET, GenerateError, generate, tree_diff
from tools.templates import stock_templates

PYPROJECT = ROOT / "pyproject.toml"
PIN = re.compile(r'"openapi-python-client==(?P<version>[^"]+)"')
VERSION = re.compile(r"\d+\.\d+\.\d+")
RUNTIME = ("httpx", "attrs")


class BumpError(Exception):
    pass


def current_pin(text: str) -> str:
    found = PIN.findall(text)
    if len(found) != 1:
        raise BumpError(
            f"expected one openapi-python-client==... pin in pyproject.toml, not {found}"
        )
    return str(found[0])


def move_pin(text: str, version: str) -> str:
    current_pin(text)
    return PIN.sub(f'"openapi-python-client=={version}"', text)


def install(version: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        f"openapi-python-client=={version}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BumpError(f"cannot install openapi-python-client {version}:\n{result.stderr.strip()}")


def runtime_ranges(pyproject_template: str) -> dict[str, str]:
    """``{"httpx": ">=0.23.1,<0.29.0", ...}`` from a generator's pyproject template."""
    ranges: dict[str, str] = {}
    for name in RUNTIME:
        match = re.search(rf'"{name}(?P<spec>[<>=!~][^"]*)"', pyproject_template)
        if match:
            ranges[name] = match["spec"]
    return ranges


def range_notes(project: str, template: str) -> list[str]:
    ours, theirs = runtime_ranges(project), runtime_ranges(template)
    return [
        f"the new generator's code asks for {name}{spec}; pyproject.toml says "
        f"{name}{ours.get(name, ' (nothing)')}: check [project] dependencies"
        for name, spec in theirs.items()
        if ours.get(name) != spec
    ]


def summary(diff: str, package: str = PACKAGE) -> list[str]:
    files = re.findall(r"^\+\+\+ regenerated/(\S+)", diff, re.M)
    added = sum(1 for line in diff.splitlines() if line.startswith("+") and line[:3] != "+++")
    removed = sum(1 for line in diff.splitlines() if line.startswith("-") and line[:3] != "---")
    return [f"  generated/{package}/{name}" for name in files] + [
        f"{len(files)} file(s) changed, +{added} -{removed} lines"
    ]


def regenerate_models() -> None:
    """``generated/cometapi_replicate_models`` from a new interpreter: the model packages are
    generated in-process, and this one may hold the previous generator's modules."""
    command = [sys.executable, "-c", "from tools.generate_models import generate_models as g; g()"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BumpError(f"the model packages failed to generate:\n{result.stderr.strip()}")


def bump(version: str) -> int:
    if not VERSION.fullmatch(version):
        raise BumpError(f"VERSION must look like 1.2.3, not {version!r}")
    text = PYPROJECT.read_text("utf-8")
    old = current_pin(text)
    models = generate_models.TARGET
    with tempfile.TemporaryDirectory() as tmp:
        before, models_before = Path(tmp) / PACKAGE, Path(tmp) / generate_models.PACKAGE
        shutil.copytree(TARGET, before)
        shutil.copytree(models, models_before)
        try:
            PYPROJECT.write_text(move_pin(text, version), "utf-8")
            install(version)
            generate(TARGET)
            regenerate_models()
        except (BumpError, GenerateError) as exc:
            PYPROJECT.write_text(text, "utf-8")
            for saved, target in ((before, TARGET), (models_before, models)):
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(saved, target)
            install(old)
            raise BumpError(f"{exc}\nnothing changed: still openapi-python-client {old}") from None
        diffs = {
            PACKAGE: tree_diff(TARGET, before),
            generate_models.PACKAGE: tree_diff(models, models_before, generate_models.PACKAGE),
        }
    print(f"openapi-python-client {old} -> {version}")
    for package, diff in diffs.items():
        if diff:
            print(diff, end="")
            print("\n".join(summary(diff, package)))
        else:
            print(f"generated/{package} is unchanged")
    template = (stock_templates() / "pyproject_uv.toml.jinja").read_text("utf-8")
    for note in range_notes(text, template):
        print(f"note: {note}")
    print("Next: make ci, then name the bump in CHANGELOG.md.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("version", help="the openapi-python-client version to pin, e.g. 0.29.1")
    args = parser.parse_args(argv)
    try:
        return bump(args.version)
    except BumpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
