"""``make update-spec SPEC=<path or URL>``: take a new version of one vendored document.

1. reads the new document and checks that it is valid OpenAPI;
2. applies the overlay to it (an action that no longer matches fails here, by name);
3. prints the change report against the current document and refuses a breaking change
   unless ``ALLOW_BREAKING=1``;
4. replaces the vendored file byte for byte, records its provenance (source, date, sha256)
   in ``openapi/provenance.json``, regenerates ``generated/``, names the generated files that
   changed (or says the generated code did not) and runs the tests.

Nothing is written before step 4. Which vendored file is replaced follows from the new
document's operationIds (or ``--target``).

``--check`` (``make check-spec``) stops after step 3 and writes nothing: exit 0 when the
vendored document is current, 1 when an update is available (the report says whether it is
breaking; an overlay that no longer fits is one too), 2 when the document cannot be read or is
not an OpenAPI document standing for a vendored one.

A document is read whole within ``FETCH_SECONDS`` and ``MAX_BYTES``, and refused before it is
validated when it expands to more than ``MAX_VALUES`` values (YAML aliases), nests too deeply,
or has a ``$ref`` that is not local (``#/...``): checking a document reaches no other host.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing.exceptions import Unresolvable

from tools import provenance
from tools.generate import DOCUMENTS, OPENAPI, ROOT, TARGET, GenerateError, build_spec, generate
from tools.overlay import OverlayError
from tools.spec_report import Report, compare


class UpdateError(Exception):
    """The update was refused or failed; nothing (or, after tests, only generation) changed."""


class OverlayDriftError(UpdateError):
    """The overlay no longer fits the new document: upstream moved what an action corrects."""


MAX_BYTES = 10 << 20
"""A larger document (file or download) is refused."""
FETCH_SECONDS = 60.0
"""A download must finish within this time (a stalled read also ends after it)."""
MAX_VALUES = 1_000_000
"""A document that expands to more values (YAML aliases repeat what they name) is refused."""


def read_source(source: str, clock: Callable[[], float] = time.monotonic) -> bytes:
    """The document at ``source`` (a path or an http(s) URL), at most ``MAX_BYTES``, a
    download within ``FETCH_SECONDS`` of ``clock``."""
    if not source.startswith(("http://", "https://")):
        with Path(source).open("rb") as file:
            data = file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise _too_large()
        return data
    deadline = clock() + FETCH_SECONDS
    body = bytearray()
    with httpx.stream("GET", source, follow_redirects=True, timeout=FETCH_SECONDS) as response:
        response.raise_for_status()
        announced = response.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > MAX_BYTES:
            raise _too_large()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                raise _too_large()
            if clock() > deadline:
                raise UpdateError(f"the download took more than {FETCH_SECONDS:g} s: refused")
    return bytes(body)


def _too_large() -> UpdateError:
    return UpdateError(f"the document is larger than {MAX_BYTES} bytes: refused")


def refuse_hostile(document: object) -> None:
    """Refuse a document that expands to more than ``MAX_VALUES`` values or has a ``$ref``
    that is not local, before anything walks it recursively or follows a reference."""
    pending, count = [document], 0
    while pending:
        value = pending.pop()
        count += 1
        if count > MAX_VALUES:
            raise UpdateError(
                f"the document expands to more than {MAX_VALUES} values (YAML aliases?)"
            )
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                raise UpdateError(f"only local references (#/...) are followed, not $ref {ref!r}")
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def operation_ids(document: dict[str, object]) -> set[str]:
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return set()
    return {
        op["operationId"]
        for item in paths.values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def choose_target(document: dict[str, object], openapi_dir: Path) -> str:
    new_ids = operation_ids(document)
    for name in DOCUMENTS:
        if operation_ids(yaml.safe_load((openapi_dir / name).read_text("utf-8"))) & new_ids:
            return name
    raise UpdateError("the new document shares no operationId with a vendored one: pass --target")


def plan_update(
    text: bytes, openapi_dir: Path = OPENAPI, target: str | None = None
) -> tuple[str, Report]:
    """Check the new document and report on it; writes nothing."""
    try:
        document = yaml.safe_load(text.decode("utf-8"))
        refuse_hostile(document)
        validate(document)
    except (UnicodeDecodeError, yaml.YAMLError, OpenAPIValidationError, TypeError) as exc:
        raise UpdateError(f"not a valid OpenAPI document: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise UpdateError("not a valid OpenAPI document: it nests too deeply") from None
    except Unresolvable as exc:
        raise UpdateError(
            f"not a valid OpenAPI document: a $ref points to nothing ({exc.ref})"
        ) from None
    name = target or choose_target(document, openapi_dir)
    if name not in DOCUMENTS:
        raise UpdateError(f"--target must be one of {', '.join(DOCUMENTS)}")
    current = [openapi_dir / n for n in DOCUMENTS]
    overlay = openapi_dir / "overlay.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / name
        candidate.write_bytes(text)
        try:
            new = build_spec([candidate if p.name == name else p for p in current], overlay)
        except OverlayError as exc:
            raise OverlayDriftError(
                f"the overlay no longer fits the new document: {exc}. Upstream fixed or moved "
                "what this action corrects: delete or retarget it in openapi/overlay.yaml."
            ) from None
    return name, compare(build_spec(current, overlay), new)


def apply_update(text: bytes, source: str, name: str, openapi_dir: Path, output: Path) -> list[str]:
    """Replace the vendored document, record where it came from, and regenerate; returns the
    generated files (relative to ``output``) whose code changed, ``spec_info.py`` aside (it
    records every new document)."""
    before = _files(output)
    (openapi_dir / name).write_bytes(text)
    provenance.record(openapi_dir, name, text, source)
    generate(output, [openapi_dir / n for n in DOCUMENTS], openapi_dir / "overlay.yaml")
    after = _files(output)
    return sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path) and path != "spec_info.py"
    )


def changes(files: list[str]) -> str:
    """What regenerating did, from the changed files ``apply_update`` returns."""
    if not files:
        return "no code changed (spec_info.py records the new document)"
    return f"{len(files)} file(s) changed: {', '.join(files)}"


def _files(root: Path) -> dict[str, bytes]:
    files = (p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def is_current(text: bytes, name: str, openapi_dir: Path) -> bool:
    """Whether ``text`` is the vendored document ``name``: the same content, however written
    (YAML or JSON, any layout)."""
    vendored: object = yaml.safe_load((openapi_dir / name).read_text("utf-8"))
    return bool(yaml.safe_load(text.decode("utf-8")) == vendored)


def show(report: Report, current: bool) -> None:
    print(report.format())
    if not report.changes and not current:
        print("The document changed, but nothing that reaches the generated code.")


def check(source: str, target: str | None = None) -> int:
    """``make check-spec``: the report of an update from ``source``; writes nothing."""
    try:
        text = read_source(source)
        name, report = plan_update(text, OPENAPI, target)
    except OverlayDriftError as exc:
        print(f"update available: {exc}")
        return 1
    except (UpdateError, OSError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    current = is_current(text, name, OPENAPI)
    show(report, current)
    if current:
        print(f"openapi/{name} is current")
        return 0
    allow = " ALLOW_BREAKING=1" if report.breaking else ""
    print(f"update available: make update-spec SPEC={source}{allow}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("spec", help="path or URL of the new document")
    parser.add_argument("--target", choices=DOCUMENTS, help="the vendored file it replaces")
    parser.add_argument("--skip-tests", action="store_true", help="do not run the tests afterwards")
    parser.add_argument(
        "--check", action="store_true", help="report only, write nothing: exit 0 current, 1 not"
    )
    args = parser.parse_args(argv)
    if args.check:
        return check(args.spec, args.target)
    try:
        text = read_source(args.spec)
        name, report = plan_update(text, OPENAPI, args.target)
        show(report, is_current(text, name, OPENAPI))
        if report.breaking and os.environ.get("ALLOW_BREAKING") != "1":
            raise UpdateError(
                "breaking changes: nothing was changed (ALLOW_BREAKING=1 to take them)"
            )
        changed = apply_update(text, args.spec, name, OPENAPI, TARGET)
        print(f"updated openapi/{name}; regenerated generated/: {changes(changed)}")
    except (UpdateError, GenerateError, OSError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.skip_tests:
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=ROOT, check=False)
        if tests.returncode != 0:
            print("error: the tests fail with the new document; `git diff` shows the update")
            return 1
    release = (
        f"Release it as a {report.bump} version bump (CHANGELOG.md)."
        if report.bump != "none"
        else "No version bump is implied: nothing that reaches the generated code changed."
    )
    print(f"\n{report.format()}\n{release}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
