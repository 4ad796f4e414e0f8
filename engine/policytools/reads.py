"""What an ``aggregate`` reads of each record: the fields its ``group_by`` and ``metrics``
expressions name.

``explain`` says "aggregated into X" only of the fields a summary is computed from; the
other fields of the same records are just removed with them. The fields are taken from
the jmespath syntax tree of each expression: every chain of field names, with ``*``
standing for any list index or key (``refinement_history[*].improvement_percent``).
``@`` (the record itself) reads everything; ``length(x)`` reads only the size of ``x``,
not what is inside. This over-approximates (a filter's fields count as read), never under.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jmespath.exceptions
import jmespath.parser

from ..paths import Path
from ..policy import Rule

ANY = "*"
SIZE = "#size"  # ends a chain whose container is only measured (``length``)
Chain = tuple[Any, ...]
_METRIC = re.compile(r"\s*[a-z0-9]+\s*(?:\((?P<arg>.*)\))?\s*\Z", re.S)
_PARSER = jmespath.parser.Parser()


@functools.cache
def _expression_chains(text: str) -> tuple[Chain, ...]:
    try:
        ast = _PARSER.parse(text).parsed
    except jmespath.exceptions.JMESPathError:
        return ((),)  # cannot tell: everything
    return tuple(_chains(ast))


def record_reads(rule: Rule) -> tuple[Chain, ...]:
    """The field chains an aggregate rule reads of each record."""
    texts: list[str] = []
    for entry in rule.options.get("group_by", []):
        texts.extend(entry.values() if isinstance(entry, dict) else [entry])
    for metric in rule.options.get("metrics", {}).values():
        found = _METRIC.match(str(metric))
        if found is None:
            texts.append("@")
        elif found["arg"]:
            texts.append(found["arg"])
    chains: list[Chain] = []
    for text in texts:
        chains.extend(_expression_chains(str(text)))
    return tuple(chains)


def reads_field(chains: tuple[Chain, ...], relative: Path) -> bool:
    """Whether a field at ``relative`` (its path inside the record) is read."""
    for chain in chains:
        if chain and chain[-1] == SIZE:
            chain = chain[:-1]
            if len(relative) > len(chain):
                continue
        if all(part in (ANY, rel) for part, rel in zip(chain, relative, strict=False)):
            return True
    return False


def _chains(node: dict[str, Any]) -> list[Chain]:
    kind = node["type"]
    children = node.get("children", [])
    if kind == "field":
        return [(node["value"],)]
    if kind in ("current", "identity"):
        return [()]
    if kind in ("literal", "raw_literal"):
        return []
    if kind in ("index", "slice"):
        return [(ANY,)]
    if kind in ("subexpression", "index_expression"):
        out: list[Chain] = [()]
        for child in children:
            out = [a + b for a in out for b in _chains(child)]
        return out
    if kind in ("projection", "value_projection", "filter_projection"):
        rights = [c for child in children[1:] for c in _chains(child)]
        return [a + (ANY,) + b for a in _chains(children[0]) for b in rights]
    if kind == "flatten":
        return [a + (ANY,) for a in _chains(children[0])]
    if kind == "pipe":  # the right side reads what the left one gives
        return _chains(children[0])
    if kind == "function_expression" and node.get("value") == "length":
        return [c + (SIZE,) for child in children for c in _chains(child)]
    return [c for child in children if isinstance(child, dict) for c in _chains(child)]
