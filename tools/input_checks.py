"""The SDK's input checks over a bundle of public model objects (a JSON array, as the npm
package all-the-public-replicate-models ships in ``models.json``).

    python -m tools.input_checks BUNDLE [--show N]

For each model: its document read (``inputs`` describes every field, the output's shape), its
``default_example.input`` checked, and that input written as ``-i`` text and read back by the
schema (``coerce``), which must check again. Prints how many examples pass, the refusals by
reason with a few models each, and whether the refused example was made with another version of
the model than the document's (an input since renamed or removed). Any crash is a bug.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from cometapi_replicate._model_inputs import MISSING, ModelSchema


def as_text(schema: ModelSchema, model_input: dict[str, Any]) -> dict[str, Any]:
    """The input written as ``-i key=value`` text, one ``-i`` per array item, read back."""
    read: dict[str, Any] = {}
    for key, value in model_input.items():
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        previous: Any = MISSING
        for item in items:
            text = item if isinstance(item, str) else json.dumps(item)
            previous = schema.coerce(key, text, previous)
        read[key] = previous if items else schema.coerce(key, "[]")
    return read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--show", type=int, default=3, help="models shown per reason")
    args = parser.parse_args(argv)
    models = json.loads(args.bundle.read_text("utf-8"))
    passed = refused = crashed = reread = 0
    reasons: collections.Counter[str] = collections.Counter()
    shown: dict[str, list[str]] = collections.defaultdict(list)
    versions: collections.Counter[str] = collections.Counter()
    for model in models:
        name = f"{model.get('owner')}/{model.get('name')}"
        try:
            latest = model.get("latest_version") or {}
            document = latest.get("openapi_schema") or {}
            schema = ModelSchema(name, document.get("components", {}).get("schemas", {}))
            for spec in schema.fields:
                assert spec.accepts, spec
                assert spec.type, spec
            schema.output()
            example = (model.get("default_example") or {}).get("input") or {}
            problems = schema.problems(example)
            if not problems:
                passed += 1
                reread += not schema.problems(as_text(schema, example))
                continue
            refused += 1
            same = (model.get("default_example") or {}).get("version") == latest.get("id")
            versions["the document's version" if same else "another version"] += 1
            for field, problem in problems:
                reason = problem.split(";")[0].split("(")[0].strip()
                reasons[reason] += 1
                if len(shown[reason]) < args.show:
                    shown[reason].append(f"{name} {field}: {problem}"[:160])
        except Exception:
            crashed += 1
            print(f"CRASH {name}", file=sys.stderr)
            traceback.print_exc()
    print(f"{len(models)} models: {passed} examples pass, {refused} refused, {crashed} crashed")
    print(f"{reread} of the {passed} read back from -i text and pass again")
    print("refused examples were made with: " + ", ".join(f"{v} {k}" for k, v in versions.items()))
    for reason, count in reasons.most_common():
        print(f"{count:5d} {reason}")
        for line in shown[reason]:
            print(f"        {line}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
