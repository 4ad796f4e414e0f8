"""Which locations some rule covered, and the sweep of the rest (``unmatched``).

Coverage is a mirror of the document: ``True`` marks a covered subtree; an object maps
keys to mirrors; a list has a ``ListMirror``: one mirror per element, kept aligned with the
document's list when a rule drops elements (so index paths stay right after earlier drops),
and an ``every`` mirror that applies to all elements at once, which is how a rule over
``list[*].field`` covers a million records in one step.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from itertools import chain, repeat
from typing import Any

from .columns import columns, uniform_keys
from .paths import WILD, Path, PathNode

Mirror = Any  # None (nothing covered) | True (all covered) | dict | ListMirror


class ListMirror:
    __slots__ = ("every", "items")

    def __init__(self, size: int) -> None:
        self.items: list[Mirror] = [None] * size
        self.every: Mirror = None

    def child(self, index: int) -> Mirror:
        return self.items[index] if index < len(self.items) else None


def _new(value: Any) -> Mirror:
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return ListMirror(len(value))
    return True


def _child(mirror: Mirror, part: str | int) -> Mirror:
    if isinstance(mirror, dict):
        return mirror.get(part)
    if isinstance(mirror, ListMirror) and type(part) is int:
        return mirror.child(part)
    return None


def _fits(mirror: Mirror, value: Any) -> bool:
    """Whether a mirror still has the shape of its value (a rule may have replaced a list
    by an object, e.g. an aggregate written where a list was)."""
    if isinstance(mirror, ListMirror):
        return isinstance(value, list)
    if isinstance(mirror, dict):
        return isinstance(value, dict)
    return True


def _set(mirror: Mirror, part: str | int, value: Mirror) -> None:
    if isinstance(mirror, ListMirror):
        mirror.items[part] = value  # type: ignore[index]
    else:
        mirror[part] = value


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
        if self.root is None or not _fits(self.root, document):
            self.root = _new(document)
        mirror, value = self.root, document
        last = len(path) - 1
        for depth, part in enumerate(path):
            child = _child(mirror, part)
            if child is True:
                return
            if depth == last:
                _set(mirror, part, True)
                return
            value = value[part]
            if child is None or not _fits(child, value):
                child = _new(value)
                _set(mirror, part, child)
            mirror = child

    def list_mirror(self, document: Any, path: Path) -> ListMirror | None:
        """The mirror of the list at ``path`` (created), or None when it is all covered."""
        if self.root is True:
            return None
        if self.root is None:
            self.root = _new(document)
        mirror, value = self.root, document
        for part in path:
            child = _child(mirror, part)
            if child is True:
                return None
            value = value[part]
            if child is None:
                child = _new(value)
                _set(mirror, part, child)
            mirror = child
        return mirror if isinstance(mirror, ListMirror) else None

    def mark_every(self, document: Any, list_path: Path, rel: Path) -> None:
        """Cover ``rel`` inside every element of the list at ``list_path`` (``rel`` empty:
        the elements themselves)."""
        mirror = self.list_mirror(document, list_path)
        if mirror is None:
            return
        if not rel:
            mirror.every = True
            return
        if mirror.every is True:
            return
        if mirror.every is None:
            mirror.every = {}
        node = mirror.every
        for part in rel[:-1]:
            nxt = node.get(part)
            if nxt is True:
                return
            if nxt is None:
                nxt = node[part] = {}
            node = nxt
        node[rel[-1]] = True

    def forget(self, path: Path) -> None:
        """The key at ``path`` was removed from its object: remove its mirror too."""
        mirror = self._at(path[:-1])
        if isinstance(mirror, dict):
            mirror.pop(path[-1], None)

    def forget_items(self, list_path: Path, indexes: set[Any]) -> None:
        """The elements at ``indexes`` were removed from the list at ``list_path``: their
        mirrors go too, so the others stay aligned with the list."""
        mirror = self._at(list_path)
        if isinstance(mirror, ListMirror):
            mirror.items[:] = [m for i, m in enumerate(mirror.items) if i not in indexes]

    def _at(self, path: Path) -> Mirror:
        """The mirror at ``path`` (True: covered whole; a dict or ListMirror: parts of it;
        None: nothing there is covered, or it is reached only through a covered whole)."""
        mirror = self.root
        for part in path:
            if mirror is None or mirror is True:
                return None
            mirror = _child(mirror, part)
        return mirror

    def sweep(self, document: Any, remove: bool) -> Counter[str]:
        """Find (and with ``remove`` delete) every uncovered leaf; containers emptied by
        that go too. Returns folded uncovered paths with their counts."""
        counts: Counter[PathNode] = Counter()
        if self.root is not True:
            mirrors = (self.root,) if self.root is not None else ()
            gone = _sweep(document, mirrors, PathNode(), remove, counts)
            if gone and remove and isinstance(document, dict | list):
                document.clear()
        return Counter({node.text(): n for node, n in counts.items()})


def tally_leaves(value: Any, node: PathNode, counts: Counter[PathNode]) -> None:
    """Count the leaves of ``value`` by folded path, under ``node`` (what the sweep would
    report for an uncovered value). Reuse one node for many values: path nodes link both
    ways, and a tree per value would be garbage for the (paused) cyclic collector."""
    stack = [(node, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, dict) and item:
            stack.extend((here.child(key), inner) for key, inner in item.items())
        elif isinstance(item, list) and item:
            wild = here.child(WILD)
            stack.extend((wild, inner) for inner in item)
        else:
            counts[here] += 1


def _children(mirrors: Iterable[Mirror], part: str | int) -> tuple[Mirror, ...]:
    out = []
    for mirror in mirrors:
        if isinstance(mirror, ListMirror):
            out.append(mirror.every)
            out.append(mirror.child(part))  # type: ignore[arg-type]
        elif isinstance(mirror, dict):
            out.append(mirror.get(part))
    return tuple(m for m in out if m is not None)


def _shared(mirrors: tuple[Mirror, ...]) -> tuple[Mirror, ...] | None:
    """The mirrors that apply to every element of a list alike (no per-element ones),
    or None when some element has its own."""
    out = []
    for mirror in mirrors:
        if isinstance(mirror, ListMirror):
            if any(item is not None for item in mirror.items):
                return None
            if mirror.every is not None:
                out.append(mirror.every)
    return tuple(out)


def _sweep_record(record: dict[str, Any], mirrors: tuple[Mirror, ...],
                  keys: dict[str, tuple[Mirror, ...]], node: PathNode, remove: bool,
                  counts: Counter[PathNode]) -> bool:
    """``_sweep`` of one record of a list whose elements share their mirrors."""
    if not mirrors:
        tally_leaves(record, node, counts)
        return remove
    if True in mirrors:
        return False
    if not record:  # an empty object is a leaf, as in _sweep
        counts[node] += 1
        return remove
    for key in list(record) if remove else record:
        kids = keys.get(key)
        if kids is None:
            kids = keys[key] = _children(mirrors, key)
        if True in kids:
            continue
        item = record[key]
        if not kids and not (item and type(item) in (dict, list)):
            counts[node.child(key)] += 1  # an uncovered leaf
            if remove:
                del record[key]
        elif _sweep(item, kids, node.child(key), remove, counts) and remove:
            del record[key]
    return remove and not record


def _sweep_columns(records: list[dict[str, Any]], mirrors: tuple[Mirror, ...],
                   node: PathNode, remove: bool, counts: Counter[PathNode]) -> list[bool]:
    """``_sweep_record`` of every record, a key (a column) at a time: an uncovered key
    whose values are all leaves is counted, and removed, without a step per value
    (``columns``). Returns which records stay."""
    keys = uniform_keys(records)
    if keys is not None and keys and not {dict, list} & set(
            map(type, chain.from_iterable(map(dict.values, records)))):
        # one shape, every value a leaf: a key is uncovered in every record or in none
        for key in keys:
            if True not in _children(mirrors, key):
                counts[node.child(key)] += len(records)
                if remove:
                    deque(map(dict.pop, records, repeat(key)), maxlen=0)
        return [bool(record) for record in records] if remove else [True] * len(records)
    empty = list(map(len, records)).count(0)
    if empty:  # an empty object is a leaf, as in _sweep
        counts[node] += empty
    for key, values, kinds in columns(records):
        kids = _children(mirrors, key)
        if True in kids:
            continue
        if not kids and dict not in kinds and list not in kinds:
            counts[node.child(key)] += len(values)  # all uncovered leaves
            if remove:
                for record in records:
                    record.pop(key, None)
            continue
        child = node.child(key)
        for record in records:
            if key not in record:
                continue
            item = record[key]
            if not kids and not (item and type(item) in (dict, list)):
                counts[child] += 1
                if remove:
                    del record[key]
            elif _sweep(item, kids, child, remove, counts) and remove:
                del record[key]
    return [bool(record) for record in records] if remove else [True] * len(records)


def _sweep(value: Any, mirrors: tuple[Mirror, ...], node: PathNode, remove: bool,
           counts: Counter[PathNode]) -> bool:
    """True when ``value`` is to be removed from its parent. ``mirrors``: every mirror
    that applies here (an element is covered by its own and its list's ``every``)."""
    if not mirrors:  # nothing below is covered: count it, and it all goes (or stays)
        tally_leaves(value, node, counts)
        return remove
    if True in mirrors:
        return False
    if isinstance(value, dict) and value:
        for key in list(value):
            if _sweep(value[key], _children(mirrors, key), node.child(key), remove, counts):
                del value[key]
        return remove and not value
    if isinstance(value, list) and value:
        wild, shared = node.child(WILD), _shared(mirrors)
        if shared and True not in shared and set(map(type, value)) == {dict}:
            keep = _sweep_columns(value, shared, wild, remove, counts)
        elif shared is not None:  # every element alike: work out each key's mirrors once
            keys: dict[str, tuple[Mirror, ...]] = {}
            keep = [not (_sweep_record(item, shared, keys, wild, remove, counts)
                         if type(item) is dict else _sweep(item, shared, wild, remove, counts))
                    for item in value]
        else:
            keep = [not _sweep(item, _children(mirrors, index), wild, remove, counts)
                    for index, item in enumerate(value)]
        if not all(keep):
            value[:] = [item for item, kept in zip(value, keep, strict=True) if kept]
        return remove and not value
    counts[node] += 1
    return remove
