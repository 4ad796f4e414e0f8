"""The folding machinery behind ``aggregate``: records in, one row per group out.

Records are fed one at a time (``Accumulator.add``), so a stream of records never has to
be held as a list: only the group keys and, for percentiles, one compact array of floats
per group and metric.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions

from .base import ActionValueError, compact_json, type_name

Getter = Callable[[dict[str, Any]], Any]
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

    def search(record: Any) -> Any:
        try:
            return compiled.search(record)
        except jmespath.exceptions.JMESPathError as exc:
            raise ActionValueError(f"{text!r} failed on a record: "
                                   f"{str(exc).splitlines()[0]}",
                                   hint="guard against missing values, e.g. "
                                   "length(x || `[]`)") from None

    return search


@dataclass(frozen=True)
class Group:
    name: str
    get: Getter


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # count, sum, mean, min, max, p50, p95, rate
    get: Getter | None


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


def _values(spec: MetricSpec, record: dict[str, Any]) -> Iterable[Any]:
    assert spec.get is not None
    value = spec.get(record)
    if value is None:
        return ()
    return [v for v in value if v is not None] if isinstance(value, list) else (value,)


class Accumulator:
    def __init__(self, groups: tuple[Group, ...], metrics: tuple[MetricSpec, ...]) -> None:
        self.groups = groups
        self.metrics = metrics
        self.rows: dict[Any, tuple[list[Any], int, list[_Cell]]] = {}
        self.seen = 0

    def add(self, record: dict[str, Any]) -> None:
        self.seen += 1
        values = [g.get(record) for g in self.groups]
        key = tuple(v if isinstance(v, str | int | float | bool) or v is None
                    else compact_json(v) for v in values)
        entry = self.rows.get(key)
        if entry is None:
            cells = [_Cell(m.kind in ("p50", "p95")) for m in self.metrics]
            entry = (values, 0, cells)
        self.rows[key] = (entry[0], entry[1] + 1, entry[2])
        for spec, cell in zip(self.metrics, entry[2], strict=True):
            if spec.get is None:
                continue
            if spec.kind == "count":
                cell.count += not _is_false(spec.get(record))
                continue
            for value in _values(spec, record):
                _feed(spec, cell, value, self.seen)

    def result(self, min_group_size: int) -> tuple[list[dict[str, Any]], tuple[int, int]]:
        rows, suppressed, lost = [], 0, 0
        for key in sorted(self.rows, key=_sort_key):
            values, size, cells = self.rows[key]
            if size < min_group_size:
                suppressed += 1
                lost += size
                continue
            row = {g.name: v for g, v in zip(self.groups, values, strict=True)}
            for spec, cell in zip(self.metrics, cells, strict=True):
                plain_count = spec.kind == "count" and spec.get is None
                row[spec.name] = size if plain_count else _finish(spec.kind, cell)
            rows.append(row)
        return rows, (suppressed, lost)


def fold_records(records: Iterable[dict[str, Any]], groups: tuple[Group, ...],
                 metrics: tuple[MetricSpec, ...],
                 min_group_size: int) -> tuple[list[dict[str, Any]], tuple[int, int]]:
    acc = Accumulator(groups, metrics)
    for record in records:
        acc.add(record)
    if not groups and acc.seen == 0:
        return [], (0, 0)
    if not groups and not acc.rows:
        acc.rows[()] = ([], 0, [_Cell(m.kind in ("p50", "p95")) for m in metrics])
    return acc.result(min_group_size)


def _feed(spec: MetricSpec, cell: _Cell, value: Any, index: int) -> None:
    if spec.kind == "rate":
        if not isinstance(value, bool):
            raise ActionValueError(f"metric {spec.name}: rate needs booleans, and record "
                                   f"{index - 1} has {type_name(value)} {value!r:.40}",
                                   hint="use mean(x) for numbers")
        cell.count += 1
        cell.trues += value
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ActionValueError(f"metric {spec.name}: {spec.kind} needs numbers, and record "
                               f"{index - 1} has {type_name(value)}",
                               hint="use rate(x) for booleans, or fix the records' types")
    cell.count += 1
    cell.total += value
    cell.low = min(cell.low, value)
    cell.high = max(cell.high, value)
    if cell.values is not None:
        cell.values.append(value)


def _is_false(value: Any) -> bool:
    """JMESPath's falsiness: false, null, and empty text, lists and objects."""
    return value is None or value is False or value == "" or value == [] or value == {}


def _finish(kind: str, cell: _Cell) -> float | int | None:
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
    return percentile(sorted(cell.values), 0.5 if kind == "p50" else 0.95)


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
