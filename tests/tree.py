"""Copies of the project's tree, for tests that run its Makefile as a developer would.

A copy holds the files as they are now (committed or not), without the virtual environment,
build outputs or caches. ``make_in`` runs make there with the current environment (no second
install: ``VENV`` points at it, ``STAMP`` at a marker in the copy) and with the copy's own
``src/`` and ``generated/`` first on the import paths, since the environment's editable install
points at this tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.generate import ROOT

IGNORED = (
    ".git",
    ".venv",
    "build",
    "dist",
    "demo-output",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "*.pyc",
    ".coverage*",
)
INNER = "COMETAPI_REPLICATE_INNER_RUN"
"""Set in a copy's environment: the test run there leaves out the tests that copy the tree."""


def copy_tree(dest: Path) -> Path:
    """Copy the work tree to ``dest``; returns ``dest``."""
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*IGNORED))
    (dest / ".stamp").touch()  # newer than the copy's pyproject.toml: make installs nothing
    return dest


def commit_tree(dest: Path) -> Path:
    """A copy of the work tree as a git repository with everything committed (a clean tree)."""
    return commit(copy_tree(dest), "snapshot")


def commit(tree: Path, message: str) -> Path:
    """Commit everything in ``tree`` (a git repository from then on); returns ``tree``."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run([*git, *command], cwd=tree, check=True, capture_output=True)
    return tree


MAKE_VARIABLES = ("SPEC", "ALLOW_BREAKING", "SKIP_TESTS", "VERSION", "SCHEMA", "MODEL", "SOURCE")
"""What the Makefile's targets read: make exports those given on its command line, so the
tests `make update-spec SPEC=... ALLOW_BREAKING=1` runs would pass them on to the copy."""


def copy_env(copy: Path, **extra: str) -> dict[str, str]:
    # Not the pytest or coverage state of this run, nor the make variables it was started
    # with: the copy is another project.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "COVERAGE_")) and k not in MAKE_VARIABLES
    }
    paths = os.pathsep.join(str(copy / part) for part in ("src", "generated"))
    env.update(PYTHONPATH=paths, MYPYPATH=str(copy / "generated"), **{INNER: "1"}, **extra)
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)
    return env


def make_in(
    copy: Path, *args: str, timeout: float = 600, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``make ARGS`` in ``copy`` with this environment's tools; output captured."""
    venv = Path(sys.executable).parent.parent
    command = ["make", "--no-print-directory", f"VENV={venv}", f"STAMP={copy / '.stamp'}", *args]
    return subprocess.run(
        command,
        cwd=copy,
        env=copy_env(copy, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
