"""Paths into a document: tuples of keys (str) and list indexes (int).

``format_path(("memory", 3, "task_id"))`` is ``memory[3].task_id``; ``fold`` turns every
index into ``[*]`` so that a report lists shapes, never one line per record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
WILD = "[*]"


def format_path(path: Path) -> str:
    """JMESPath-style text of a path; odd keys are quoted, the root is ``@``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part == WILD:
            out.append(WILD)
        else:
            text = part if _IDENT.match(part) else '"' + part.replace('"', '\\"') + '"'
            out.append(("." if out else "") + text)
    return "".join(out) or "@"


def fold(path: Path) -> Path:
    """The path with every list index replaced by ``[*]``."""
    return tuple(WILD if isinstance(p, int) else p for p in path)


def folded(path: Path) -> str:
    return format_path(fold(path))


class PathNode:
    """An interned folded path: the child for a key is made once and reused, so walking a
    million records with the same keys builds no new path objects."""

    __slots__ = ("kids", "parent", "part")

    def __init__(self, parent: PathNode | None = None, part: str | int | None = None):
        self.parent = parent
        self.part = part
        self.kids: dict[str | int, PathNode] = {}

    def child(self, part: str | int) -> PathNode:
        kid = self.kids.get(part)
        if kid is None:
            kid = self.kids[part] = PathNode(self, part)
        return kid

    def path(self) -> Path:
        parts: list[str | int] = []
        node: PathNode | None = self
        while node is not None and node.parent is not None:
            parts.append(node.part)  # type: ignore[arg-type]
            node = node.parent
        return tuple(reversed(parts))

    def text(self) -> str:
        return format_path(self.path())


def get(doc: Any, path: Path) -> Any:
    """The value at ``path``; ``KeyError`` when it does not exist."""
    node = doc
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or not -len(node) <= part < len(node):
                raise KeyError(path)
        elif not isinstance(node, dict) or part not in node:
            raise KeyError(path)
        node = node[part]
    return node


def set_at(doc: dict[str, Any], path: Path, value: Any) -> None:
    """Write ``value`` at ``path``, creating the objects on the way (never lists)."""
    node: Any = doc
    for part in path[:-1]:
        nxt = node.get(part) if isinstance(node, dict) else None
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[path[-1]] = value


def leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf (scalar, or empty container) with its path, depth first."""
    stack: list[tuple[Path, Any]] = [(path, value)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, dict) and node:
            stack.extend((here + (k,), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list) and node:
            stack.extend((here + (i,), v) for i, v in reversed(list(enumerate(node))))
        else:
            yield here, node


def json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (much faster than ``copy.deepcopy``); a record
    stream is shared, not copied: it is read afresh and never written."""
    if type(value) is dict:
        return {k: json_copy(v) if type(v) in (dict, list) else v for k, v in value.items()}
    if type(value) is list:
        return [json_copy(v) if type(v) in (dict, list) else v for v in value]
    return value
