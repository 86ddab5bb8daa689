"""What changed between two versions of the API description, and what it means for SDK users.

``compare(old, new)`` takes two OpenAPI documents as the generator sees them (merged, overlay
applied) and returns a :class:`Report`: operations added or removed; fields added, removed or
retyped; required-ness, nullability and enum changes, each marked breaking or not, and the
semantic-version bump they imply. A change to a schema that operations share through
``$ref`` (``Prediction``) is one change, naming the operations it affects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
Direction = Literal["request", "response"]


@dataclass(frozen=True)
class Change:
    where: str
    what: str
    breaking: bool
    affects: tuple[str, ...] = ()
    """For a change to a shared schema: the operations (and responses) that use it."""

    def __str__(self) -> str:
        mark = "BREAKING    " if self.breaking else "non-breaking"
        line = f"  [{mark}] {self.where}: {self.what}"
        return f"{line}\n      affects: {'; '.join(self.affects)}" if self.affects else line


@dataclass
class Report:
    old_version: str
    new_version: str
    changes: list[Change] = field(default_factory=list)
    # (schema $ref, direction) -> where it is used, filled while operations are compared
    _shared: dict[tuple[str, Direction], list[str]] = field(default_factory=dict, repr=False)
    subject: str = "API description"
    """What changed, named on the report's first line (a model id for a model's document)."""

    @property
    def breaking(self) -> bool:
        return any(c.breaking for c in self.changes)

    @property
    def bump(self) -> Literal["major", "minor", "patch", "none"]:
        """The semantic-version bump the changes imply for the SDK."""
        if self.breaking:
            return "major"
        if any(c.what != "documentation changed" for c in self.changes):
            return "minor"
        return "patch" if self.changes else "none"

    def format(self) -> str:
        lines = [f"{self.subject} {self.old_version} -> {self.new_version}"]
        lines += [str(c) for c in self.changes] or ["  no changes"]
        verdict = "BREAKING" if self.breaking else "not breaking"
        lines.append(f"{len(self.changes)} change(s), {verdict}; implied version bump: {self.bump}")
        return "\n".join(lines)


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> Report:
    report = Report(
        str(old.get("info", {}).get("version")), str(new.get("info", {}).get("version"))
    )
    old_ops, new_ops = dict(_operations(old)), dict(_operations(new))
    for key in sorted(old_ops.keys() - new_ops.keys()):
        report.changes.append(Change(key, "operation removed", True))
    for key in sorted(new_ops.keys() - old_ops.keys()):
        report.changes.append(Change(key, "operation added", False))
    for key in sorted(old_ops.keys() & new_ops.keys()):
        _compare_operation(report, key, old, old_ops[key], new, new_ops[key])
    _compare_shared(report, old, new)
    if not report.changes and _strip_info(old) != _strip_info(new):
        report.changes.append(Change("document", "documentation changed", False))
    return report


def compare_schemas(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    roots: Mapping[str, Direction],
    subject: str,
    versions: tuple[str, str],
) -> Report:
    """The report on the component schemas ``roots`` (name -> direction) of two documents
    without operations, as a model's ``Input`` (request) and ``Output`` (response)."""
    report = Report(*versions, subject=subject)
    for name, direction in roots.items():
        ref = {"$ref": f"#/components/schemas/{name}"}
        was, now = _resolve(old, ref), _resolve(new, ref)
        if was and not now:
            report.changes.append(Change(name, "schema removed", True))
        elif now and not was:
            report.changes.append(Change(name, "schema added", False))
        elif was and now:
            _compare_schema(report, name, old, was, new, now, direction)
    _compare_shared(report, old, new)
    if not report.changes and old != new:
        report.changes.append(Change("document", "documentation changed", False))
    return report


def _compare_shared(report: Report, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Compare each shared schema once, in the order first met; those it uses in turn follow."""
    done: set[tuple[str, Direction]] = set()
    while pending := [key for key in report._shared if key not in done]:
        ref, direction = key = pending[0]
        done.add(key)
        name = ref.rsplit("/", 1)[-1]
        found = Report(report.old_version, report.new_version, _shared=report._shared)
        _compare_schema(
            found,
            name,
            old,
            _resolve(old, {"$ref": ref}),
            new,
            _resolve(new, {"$ref": ref}),
            direction,
        )
        affects = tuple(_group_uses(report._shared[key]))
        report.changes += [Change(c.where, c.what, c.breaking, affects) for c in found.changes]


def _group_uses(uses: list[str]) -> list[str]:
    """``["GET /a response 200", "POST /b response 200", "POST /b response 201"]`` ->
    ``["GET /a (response 200)", "POST /b (response 200, 201)"]``."""
    grouped: dict[str, list[str]] = {}
    for use in uses:
        where, _, what = use.rpartition(" response ")
        if where:
            grouped.setdefault(where, []).append(what)
        else:
            grouped.setdefault(use, [])
    return [
        f"{where} (response {', '.join(codes)})" if codes else where
        for where, codes in grouped.items()
    ]


def _strip_info(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "info"}


def _operations(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def _compare_operation(
    report: Report,
    key: str,
    old_doc: Any,
    old: Mapping[str, Any],
    new_doc: Any,
    new: Mapping[str, Any],
) -> None:
    old_params = {(p.get("in"), p.get("name")): p for p in old.get("parameters", [])}
    new_params = {(p.get("in"), p.get("name")): p for p in new.get("parameters", [])}
    for where, name in sorted(old_params.keys() - new_params.keys()):
        report.changes.append(Change(key, f"{where} parameter `{name}` removed", True))
    for where, name in sorted(new_params.keys() - old_params.keys()):
        required = bool(new_params[(where, name)].get("required"))
        report.changes.append(
            Change(
                key,
                f"{where} parameter `{name}` added ({'required' if required else 'optional'})",
                required,
            )
        )
    for pkey in sorted(old_params.keys() & new_params.keys()):
        schemas = (old_params[pkey].get("schema", {}), new_params[pkey].get("schema", {}))
        _compare_schema(
            report,
            f"{key} {pkey[0]} parameter `{pkey[1]}`",
            old_doc,
            schemas[0],
            new_doc,
            schemas[1],
            "request",
        )
    old_body, new_body = _json_schema(old.get("requestBody")), _json_schema(new.get("requestBody"))
    if old_body is not None and new_body is not None:
        _compare_schema(
            report, f"{key} request body", old_doc, old_body, new_doc, new_body, "request"
        )
    old_codes, new_codes = old.get("responses", {}), new.get("responses", {})
    for code in sorted(set(old_codes) - set(new_codes)):
        report.changes.append(Change(key, f"response {code} removed", str(code).startswith("2")))
    for code in sorted(set(new_codes) - set(old_codes)):
        report.changes.append(Change(key, f"response {code} added", False))
    for code in sorted(set(old_codes) & set(new_codes)):
        old_schema, new_schema = _json_schema(old_codes[code]), _json_schema(new_codes[code])
        if old_schema is not None and new_schema is not None:
            _compare_schema(
                report,
                f"{key} response {code}",
                old_doc,
                old_schema,
                new_doc,
                new_schema,
                "response",
            )


def _json_schema(container: Any) -> Any:
    if not isinstance(container, Mapping):
        return None
    return container.get("content", {}).get("application/json", {}).get("schema")


def _resolve(doc: Mapping[str, Any], schema: Any, depth: int = 0) -> Mapping[str, Any]:
    while isinstance(schema, Mapping) and "$ref" in schema and depth < 32:
        node: Any = doc
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
        schema, depth = node, depth + 1
    return schema if isinstance(schema, Mapping) else {}


def _types(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(str(t) for t in declared)
    if schema.get("nullable") is True:
        found.add("null")
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, []):
            found |= _types(doc, _resolve(doc, branch))
    return found


def _branches(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    subs = [_resolve(doc, b) for key in ("anyOf", "oneOf") for b in schema.get(key, [])]
    return [schema, *subs]


def _compare_schema(
    report: Report,
    where: str,
    old_doc: Mapping[str, Any],
    old_raw: Any,
    new_doc: Mapping[str, Any],
    new_raw: Any,
    direction: Direction,
    depth: int = 0,
) -> None:
    if depth > 16:
        return
    ref = _shared_ref(old_raw, new_raw)
    if ref is not None:  # compared once, with every use, by _compare_shared
        uses = report._shared.setdefault((ref, direction), [])
        if where not in uses:
            uses.append(where)
        return
    old, new = _resolve(old_doc, old_raw), _resolve(new_doc, new_raw)
    response = direction == "response"
    old_types, new_types = _types(old_doc, old), _types(new_doc, new)
    if old_types - {"null"} != new_types - {"null"} and old_types and new_types:
        shown = " | ".join(sorted(old_types)), " | ".join(sorted(new_types))
        report.changes.append(Change(where, f"retyped: {shown[0]} -> {shown[1]}", True))
        return
    if ("null" in old_types) != ("null" in new_types):
        now_nullable = "null" in new_types
        # A response that may now be null breaks readers; a request that may no longer be
        # null breaks writers.
        breaking = now_nullable if response else not now_nullable
        report.changes.append(
            Change(where, "now nullable" if now_nullable else "no longer nullable", breaking)
        )
    _compare_enum(report, where, old.get("enum"), new.get("enum"), response)
    _compare_bounds(report, where, old, new, response)
    old_props: dict[str, Any] = {}
    new_props: dict[str, Any] = {}
    for branch in _branches(old_doc, old):
        old_props.update(branch.get("properties", {}))
    for branch in _branches(new_doc, new):
        new_props.update(branch.get("properties", {}))
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(old_props.keys() - new_props.keys()):
        report.changes.append(Change(where, f"field `{name}` removed", True))
    for name in sorted(new_props.keys() - old_props.keys()):
        required = name in new_req
        breaking = required and not response
        state = "required" if required else "optional"
        report.changes.append(Change(where, f"field `{name}` added ({state})", breaking))
    for name in sorted(old_props.keys() & new_props.keys()):
        was, now = name in old_req, name in new_req
        if was != now:
            # A response field that may now be missing breaks readers; a request field that
            # must now be sent breaks writers.
            breaking = (was and not now) if response else (now and not was)
            text = f"field `{name}` {'now required' if now else 'no longer required'}"
            report.changes.append(Change(where, text, breaking))
        _compare_schema(
            report,
            f"{where}.{name}",
            old_doc,
            old_props[name],
            new_doc,
            new_props[name],
            direction,
            depth + 1,
        )
    old_items = next((b["items"] for b in _branches(old_doc, old) if "items" in b), None)
    new_items = next((b["items"] for b in _branches(new_doc, new) if "items" in b), None)
    if old_items is not None and new_items is not None:
        _compare_schema(
            report, f"{where}[]", old_doc, old_items, new_doc, new_items, direction, depth + 1
        )


def _shared_ref(old: Any, new: Any) -> str | None:
    """The component schema both sides refer to, if they refer to the same one."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        ref = old.get("$ref")
        if isinstance(ref, str) and ref == new.get("$ref") and ref.startswith("#/components/"):
            return ref
    return None


def _compare_enum(report: Report, where: str, old: Any, new: Any, response: bool) -> None:
    if old == new:
        return
    if old is None:
        # Generated parsers reject values outside an enum: a response that gains one can
        # fail on values it used to accept (Replicate has spelled statuses differently).
        report.changes.append(Change(where, f"enum added: {new}", True))
        return
    if new is None:
        report.changes.append(Change(where, "enum removed", response))
        return
    added, removed = [v for v in new if v not in old], [v for v in old if v not in new]
    if added:
        report.changes.append(Change(where, f"enum values added: {added}", response))
    if removed:
        report.changes.append(Change(where, f"enum values removed: {removed}", not response))


def _compare_bounds(
    report: Report, where: str, old: Mapping[str, Any], new: Mapping[str, Any], response: bool
) -> None:
    """A range that narrows refuses what a request could send (breaking); one that widens
    lets a response hold what a reader did not expect (breaking)."""
    for key, sign in (("minimum", 1), ("maximum", -1)):
        was, now = old.get(key), new.get(key)
        if was == now or isinstance(was, bool) or isinstance(now, bool):
            continue
        numbers = isinstance(was, int | float) and isinstance(now, int | float)
        if was is None or now is None or not numbers:
            narrows = was is None
        else:
            narrows = (now - was) * sign > 0
        text = f"{key} {'added' if was is None else 'removed' if now is None else 'changed'}"
        shown = f"{text}: {was if was is not None else '-'} -> {now if now is not None else '-'}"
        report.changes.append(Change(where, shown, narrows != response))
