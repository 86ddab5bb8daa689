"""The CPython versions the wheel is tested on, as this machine has them."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

SUPPORTED = ("3.11", "3.12", "3.13", "3.14")
PROBE = "import sys, venv; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"


def _candidates(version: str) -> list[str]:
    found = [path for path in (shutil.which(f"python{version}"),) if path]
    pyenv = shutil.which("pyenv")  # pyenv's shims run only the selected versions
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        versions = Path(root.stdout.strip()) / "versions"
        found += sorted(str(p) for p in versions.glob(f"{version}.*/bin/python{version}"))
    return found


@functools.cache
def find(version: str) -> str | None:
    """A CPython ``version`` interpreter that runs and has venv, or None."""
    for path in _candidates(version):
        try:
            probe = subprocess.run(
                [path, "-c", PROBE], capture_output=True, text=True, timeout=30, check=False
            )
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.split() == ["cpython", version]:
            return path
    return None


def present() -> list[str]:
    return [v for v in SUPPORTED if find(v)]


def summary() -> str:
    absent = [v for v in SUPPORTED if not find(v)]
    line = f"wheel installed and run on CPython {', '.join(present()) or 'none'}"
    return line + (f"; not on this machine, so not tested: {', '.join(absent)}" if absent else "")
