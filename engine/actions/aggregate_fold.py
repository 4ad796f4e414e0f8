"""The folding machinery behind ``aggregate``: records in, one row per group out.

Records are fed one at a time (``Accumulator.add``), so a stream of records never has to
be held as a list: only the group keys and, for percentiles, one compact array of floats
per group and metric.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.visitor

from .base import ActionValueError, compact_json, type_name

Getter = Callable[[dict[str, Any]], Any]
_INTERPRETER = jmespath.visitor.TreeInterpreter()
_NOTHING: dict[str, Any] = {}  # looked up for a record that is no object: never written
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def compile_expression(text: str) -> Getter:
    """A getter for one record: a plain field name is a dict lookup, anything else is
    compiled once by jmespath."""
    if _IDENT.match(text):
        return lambda record: record.get(text) if type(record) is dict else None
    try:
        compiled = jmespath.compile(text)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None

    tree, visit = compiled.parsed, _INTERPRETER.visit

    def search(record: Any) -> Any:
        # one interpreter for every record: jmespath's own search() builds a new one per
        # call, with reference cycles that pile up while the cyclic collector is paused
        try:
            return visit(tree, record)
        except jmespath.exceptions.JMESPathError as exc:
            raise ActionValueError(f"{text!r} failed on a record: "
                                   f"{str(exc).splitlines()[0]}",
                                   hint="guard against missing values, e.g. "
                                   "length(x || `[]`)") from None

    return search


def plain_field(text: str) -> str | None:
    """The field name when the expression is one plain field (the fast path)."""
    return text if _IDENT.match(text) else None


@dataclass(frozen=True)
class Group:
    name: str
    get: Getter
    field: str | None = None


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # count, sum, mean, min, max, p50, p95, rate
    get: Getter | None
    text: str | None = None  # the expression, when there is one


class _Cell:
    """One group's running state for one metric."""

    __slots__ = ("count", "total", "low", "high", "values", "trues")

    def __init__(self, keep_values: bool) -> None:
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = -math.inf
        self.trues = 0
        self.values: array[float] | None = array("d") if keep_values else None


Feed = Callable[[_Cell, Any, int], None]  # (cell, the metric's value of a record, index)
Take = Callable[["MetricSpec", _Cell, Any, int], None]


def _feeder(spec: MetricSpec) -> Feed | None:
    """The per-record step of one metric, given the value its expression found in the
    record, specialized to its kind (the hot loop of every aggregate: no dispatch on the
    kind per record, and the common value, one number or boolean, taken inline)."""
    if spec.get is None:
        return None
    kind = spec.kind
    if kind == "count":
        def count(cell: _Cell, value: Any, index: int) -> None:
            if not (value is None or value is False or value == "" or value == []
                    or value == {}):  # JMESPath's falsiness
                cell.count += 1
        return count
    take = _TAKERS[kind]

    def each(cell: _Cell, value: Any, index: int) -> None:
        if type(value) is list:  # a list of values: each one counts, nulls skipped
            for item in value:
                if item is not None:
                    take(spec, cell, item, index)
        else:
            take(spec, cell, value, index)

    if kind == "rate":
        def rate(cell: _Cell, value: Any, index: int) -> None:
            if value is True or value is False:
                cell.count += 1
                cell.trues += value
            elif value is not None:
                each(cell, value, index)
        return rate
    if kind in ("sum", "mean", "p50", "p95"):
        keep = kind in ("p50", "p95")

        def number(cell: _Cell, value: Any, index: int) -> None:
            t = type(value)
            if t is int or (t is float and value - value == 0.0):
                if keep:
                    cell.values.append(value)  # type: ignore[union-attr]
                else:
                    cell.total += value
                cell.count += 1
            elif value is not None:
                each(cell, value, index)
        return number

    def other(cell: _Cell, value: Any, index: int) -> None:
        if value is not None:
            each(cell, value, index)
    return other


def _number(spec: MetricSpec, value: Any, index: int) -> float:
    kind = type(value)
    if kind is int or (kind is float and value - value == 0.0):
        return value  # type: ignore[no-any-return]
    raise ActionValueError(f"metric {spec.name}: {spec.kind} needs numbers, and record "
                           f"{index} has {type_name(value)}",
                           hint="use rate(x) for booleans, or fix the records' types")


def _take_sum(spec: MetricSpec, cell: _Cell, value: Any, index: int) -> None:
    cell.total += _number(spec, value, index)
    cell.count += 1


def _take_min(spec: MetricSpec, cell: _Cell, value: Any, index: int) -> None:
    number = _number(spec, value, index)
    cell.count += 1
    if number < cell.low:
        cell.low = number


def _take_max(spec: MetricSpec, cell: _Cell, value: Any, index: int) -> None:
    number = _number(spec, value, index)
    cell.count += 1
    if number > cell.high:
        cell.high = number


def _take_all(spec: MetricSpec, cell: _Cell, value: Any, index: int) -> None:
    cell.values.append(_number(spec, value, index))  # type: ignore[union-attr]
    cell.count += 1


def _take_rate(spec: MetricSpec, cell: _Cell, value: Any, index: int) -> None:
    if type(value) is not bool:
        raise ActionValueError(f"metric {spec.name}: rate needs booleans, and record "
                               f"{index} has {type_name(value)} {value!r:.40}",
                               hint="use mean(x) for numbers")
    cell.count += 1
    cell.trues += value


_TAKERS: dict[str, Take] = {"sum": _take_sum, "mean": _take_sum, "min": _take_min,
                            "max": _take_max, "p50": _take_all, "p95": _take_all,
                            "rate": _take_rate}


class Accumulator:
    """Records in, one ``add`` at a time; rows out at ``finish``."""

    def __init__(self, groups: tuple[Group, ...], metrics: tuple[MetricSpec, ...]) -> None:
        self.groups = groups
        self.metrics = metrics
        self.getters = tuple(g.get for g in groups)
        fields = tuple(g.field for g in groups)
        self.fields = fields if all(fields) else None  # all plain: one C-level lookup
        self.single = fields[0] if self.fields is not None and len(fields) == 1 else None
        # p50 and p95 of one expression read the same values: fed once, one array
        self.alias: dict[int, int] = {}
        first: dict[str | None, int] = {}
        for i, m in enumerate(metrics):
            if m.kind in ("p50", "p95") and m.text is not None:
                self.alias[i] = first.setdefault(m.text, i)
        # (cell position, plain field or None, getter, feed) of each metric that is fed
        self.feeds = tuple((i, plain_field(m.text) if m.text else None, m.get, f)
                           for i, m in enumerate(metrics)
                           if self.alias.get(i, i) == i and (f := _feeder(m)) is not None)
        self.keep_values = tuple(m.kind in ("p50", "p95") for m in metrics)
        self.rows: dict[Any, list[Any]] = {}  # key -> [group values, size, cells]
        self.seen = 0

    def add(self, record: Any) -> None:
        """Fold one record in (the hot loop of an aggregate over a stream)."""
        index = self.seen
        self.seen = index + 1
        # a plain field of anything but an object is null, as its getter says
        fetch: Callable[[Any], Any] = record.get if type(record) is dict else _NOTHING.get
        if self.single is not None:  # one plain group field (tuple(map()) costs 4 times more)
            values: tuple[Any, ...] = (fetch(self.single),)
        elif self.fields is not None:
            values = tuple(map(fetch, self.fields))
        else:
            values = tuple([get(record) for get in self.getters])
        key: Any = values
        try:
            entry = self.rows.get(key)
        except TypeError:  # a list or object as a group value: grouped by its JSON text
            key = _hashable(values)
            entry = self.rows.get(key)
        if entry is None:
            entry = self.rows[key] = [list(values), 0, self._cells()]
        entry[1] += 1
        cells = entry[2]
        for position, name, get, feed in self.feeds:  # get is None only for a plain field
            feed(cells[position], fetch(name) if name is not None else get(record),  # type: ignore[misc]
                 index)

    def _cells(self) -> list[_Cell]:
        cells = [_Cell(keep) for keep in self.keep_values]
        for i, j in self.alias.items():
            cells[i] = cells[j]
        return cells

    def finish(self, min_group_size: int) -> tuple[list[dict[str, Any]], tuple[int, int]]:
        """The rows (sorted by group values) and (suppressed groups, their records). With
        no group_by there is one row, even over no records (its metrics then null)."""
        if not self.groups and not self.rows:
            self.rows[()] = [[], 0, self._cells()]
        rows, suppressed, lost = [], 0, 0
        for key in sorted(self.rows, key=_sort_key):
            values, size, cells = self.rows[key]
            if size < min_group_size:
                suppressed += 1
                lost += size
                continue
            row = {g.name: v for g, v in zip(self.groups, values, strict=True)}
            ordered: dict[int, list[float]] = {}  # p50 and p95 share a cell: sorted once
            for spec, cell in zip(self.metrics, cells, strict=True):
                plain_count = spec.kind == "count" and spec.get is None
                row[spec.name] = size if plain_count else _finish(spec.kind, cell, ordered)
            rows.append(row)
        return rows, (suppressed, lost)


def _hashable(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(compact_json(v) if isinstance(v, list | dict) else v for v in values)


def _finish(kind: str, cell: _Cell, ordered: dict[int, list[float]]) -> float | int | None:
    if kind == "count":
        return cell.count
    if cell.count == 0:
        return None
    if kind == "rate":
        return cell.trues / cell.count
    if kind == "sum":
        return _tidy(cell.total)
    if kind == "mean":
        return cell.total / cell.count
    if kind == "min":
        return _tidy(cell.low)
    if kind == "max":
        return _tidy(cell.high)
    assert cell.values is not None
    values = ordered.get(id(cell))
    if values is None:
        values = ordered[id(cell)] = sorted(cell.values)
    return percentile(values, 0.5 if kind == "p50" else 0.95)


def _tidy(number: float) -> float | int:
    return int(number) if float(number).is_integer() and abs(number) < 2**53 else number


def percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in key)
