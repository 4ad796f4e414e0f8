"""Selectors: JMESPath expressions that name *locations*, not values.

A selector is parsed once by the jmespath library's own parser; its syntax tree is
checked against the constructs that name places (fields, indexes, slices, list and
object wildcards, flatten, filters) and compiled into a resolver. Resolving walks the
document exactly as jmespath's interpreter would, but carries the path of every value,
so an action can change it in place. Filter conditions are evaluated by jmespath itself.

The resolver mirrors JMESPath's result structure: a projection yields a *virtual* list
(``Many``) of results, which a later index, slice, flatten or filter treats as the list
JMESPath would have built (without ``null`` results). The one addition: a key that exists
with a ``null`` value is still a location, so rules can cover it; a missing key is not, and
resolving never creates keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jmespath.exceptions
import jmespath.parser
import jmespath.visitor

from .paths import Path

ALLOWED = frozenset(
    {
        "field",
        "subexpression",
        "index_expression",
        "index",
        "slice",
        "projection",
        "value_projection",
        "filter_projection",
        "flatten",
        "identity",
        "current",
    }
)
_REFUSED_NAMES = {
    "pipe": "a pipe '|'",
    "multi_select_list": "a multiselect list '[a, b]'",
    "multi_select_dict": "a multiselect hash '{a: b}'",
    "literal": "a literal",
    "raw_literal": "a literal",
    "expref": "an expression reference '&'",
    "or_expression": "an '||' expression",
    "and_expression": "an '&&' expression",
    "not_expression": "a '!' expression",
    "comparator": "a comparison",
    "key_val_pair": "a multiselect hash",
}


class SelectorSyntaxError(ValueError):
    """A selector that does not parse or does not name locations.

    ``offset`` is the 0-based character position in the expression, when known.
    """

    def __init__(self, message: str, offset: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.offset = offset
        self.hint = hint


class FilterError(ValueError):
    """A filter condition that cannot be evaluated on an element (a function given the
    wrong type, e.g. ``length(5)``): the engine reports it with the rule."""


def condition_holds(condition: dict[str, Any], value: Any) -> bool:
    """Whether a filter condition is true for ``value``, evaluated by jmespath. An ordering
    comparison of non-numbers is null (false), as the JMESPath spec says (jmespath.py
    raises TypeError there)."""
    try:
        return not _INTERPRETER._is_false(_INTERPRETER.visit(condition, value))
    except TypeError:
        return False
    except jmespath.exceptions.JMESPathError as exc:
        raise FilterError(f"the filter condition failed: {str(exc).splitlines()[0]}") from None


@dataclass(frozen=True, slots=True)
class Match:
    """One location: its path, its value, and where to write (container and key)."""

    path: Path
    value: Any
    container: Any  # dict or list holding the value; None for the document root
    key: str | int | None


@dataclass(frozen=True, slots=True)
class _Many:
    """A list built by a projection or flatten (not a location itself)."""

    items: list[_Located]

    def visible(self) -> list[_Located]:
        """The elements JMESPath's own list would have (``null`` results left out)."""
        return [i for i in self.items if not (isinstance(i, Match) and i.value is None)]


_Located = Match | _Many
_Eval = Callable[[_Located], "_Located | None"]

_INTERPRETER = jmespath.visitor.TreeInterpreter()
_PARSER = jmespath.parser.Parser()


@dataclass(frozen=True)
class Selector:
    """A compiled selector. ``resolve(doc)`` lists its matches in document order."""

    expression: str
    ast: dict[str, Any]
    _run: _Eval

    def resolve(self, document: Any) -> list[Match]:
        result = self._run(Match((), document, None, None))
        return list(_flatten(result)) if result is not None else []

    def structure(self, document: Any) -> Any:
        """The values at the matches, shaped as ``jmespath.search`` shapes its result
        (used by the property tests that pin the resolver to jmespath)."""
        result = self._run(Match((), document, None, None))
        return _to_value(result)

    @property
    def static_path(self) -> Path | None:
        """The path when the selector is plain fields only (``a.b.c``), else None."""
        prefix = self.static_prefix
        node = self.ast
        plain = node["type"] == "field" or (
            node["type"] == "subexpression"
            and all(child["type"] == "field" for child in node["children"]))
        return prefix if plain else None

    @property
    def static_prefix(self) -> Path:
        """The leading plain field names (``analytics.agents[*].x`` → analytics, agents):
        every match lies under this path."""
        return tuple(_static_prefix(self.ast))


def compile_selector(expression: str) -> Selector:
    """Parse and compile; raises ``SelectorSyntaxError`` naming the construct."""
    if not isinstance(expression, str) or not expression.strip():
        raise SelectorSyntaxError("the selector is empty", hint="write a JMESPath location")
    try:
        ast = _PARSER.parse(expression).parsed
    except jmespath.exceptions.ParseError as exc:
        near = "at its end" if exc.token_value is None else f"near {exc.token_value!r}"
        raise SelectorSyntaxError(
            f"invalid JMESPath {near} (column {exc.lex_position + 1} of the selector)",
            offset=exc.lex_position,
            hint="check the brackets and quotes (odd keys are written \"odd key\")",
        ) from None
    except jmespath.exceptions.LexerError as exc:
        raise SelectorSyntaxError(
            f"invalid JMESPath: {exc.msg}", offset=exc.lex_position,
            hint="check the quotes: odd keys are written \"odd key\", literals `1`",
        ) from None
    _check(ast)
    return Selector(expression, ast, _compile(ast))


def _static_prefix(node: dict[str, Any]) -> list[str]:
    kind = node["type"]
    if kind == "field":
        return [node["value"]]
    if kind in ("subexpression", "index_expression"):
        prefix: list[str] = []
        for child in node["children"]:
            if child["type"] != "field":
                return prefix + _static_prefix(child)
            prefix.append(child["value"])
        return prefix
    if kind in ("projection", "filter_projection", "value_projection", "flatten"):
        return _static_prefix(node["children"][0])
    return []


def _check(node: dict[str, Any]) -> None:
    kind = node["type"]
    if kind not in ALLOWED:
        what = _REFUSED_NAMES.get(kind, f"'{kind}'")
        if kind == "function_expression":
            what = f"a function call '{node['value']}()'"
        raise SelectorSyntaxError(
            f"{what} computes a value instead of naming a location",
            hint="a selector may use fields, [n], [*], .*, [], slices and [?filter]; "
            "move computations into a filter, e.g. items[?length(tags) > `0`]",
        )
    children = node["children"]
    if kind == "filter_projection":
        _check(children[0])
        _check(children[1])  # children[2] is the condition: full JMESPath
    elif kind == "slice":
        if children[2] == 0:
            raise SelectorSyntaxError("a slice step of 0 names nothing",
                                      hint="use a step like 1, 2 or -1, e.g. items[::2]")
    else:
        for child in children:
            _check(child)


def _compile(node: dict[str, Any]) -> _Eval:
    return _COMPILERS[node["type"]](node)


def _field(node: dict[str, Any]) -> _Eval:
    name = node["value"]

    def run(cur: _Located) -> _Located | None:
        if isinstance(cur, Match) and isinstance(cur.value, dict) and name in cur.value:
            obj = cur.value
            return Match((*cur.path, name), obj[name], obj, name)
        return None

    return run


def _as_list(loc: _Located | None) -> list[_Located] | None:
    """The elements of ``loc`` when JMESPath would treat it as a list."""
    if isinstance(loc, _Many):
        return loc.visible()
    if isinstance(loc, Match) and isinstance(loc.value, list):
        seq = loc.value
        base = loc.path
        return [Match((*base, i), v, seq, i) for i, v in enumerate(seq)]
    return None


def _chain(node: dict[str, Any]) -> _Eval:
    """A chain: each child applies to the result of the one before (``a.b.c``, ``a[1][0]``)."""
    steps = [_compile(child) for child in node["children"]]

    def run(cur: _Located) -> _Located | None:
        result: _Located | None = cur
        for step in steps:
            if result is None:
                return None
            result = step(result)
        return result

    return run


def _index(node: dict[str, Any]) -> _Eval:
    index = node["value"]

    def run(cur: _Located) -> _Located | None:
        items = _as_list(cur)
        if items is None:
            return None
        try:
            return items[index]
        except IndexError:
            return None

    return run


def _slice(node: dict[str, Any]) -> _Eval:
    bounds = slice(*node["children"])

    def run(cur: _Located) -> _Located | None:
        items = _as_list(cur)
        return None if items is None else _Many(items[bounds])

    return run


def _projection(node: dict[str, Any]) -> _Eval:
    left, right = (_compile(c) for c in node["children"])

    def run(cur: _Located) -> _Located | None:
        items = _as_list(left(cur))
        if items is None:
            return None
        return _Many([r for r in map(right, items) if r is not None])

    return run


def _value_projection(node: dict[str, Any]) -> _Eval:
    left, right = (_compile(c) for c in node["children"])

    def run(cur: _Located) -> _Located | None:
        base = left(cur)
        if not isinstance(base, Match) or not isinstance(base.value, dict):
            return None
        obj = base.value
        items = [Match((*base.path, k), v, obj, k) for k, v in obj.items()]
        return _Many([r for r in map(right, items) if r is not None])

    return run


def _filter_projection(node: dict[str, Any]) -> _Eval:
    left_node, right_node, condition = node["children"]
    left, right = _compile(left_node), _compile(right_node)

    def keep(item: _Located) -> bool:
        return condition_holds(condition, _to_value(item))

    def run(cur: _Located) -> _Located | None:
        items = _as_list(left(cur))
        if items is None:
            return None
        return _Many([r for r in (right(i) for i in items if keep(i)) if r is not None])

    return run


def _flatten_node(node: dict[str, Any]) -> _Eval:
    inner = _compile(node["children"][0])

    def run(cur: _Located) -> _Located | None:
        items = _as_list(inner(cur))
        if items is None:
            return None
        merged: list[_Located] = []
        for item in items:
            sub = _as_list(item)
            merged.extend(sub if sub is not None else [item])
        return _Many(merged)

    return run


def _identity(node: dict[str, Any]) -> _Eval:
    return lambda cur: cur


_COMPILERS: dict[str, Callable[[dict[str, Any]], _Eval]] = {
    "field": _field,
    "subexpression": _chain,
    "index_expression": _chain,
    "index": _index,
    "slice": _slice,
    "projection": _projection,
    "value_projection": _value_projection,
    "filter_projection": _filter_projection,
    "flatten": _flatten_node,
    "identity": _identity,
    "current": _identity,
}


def _flatten(loc: _Located) -> Iterator[Match]:
    if isinstance(loc, Match):
        yield loc
        return
    for item in loc.items:
        yield from _flatten(item)


def _to_value(loc: _Located | None) -> Any:
    if loc is None:
        return None
    if isinstance(loc, Match):
        return loc.value
    return [v for v in (_to_value(i) for i in loc.items) if v is not None]
