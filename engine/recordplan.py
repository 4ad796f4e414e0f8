"""Record-wise plans: a selector seen as "for each record of one list, these locations".

Most selectors walk one list of records: ``memory[*].task_id``,
``analytics.agents[?success].duration``, ``patterns[*].metadata.vulnerabilities[]``.
Such a selector splits into a static *prefix* (where the list is), an optional filter
*condition*, and a *relative* selector run on each record (plus, for a trailing
``[]``, a flatten and a second relative part). Run record by record it yields exactly the
matches the whole selector yields, in the same order, which lets the engine

* apply rules to in-memory lists without building a match object per list element, and
* apply them to record streams, one record at a time, without holding the list.

Selectors of any other shape have no plan and run through the general resolver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .paths import Path
from .selectors import (
    Match,
    Selector,
    _as_list,
    _compile,
    _Eval,
    _flatten,
    condition_holds,
)


@dataclass(frozen=True)
class RecordPlan:
    prefix: Path  # the static path of the list of records
    condition: dict[str, Any] | None  # a filter's condition (JMESPath AST), or None
    rel: _Eval  # evaluated on each record
    after: _Eval | None  # with a trailing [] : evaluated on each flattened element
    field: str | None  # rel is one plain field (the fast path), no condition, no flatten

    def wanted(self, record: Any) -> bool:
        return self.condition is None or condition_holds(self.condition, record)

    def matches(self, record: Any, path: Path, container: list[Any], index: int) -> list[Match]:
        """The locations inside one record (whose own path is ``path``)."""
        base = Match(path, record, container, index)
        found = self.rel(base)
        if found is None:
            return []
        if self.after is None:
            return list(_flatten(found))
        if isinstance(found, Match) and found.value is None:
            return []
        items = _as_list(found)
        out: list[Match] = []
        for item in items if items is not None else [found]:
            result = self.after(item)
            if result is not None:
                out.extend(_flatten(result))
        return out


def plan(selector: Selector) -> RecordPlan | None:
    """The record-wise plan of ``selector``, or None when it has another shape."""
    node = selector.ast
    if node["type"] == "projection" and node["children"][0]["type"] == "flatten":
        inner = _split(node["children"][0]["children"][0])
        if inner is None:
            return None
        prefix, condition, rel = inner
        return RecordPlan(prefix, condition, _compile(rel), _compile(node["children"][1]), None)
    found = _split(node)
    if found is None:
        return None
    prefix, condition, rel = found
    field = rel["value"] if rel["type"] == "field" and condition is None else None
    return RecordPlan(prefix, condition, _compile(rel), None, field)


def _split(node: dict[str, Any]) -> tuple[Path, dict[str, Any] | None, dict[str, Any]] | None:
    """(prefix, condition, relative AST) for ``static[*] rel`` / ``static[?c] rel``, possibly
    behind more static fields (``a.b[*].c``)."""
    kind = node["type"]
    if kind == "subexpression":
        *head, last = node["children"]
        if not all(child["type"] == "field" for child in head):
            return None
        inner = _split(last)
        if inner is None:
            return None
        return (*[c["value"] for c in head], *inner[0]), inner[1], inner[2]
    if kind in ("projection", "filter_projection"):
        prefix = _static(node["children"][0])
        if prefix is None:
            return None
        condition = node["children"][2] if kind == "filter_projection" else None
        return prefix, condition, node["children"][1]
    return None


def _static(node: dict[str, Any]) -> Path | None:
    if node["type"] in ("identity", "current"):  # [*].x on a document that is a list
        return ()
    if node["type"] == "field":
        return (node["value"],)
    if node["type"] == "subexpression" and all(c["type"] == "field" for c in node["children"]):
        return tuple(c["value"] for c in node["children"])
    return None
