"""Apply an OpenAPI Overlay document: 1.0 ``update`` and ``remove`` actions, and 1.1 ``copy``.

Written by hand because no maintained Python overlay library fails on an action whose
target matches nothing, which is the one property this project needs most: a correction
that upstream has made obsolete must stop the build, not vanish silently. Targets are
RFC 9535 JSONPath expressions, evaluated by ``jsonpath-rfc9535``. ``copy`` (Overlay 1.1) is
the only standard way to move a schema into ``components`` without pasting a copy of it into
the overlay, where it would stop following upstream. One extension: an action marked
``x-optional: true`` may match nothing (a guard, such as keeping an enum upstream may add open).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpath_rfc9535 as jsonpath


class OverlayError(Exception):
    """An overlay document that is malformed or does not fit the document it targets."""


def apply_overlay(document: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``document`` with every action of ``overlay`` applied in order.

    Raises :class:`OverlayError` naming the action when its target selects nothing, unless the
    action is marked ``x-optional: true`` (a guard against a change upstream may make).
    """
    version = str(overlay.get("overlay", ""))
    if not version.startswith(("1.0.", "1.1.")):
        raise OverlayError(f"unsupported overlay version {version!r}; expected 1.0.x or 1.1.x")
    actions = overlay.get("actions")
    if not isinstance(actions, list) or not actions:
        raise OverlayError("overlay has no actions")
    result: dict[str, Any] = copy.deepcopy(dict(document))
    for index, action in enumerate(actions):
        _apply_action(result, index, action)
    return result


def describe_action(index: int, action: Any) -> str:
    """A short name for an action in error messages: its position, target and description."""
    if not isinstance(action, Mapping):
        return f"action #{index + 1}"
    desc = str(action.get("description", "")).strip().splitlines()
    summary = f" ({desc[0]})" if desc else ""
    return f"action #{index + 1} target {action.get('target')!r}{summary}"


def _apply_action(document: dict[str, Any], index: int, action: Any) -> None:
    name = describe_action(index, action)
    if not isinstance(action, Mapping) or not isinstance(action.get("target"), str):
        raise OverlayError(f"{name}: an action needs a string 'target'")
    kinds = ["update" in action, "copy" in action, bool(action.get("remove", False))]
    if sum(kinds) != 1:
        raise OverlayError(f"{name}: an action needs one of 'update', 'copy', 'remove: true'")
    update = action.get("update")
    nodes = _find(action["target"], document, name)
    if not nodes:
        if action.get("x-optional") is True:
            return
        raise OverlayError(f"{name}: target matches nothing in the document")
    if action.get("remove", False):
        _remove(nodes, name)
        return
    if "copy" in action:
        sources = _find(action["copy"], document, name)
        if len(sources) != 1:
            raise OverlayError(f"{name}: copy must select exactly one node, not {len(sources)}")
        update = sources[0].value
    for node in nodes:
        try:
            _merge(node.value, update)
        except OverlayError as exc:
            raise OverlayError(f"{name}: {exc}") from None


def _find(path: object, document: dict[str, Any], name: str) -> jsonpath.JSONPathNodeList:
    if not isinstance(path, str):
        raise OverlayError(f"{name}: a JSONPath must be a string")
    try:
        return jsonpath.find(path, document)
    except jsonpath.JSONPathError as exc:
        raise OverlayError(f"{name}: invalid JSONPath: {exc}") from exc


def _remove(nodes: jsonpath.JSONPathNodeList, name: str) -> None:
    targets: list[tuple[Any, str | int]] = []
    for node in nodes:
        if node.parent is None:
            raise OverlayError(f"{name}: cannot remove the document root")
        targets.append((node.parent.value, node.location[-1]))
    # Remove list items from the highest index down so earlier indices stay valid.
    for container, key in sorted(
        targets, key=lambda t: t[1] if isinstance(t[1], int) else -1, reverse=True
    ):
        del container[key]


def _merge(target: Any, update: Any) -> None:
    if isinstance(target, list):
        target.extend(
            copy.deepcopy(update) if isinstance(update, list) else [copy.deepcopy(update)]
        )
        return
    if not isinstance(target, dict) or not isinstance(update, Mapping):
        raise OverlayError(
            "update must be an object merged into an object, or a value appended to an array"
        )
    for key, value in update.items():
        current = target.get(key)
        if isinstance(current, dict | list) and isinstance(value, Mapping | list):
            _merge(current, value)
        else:
            target[key] = copy.deepcopy(value)
