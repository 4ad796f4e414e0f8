"""Which locations some rule covered, and the sweep of the rest (``unmatched``).

Coverage is a mirror of the document: ``True`` marks a covered subtree; an object maps
keys to mirrors; a list holds one mirror per element, kept aligned with the document's
list when a rule drops elements (so index paths stay right after earlier drops).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .paths import WILD, Path, format_path

Mirror = Any  # None (nothing covered) | True (all covered) | dict | list


def _new(value: Any) -> Mirror:
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return [None] * len(value)
    return True


class Coverage:
    def __init__(self) -> None:
        self.root: Mirror = None

    def mark(self, document: Any, path: Path) -> None:
        """Mark the location at ``path`` (and so its subtree) covered."""
        if self.root is True:
            return
        if not path:
            self.root = True
            return
        if self.root is None:
            self.root = _new(document)
        mirror, value = self.root, document
        last = len(path) - 1
        for depth, part in enumerate(path):
            child = mirror.get(part) if isinstance(mirror, dict) else mirror[part]
            if child is True:
                return
            if depth == last:
                mirror[part] = True
                return
            value = value[part]
            if child is None:
                child = _new(value)
                mirror[part] = child
            mirror = child

    def forget(self, path: Path) -> None:
        """The location was removed from the document: remove its mirror too."""
        mirror = self.root
        for part in path[:-1]:
            if mirror is None or mirror is True:
                return
            mirror = mirror.get(part) if isinstance(mirror, dict) else mirror[part]
        if isinstance(mirror, dict):
            mirror.pop(path[-1], None)
        elif isinstance(mirror, list):
            del mirror[path[-1]]

    def sweep(self, document: Any, remove: bool) -> Counter[str]:
        """Find (and with ``remove`` delete) every uncovered leaf; containers emptied by
        that go too. Returns folded uncovered paths with their counts."""
        uncovered: Counter[str] = Counter()
        if self.root is not True:
            _sweep(document, self.root, (), remove, uncovered)
        return uncovered


def _sweep(value: Any, mirror: Mirror, path: Path, remove: bool,
           uncovered: Counter[str]) -> bool:
    """True when ``value`` is to be removed from its parent."""
    if mirror is True:
        return False
    if isinstance(value, dict) and value:
        for key in list(value):
            child = mirror.get(key) if isinstance(mirror, dict) else None
            if _sweep(value[key], child, (*path, key), remove, uncovered):
                del value[key]
        return remove and not value
    if isinstance(value, list) and value:
        for index in range(len(value) - 1, -1, -1):
            child = mirror[index] if isinstance(mirror, list) else None
            if _sweep(value[index], child, (*path, WILD), remove, uncovered):
                del value[index]
        return remove and not value
    uncovered[format_path(path)] += 1
    return remove
