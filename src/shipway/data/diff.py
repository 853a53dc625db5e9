"""What changed between two versions of a dataset."""

from __future__ import annotations

from typing import Any

from shipway.data.versions import LocalDatasets


def diff_versions(registry: LocalDatasets, name: str, v1: int, v2: int) -> dict[str, Any]:
    old, new = registry.get(name, v1), registry.get(name, v2)
    summary = {
        key: (getattr(old, key), getattr(new, key))
        for key in ("rows", "size", "files", "kind")
        if getattr(old, key) != getattr(new, key)
    }
    if old.digest == new.digest:
        summary["content"] = ("same", "same")
    return {
        "summary": summary,
        "columns": _column_changes(old.profile, new.profile),
        "files": _file_changes(registry, old, new),
    }


def _column_changes(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> list[tuple[str, str, str]]:
    if not old or not new:
        return []
    a, b = old["columns"], new["columns"]
    changes = [(c, "added", b[c]["kind"]) for c in b if c not in a]
    changes += [(c, "removed", a[c]["kind"]) for c in a if c not in b]
    for column in (c for c in a if c in b):
        x, y = a[column], b[column]
        if x["kind"] != y["kind"]:
            changes.append((column, "type", f"{x['kind']} → {y['kind']}"))
            continue
        details = []
        miss_x, miss_y = _missing(x), _missing(y)
        if abs(miss_x - miss_y) >= 0.001:
            details.append(f"missing {miss_x:.1%} → {miss_y:.1%}")
        if x["kind"] == "numeric" and (x["mean"], x["minimum"], x["maximum"]) != (
            y["mean"],
            y["minimum"],
            y["maximum"],
        ):
            details.append(
                f"mean {x['mean']:.4g} → {y['mean']:.4g}, range [{x['minimum']}, {x['maximum']}] → [{y['minimum']}, {y['maximum']}]"
            )
        if x["kind"] == "categorical":
            added = sorted(set(y["categories"]) - set(x["categories"]))
            gone = sorted(set(x["categories"]) - set(y["categories"]))
            if added:
                details.append(f"new categories: {', '.join(added[:5])}")
            if gone:
                details.append(f"categories gone: {', '.join(gone[:5])}")
        if details:
            changes.append((column, "changed", "; ".join(details)))
    return changes


def _missing(profile: dict[str, Any]) -> float:
    total = profile["count"] + profile["missing"] + profile["infinite"]
    return profile["missing"] / total if total else 0.0


def _file_changes(registry: LocalDatasets, old: Any, new: Any) -> list[tuple[str, str]]:
    if old.kind != "directory" or new.kind != "directory":
        return []
    a, b = registry.manifest(old), registry.manifest(new)
    changes = [(p, "added") for p in sorted(b) if p not in a]
    changes += [(p, "removed") for p in sorted(a) if p not in b]
    changes += [(p, "modified") for p in sorted(a) if p in b and a[p]["digest"] != b[p]["digest"]]
    return changes
