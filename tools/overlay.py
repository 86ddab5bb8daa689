"""Apply an OpenAPI Overlay 1.0 document (``update`` and ``remove`` actions).

Written by hand because no maintained Python overlay library fails on an action whose
target matches nothing, which is the one property this project needs most: a correction
that upstream has made obsolete must stop the build, not vanish silently. Targets are
RFC 9535 JSONPath expressions, evaluated by ``jsonpath-rfc9535``.
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

    Raises :class:`OverlayError` naming the action when its target selects nothing.
    """
    version = str(overlay.get("overlay", ""))
    if not version.startswith("1.0"):
        raise OverlayError(f"unsupported overlay version {version!r}; expected 1.0.x")
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
    has_update, remove = "update" in action, action.get("remove", False)
    if has_update == bool(remove):
        raise OverlayError(f"{name}: an action needs exactly one of 'update' or 'remove: true'")
    try:
        nodes = jsonpath.find(action["target"], document)
    except jsonpath.JSONPathError as exc:
        raise OverlayError(f"{name}: invalid JSONPath: {exc}") from exc
    if not nodes:
        raise OverlayError(f"{name}: target matches nothing in the document")
    if remove:
        _remove(nodes, name)
        return
    for node in nodes:
        try:
            _merge(node.value, action["update"])
        except OverlayError as exc:
            raise OverlayError(f"{name}: {exc}") from None


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
