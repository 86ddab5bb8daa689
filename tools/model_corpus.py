"""Model documents from a bundle of public model objects (a JSON array, as the npm package
all-the-public-replicate-models ships in ``models.json``), for vendoring and for trying the
model generation on every one of them.

    python -m tools.model_corpus extract BUNDLE owner/name... --out DIR
        write each model object to DIR/<owner>/<name>.json (JSON, indent 2, keys as in the
        bundle), for ``make add-model SCHEMA=DIR/<owner>/<name>.json``
    python -m tools.model_corpus run BUNDLE [--limit N] [--jobs N]
        generate every model of the bundle in a temporary tree, as ``make add-model`` does
        (one generator run per model), and count the models typed, not typed, refused
        (no usable document) and crashed (an exception, or a package that does not import);
        for each typed model with a default example, check that
        ``Input.from_dict(example).to_dict()`` gives the example back (or that ``from_dict``
        refuses an example that does not fit its own schema)

Nothing in the project is written by ``run``.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import sys
import tempfile
import traceback
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any

from tools import add_model
from tools import generate_models as gm
from tools.templates import patched_templates


def bundle(path: Path) -> list[dict[str, Any]]:
    models: Any = json.loads(path.read_text("utf-8"))
    if not isinstance(models, list):
        raise SystemExit(f"{path}: not a JSON array of model objects")
    return [m for m in models if isinstance(m, dict)]


def extract(path: Path, wanted: list[str], out: Path) -> int:
    by_id = {f"{m.get('owner')}/{m.get('name')}": m for m in bundle(path)}
    missing = [model for model in wanted if model not in by_id]
    for model in wanted:
        if model in by_id:
            target = out / f"{gm.check_model_id(model)}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(by_id[model], indent=2, ensure_ascii=False) + "\n"
            target.write_text(text, "utf-8")
            print(target)
    for model in missing:
        print(f"not in the bundle: {model}", file=sys.stderr)
    return 1 if missing else 0


def _start(root: Path) -> None:
    """A worker process imports the subpackages it writes from ``root``."""
    sys.path.insert(0, str(root))


def try_model(entry: dict[str, Any], root: Path, templates: Path) -> tuple[str, str, str]:
    """``(model, outcome, detail)``: outcome is typed, untyped, refused or crashed."""
    model = f"{entry.get('owner')}/{entry.get('name')}"
    text = (json.dumps(entry, indent=2) + "\n").encode()
    try:
        doc = add_model.read_document(text)
        dotted = gm.dotted_path(model)
    except (add_model.AddModelError, gm.ModelDocumentError) as exc:
        return model, "refused", str(exc)
    try:
        add_model.inputs_report(model, doc)
        if doc.model is not None:
            add_model.compare_models(model, doc, doc)
        package = root / gm.PACKAGE / dotted.replace(".", "/")
        result = gm.generate_model(doc, model, package, templates)
        (package.parent / "__init__.py").touch()
        if not result.typed:
            return model, "untyped", result.problem[:300]
        return model, "typed", _round_trip(root, dotted, doc.example)
    except Exception:  # the point of the corpus: any exception is a crash to fix
        return model, "crashed", traceback.format_exc()[-1500:]


def _round_trip(root: Path, dotted: str, example: dict[str, Any] | None) -> str:
    """Import the subpackage (``root`` is on ``sys.path``; a failure to import is a crash) and
    round-trip the example through its ``Input``, an input given as null counting as one not
    given, either way: empty when the example comes back, else ``differs: ...``
    or ``unfit: ...`` (``from_dict`` refuses it: the example does not fit its own schema)."""
    module = importlib.import_module(f"{gm.PACKAGE}.{dotted}")
    if example is None:
        return ""
    given = {k: v for k, v in example.items() if v is not None}
    try:
        typed = module.Input.from_dict(example)
    except (KeyError, ValueError, TypeError) as exc:
        return f"unfit: {type(exc).__name__}: {str(exc)[:200]}"
    back = json.loads(json.dumps(typed.to_dict(), default=_value))
    back = {k: v for k, v in back.items() if v is not None}
    if back != given:
        differ = sorted(k for k in given.keys() | back.keys() if given.get(k) != back.get(k))
        return f"differs: {differ[:6]}"
    return ""


def _value(member: Any) -> Any:
    return member.value


def run(path: Path, limit: int | None, jobs: int) -> int:
    models = bundle(path)[:limit]
    counts: collections.Counter[str] = collections.Counter()
    round_trips: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        root, templates = Path(tmp) / "tree", Path(tmp) / "templates"
        (root / gm.PACKAGE).mkdir(parents=True)
        (root / gm.PACKAGE / "__init__.py").write_text("", "utf-8")
        patched_templates(templates)
        with ProcessPoolExecutor(jobs, initializer=_start, initargs=(root,)) as pool:
            done = pool.map(try_model, models, repeat(root), repeat(templates), chunksize=8)
            for index, (model, outcome, detail) in enumerate(done, 1):
                counts[outcome] += 1
                if outcome == "typed":
                    round_trips[detail.split(":")[0] if detail else "same"] += 1
                if outcome != "typed" or detail:
                    print(f"{outcome:8} {model}: {detail.splitlines()[-1] if detail else ''}")
                if index % 100 == 0:
                    print(f"... {index}/{len(models)}: {dict(counts)}", flush=True)
    total = sum(counts.values())
    print(
        f"{total} models: {counts['typed']} typed, {counts['untyped']} not typed, "
        f"{counts['refused']} refused (no usable document), {counts['crashed']} crashed; "
        f"round trips of the typed models' examples: {round_trips['same']} same, "
        f"{round_trips['differs']} differ, {round_trips['unfit']} refused by from_dict "
        "(the example does not fit its own schema)"
    )
    return 1 if counts["crashed"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("extract", help="write model objects from the bundle to files")
    one.add_argument("bundle", type=Path)
    one.add_argument("models", nargs="+", help="owner/name")
    one.add_argument("--out", type=Path, required=True)
    every = commands.add_parser("run", help="generate every model of the bundle, count")
    every.add_argument("bundle", type=Path)
    every.add_argument("--limit", type=int)
    every.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "extract":
        return extract(args.bundle, args.models, args.out)
    return run(args.bundle, args.limit, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
