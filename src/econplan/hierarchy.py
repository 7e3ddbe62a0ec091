"""Trees of ids given by a parent column (regions, sectors)."""

from __future__ import annotations

from collections.abc import Iterable


def descendants(ids: Iterable[str], parents: Iterable[object]) -> dict[str, tuple[str, ...]]:
    """Each id with every id below it, sorted. Safe on cycles (validation reports those)."""
    ids = list(ids)
    children: dict[str, list[str]] = {}
    for node, parent in zip(ids, parents, strict=True):
        if isinstance(parent, str):
            children.setdefault(parent, []).append(node)
    result: dict[str, tuple[str, ...]] = {}
    for node in ids:
        seen: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(children.get(current, []))
        result[node] = tuple(sorted(seen))
    return result
