"""What differs between two models or two training settings, in a few words ("Dense units
128 → 64", "learning rate 0.001 → 0.01"), for the runs table and the views that show an older model.

Works on the plain dicts of ``ModelSpec.to_dict()`` and ``TrainConfig.to_dict()``.
"""

from __future__ import annotations

import difflib
from typing import Any

from workbench.i18n import _


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "×".join(_value(v) for v in value) if value else "[]"
    if isinstance(value, dict):
        name = value.get("class_name")
        return str(name) if name else "{…}"
    return str(value)


def _flat(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if isinstance(value, dict) and "config" in value and isinstance(value["config"], dict):
            out[prefix + key] = value.get("class_name")
            out.update(_flat(value["config"], ""))  # optimizer config: "learning_rate", ...
        else:
            out[prefix + key] = value
    return out


def training_changes(before: dict | None, after: dict | None) -> list[str]:
    """Settings that differ, e.g. ``["learning rate 0.001 → 0.01", "batch size 32 → 64"]``."""
    if not before or not after:
        return []
    a, b = _flat(before), _flat(after)
    changes = []
    for key in list(a) + [k for k in b if k not in a]:
        if a.get(key) != b.get(key):
            name = key.replace("_", " ")
            changes.append(f"{name} {_value(a.get(key, '—'))} → {_value(b.get(key, '—'))}")
    return changes


def _layer_label(layer: dict) -> str:
    return str(layer.get("class_name", "?"))


def model_changes(before: dict | None, after: dict | None) -> list[str]:
    """Layer edits from ``before`` to ``after``: added, removed, and changed parameters."""
    if not before or not after:
        return []
    changes = []
    if list(before.get("input_shape", [])) != list(after.get("input_shape", [])):
        changes.append(_("input {before} → {after}").format(
            before=_value(before.get("input_shape")), after=_value(after.get("input_shape"))))
    old, new = before.get("layers", []) or [], after.get("layers", []) or []
    matcher = difflib.SequenceMatcher(a=[_layer_label(x) for x in old],
                                      b=[_layer_label(x) for x in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for x, y in zip(old[i1:i2], new[j1:j2], strict=True):
                changes += _param_changes(x, y)
        elif tag == "replace" and i2 - i1 == j2 - j1:
            changes += [f"{_layer_label(x)} → {_layer_label(y)}"
                        for x, y in zip(old[i1:i2], new[j1:j2], strict=True)]
        else:
            changes += [f"− {_layer_label(x)}" for x in old[i1:i2]]
            changes += [f"+ {_layer_label(y)}" for y in new[j1:j2]]
    return changes


def _param_changes(old: dict, new: dict) -> list[str]:
    a, b = old.get("config", {}) or {}, new.get("config", {}) or {}
    name = _layer_label(new)
    return [f"{name} {key} {_value(a.get(key, '—'))} → {_value(b.get(key, '—'))}"
            for key in list(a) + [k for k in b if k not in a] if a.get(key) != b.get(key)]


def summary(changes: list[str], limit: int = 3) -> str:
    """The first few changes joined, with how many more there are."""
    if not changes:
        return ""
    text = ", ".join(changes[:limit])
    more = len(changes) - limit
    return text + (_(" and {count} more").format(count=more) if more > 0 else "")
