"""The public surface as text: every name of ``cometapi_replicate.__all__`` and
``cometapi_replicate.testing.__all__`` with its kind and signature, and each public class's
public members with theirs.

``tests/project/test_public_api.py`` holds the package to ``tests/fixtures/public-api.txt``. A
change to the surface is a decision: make it, then write the snapshot anew and commit it with
the change::

    .venv/bin/python -m tools.public_api --write

(``make api-check`` compares the surface with the last release.)
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "fixtures" / "public-api.txt"
MODULES = ("cometapi_replicate", "cometapi_replicate.testing")
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def _signature(obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    return _ADDRESS.sub("", text)


def _members(cls: type) -> list[str]:
    """The public members a class defines or inherits from the SDK (not from builtins, nor the
    generated models, whose fields follow the vendored document)."""
    owners = [k for k in cls.__mro__ if k.__module__.split(".")[0] == "cometapi_replicate"]
    fields = getattr(cls, "__dataclass_fields__", {})
    annotated = {n: a for k in owners for n, a in vars(k).get("__annotations__", {}).items()}
    names = {n for k in owners for n in vars(k) if not n.startswith("_") or n in _DUNDERS}
    lines = []
    for name in sorted(names | {n for n in annotated if not n.startswith("_")}):
        raw = next((vars(k)[name] for k in owners if name in vars(k)), None)
        if isinstance(raw, property):
            returns = inspect.signature(raw.fget).return_annotation if raw.fget else "?"
            lines.append(f"    property {name} -> {returns}")
        elif isinstance(raw, staticmethod | classmethod) or callable(raw):
            lines.append(f"    method {name}{_signature(getattr(cls, name))}")
        elif isinstance(cls, enum.EnumMeta) and name in cls.__members__:
            lines.append(f"    member {name} = {cls[name].value!r}")
        elif name not in fields:
            lines.append(f"    attribute {name}: {annotated.get(name, type(raw).__name__)}")
    return lines


_DUNDERS = {"__init__", "__call__", "__iter__", "__aiter__", "__enter__", "__aenter__", "__str__"}


def describe(module_name: str) -> list[str]:
    """One line per public name (classes: then one indented line per public member)."""
    module = importlib.import_module(module_name)
    lines = []
    for name in sorted(module.__all__):
        obj = getattr(module, name)
        if isinstance(obj, type):
            bases = ", ".join(b.__name__ for b in obj.__bases__)
            kind = "exception" if issubclass(obj, BaseException) else "class"
            lines.append(f"{module_name}.{name}: {kind}({bases})")
            lines.extend(_members(obj))
        elif inspect.isfunction(obj):
            lines.append(f"{module_name}.{name}: function{_signature(obj)}")
        else:
            lines.append(f"{module_name}.{name}: {type(obj).__name__}")
    return lines


def snapshot() -> str:
    return "".join(line + "\n" for module in MODULES for line in describe(module))


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        SNAPSHOT.write_text(snapshot(), encoding="utf-8")
        print(f"wrote {SNAPSHOT.relative_to(ROOT)}")
        return 0
    if argv:
        print("usage: python -m tools.public_api [--write]", file=sys.stderr)
        return 2
    sys.stdout.write(snapshot())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
