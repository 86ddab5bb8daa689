"""``make api-check``: the public surface against the last release, with griffe's breakage check.

Each breakage griffe finds between the release (its commit, read with ``git archive``) and the
working tree must be listed in ``tools/api-accepted-breakages.txt``, the breaking changes the
next release makes on purpose (and names in CHANGELOG.md). Anything else fails the check. A
clone without the release's commit (a shallow one) skips the check and says so.

Usage: ``python -m tools.api_check [--list]`` (``--list``: print every breakage as a line of the
accepted file, to review and copy).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import griffe

ROOT = Path(__file__).resolve().parent.parent
RELEASE, COMMIT = "0.1.0", "f4d775ec07188be64717a144a5bbb1140136ddf9"
ACCEPTED = ROOT / "tools" / "api-accepted-breakages.txt"
PACKAGE = "cometapi_replicate"


def has_commit(commit: str) -> bool:
    done = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True
    )
    return done.returncode == 0


def breakage_line(breakage: griffe.Breakage) -> str:
    """``KIND object.path`` and, for a parameter, ``(name)``: one line of the accepted file."""
    line = f"{breakage.kind.name} {breakage.obj.path}"
    parameter = breakage.old_value if breakage.old_value is not None else breakage.new_value
    if isinstance(parameter, griffe.Parameter):
        line += f" ({parameter.name})"
    return line


def breakages(release_tree: Path) -> Iterator[str]:
    old = griffe.load(PACKAGE, search_paths=[release_tree / "src"], resolve_aliases=True)
    new = griffe.load(PACKAGE, search_paths=[ROOT / "src"], resolve_aliases=True)
    for breakage in griffe.find_breaking_changes(old, new):
        yield breakage_line(breakage)


def accepted() -> set[str]:
    lines = ACCEPTED.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def main(argv: list[str]) -> int:
    if not has_commit(COMMIT):
        print(
            f"api-check skipped: the release {RELEASE} (commit {COMMIT[:7]}) is not in this "
            "clone (a shallow clone?); `git fetch --unshallow` to run it"
        )
        return 0
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", COMMIT, "src"], cwd=ROOT, capture_output=True
        )
        archive.check_returncode()
        tar = Path(folder) / "release.tar"
        tar.write_bytes(archive.stdout)
        with tarfile.open(tar) as release:
            release.extractall(folder, filter="data")
        found = sorted(set(breakages(Path(folder))))
    if argv == ["--list"]:
        print("\n".join(found))
        return 0
    unlisted = [line for line in found if line not in accepted()]
    stale = sorted(accepted() - set(found))
    for line in stale:
        print(f"note: accepted but no longer found (remove it): {line}")
    if unlisted:
        print(f"The public surface breaks {RELEASE} in ways not accepted in {ACCEPTED.name}:")
        print("\n".join(f"  {line}" for line in unlisted))
        print("Undo the change, or add the lines (and a CHANGELOG entry) to accept it.")
        return 1
    print(f"api-check: {len(found)} breakage(s) of {RELEASE}, all accepted in {ACCEPTED.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
