"""The mirror ``trace`` keeps of the working document: which input leaves each location holds.

Containers are plain dicts and lists aligned with the document's; ``Leaf`` is a location
that still holds an input leaf; ``Made`` a value (or part of one) a rule produced. These
helpers build, pair, walk and compare mirrors; none of them looks at a value's content.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..paths import Path


@dataclass(frozen=True, slots=True)
class Leaf:
    source: Path  # the input leaf this location still holds


@dataclass(frozen=True, slots=True)
class Made:
    """A value (or part of one) a rule produced from ``sources``; an aggregate's output
    has none. ``at``: the input path of its location, when it replaced one whole."""

    sources: tuple[Path, ...]
    at: Path | None = None


Node = Any  # dict[str, Node] | list[Node] | Leaf | Made
GONE = object()  # what ``swept`` returns for a removed value


def down(node: Any, path: Path) -> Any:
    """The node at a path of keys (mirror or document); None when it is not there."""
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def build(value: Any, path: Path) -> Node:
    if isinstance(value, dict) and value:
        return {k: build(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list) and value:
        return [build(v, (*path, i)) for i, v in enumerate(value)]
    return Leaf(path)


def made_node(value: Any, sources: tuple[Path, ...], at: Path | None) -> Node:
    if isinstance(value, dict) and value:
        return {k: made_node(v, sources, None) for k, v in value.items()}
    if isinstance(value, list) and value:
        return [made_node(v, sources, None) for v in value]
    return Made(sources, at)


def pair(node: Node, new: Any, at: Path | None) -> Node:
    """The mirror of a transform's result: the same shape (``redact`` keeps it) is paired
    child by child; a scalar on a leaf stays that leaf; anything else is made anew."""
    if isinstance(node, dict) and isinstance(new, dict) and node and len(node) == len(new):
        return {k: pair(old, v, at_of(old))
                for (k, v), old in zip(new.items(), node.values(), strict=True)}
    if isinstance(node, list) and isinstance(new, list) and node and len(node) == len(new):
        return [pair(old, v, at_of(old)) for old, v in zip(node, new, strict=True)]
    if isinstance(node, Leaf) and not (isinstance(new, dict | list) and new):
        return node
    return made_node(new, tuple(dict.fromkeys(sources(node))), at)


def sources(node: Node) -> Iterator[Path]:
    if isinstance(node, Leaf):
        yield node.source
    elif isinstance(node, Made):
        yield from node.sources
    else:
        for child in node.values() if isinstance(node, dict) else node:
            yield from sources(child)


def under(node: Node, inside: bool, depth: int = 0) -> Iterator[tuple[Path, Path | None]]:
    """Each input leaf under ``node``, with the input path of ``node``'s location
    (``depth`` levels up), or None when that is not an input location."""
    if isinstance(node, Leaf):
        yield node.source, None if inside else node.source[:len(node.source) - depth]
    elif isinstance(node, Made):
        at = None if inside or node.at is None or depth else node.at
        for source in node.sources:
            yield source, at
    else:
        for child in node.values() if isinstance(node, dict) else node:
            yield from under(child, inside, depth + 1)


def at_of(node: Node) -> Path | None:
    for _, at in under(node, False):
        return at
    return None


def same_shape(node: Node, value: Any) -> bool:
    if isinstance(node, dict):
        return (isinstance(value, dict) and node.keys() == value.keys()
                and all(same_shape(node[k], value[k]) for k in node))
    if isinstance(node, list):
        return (isinstance(value, list) and len(node) == len(value)
                and all(same_shape(n, v) for n, v in zip(node, value, strict=True)))
    return not (isinstance(value, dict | list) and value)


def walk(node: Node, path: Path, covered: dict[int, Node],
         above: bool) -> Iterator[tuple[Path, Node, bool]]:
    """Every leaf node with its current path and whether a rule covered it."""
    here = above or id(node) in covered
    if isinstance(node, dict | list) and node:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            yield from walk(child, (*path, key), covered, here)
    else:
        yield path, node, here


def swept(value: Any, node: Node, covered: dict[int, Node], remove: bool,
          above: bool = False) -> Any:
    """The document as ``unmatched`` leaves it: uncovered leaves removed (with ``drop``),
    and containers left empty by that; ``GONE`` marks a removed value."""
    here = above or id(node) in covered
    if not remove or here:
        return value
    if isinstance(node, dict) and node:
        kept = {k: swept(value[k], node[k], covered, remove) for k in node}
        out = {k: v for k, v in kept.items() if v is not GONE}
        return out if out else GONE
    if isinstance(node, list) and node:
        items = [swept(v, n, covered, remove) for v, n in zip(value, node, strict=True)]
        out_list = [v for v in items if v is not GONE]
        return out_list if out_list else GONE
    return GONE
