"""## `aggregate`

Turns records into summaries. Every matched location contributes records: a list
contributes its elements, anything else itself (a record may be a plain value, such as a
tag: group it with `{tag: "@"}`). Records are grouped by `group_by`, each group
is summarized by `metrics`, groups with fewer than `min_group_size` records are
suppressed (and counted in the report), and the rows are written at `into`. The matched
lists themselves are removed, unless `keep_source: true`.

| option | meaning | default |
|---|---|---|
| `group_by` | fields (JMESPath expressions on each record) to group by; an entry `{name: expression}` names its column | `[]`: one summary of all records |
| `metrics` | `name: metric` pairs; a metric is `count`, `count(x)`, `sum(x)`, `mean(x)`, `min(x)`, `max(x)`, `p50(x)`, `p95(x)` or `rate(x)`, where `x` is a JMESPath expression on each record | required |
| `min_group_size` | smallest group exported; smaller ones are suppressed | `1` |
| `into` | where the result goes: a dotted location, created if missing | required |
| `digits` | round every non-integer metric to this many decimals (0 to 10) | no rounding |
| `keep_source` | leave the matched records in place for a later rule or aggregate; they stay *uncovered* (an aggregate reads records, it does not vouch for exporting them raw), so `unmatched: drop` still removes them unless another rule keeps them | `false` |

With `group_by`, `into` receives a list of rows sorted by their group values, each with
the group columns and the metrics; without it, one object of metrics. `count` is the number of records in the group, `count(x)` the number whose `x` is true
in JMESPath's sense (not false, null, empty or missing). `null` values of
`x` are skipped; when `x` gives a list (e.g. `refinement_history[*].improvement_percent`),
each element counts. `rate(x)` is the share of `true` among the booleans of `x`; `p50`
and `p95` interpolate linearly between the two nearest values. A metric over no values
is `null`. A value of the wrong type (text for `mean`, a number for `rate`) is an error
naming the rule and the record.

To group by day, round the timestamps first with a `round` rule (`to: day`): rules run
in order and `aggregate` sees the rounded values.

```yaml
rule:
  select: analytics.agents
  action: aggregate
  group_by: [agent_name]
  metrics: {runs: count, success_rate: rate(success), p95_duration: p95(duration)}
  min_group_size: 2
  into: usage_patterns.agents
given: {"analytics": {"agents": [
  {"agent_name": "reviewer", "duration": 1.0, "success": true},
  {"agent_name": "reviewer", "duration": 3.0, "success": false},
  {"agent_name": "tester", "duration": 9.0, "success": true}]}}
expect: {"analytics": {}, "usage_patterns": {"agents": [
  {"agent_name": "reviewer", "runs": 2, "success_rate": 0.5, "p95_duration": 2.9}]}}
```

```yaml
rule:
  select: capabilities.metrics
  action: aggregate
  metrics:
    capabilities: count
    refinements: sum(length(refinement_history))
    mean_improvement: mean(refinement_history[*].improvement_percent)
  into: capability_metrics.totals
  keep_source: true
given: {"capabilities": {"metrics": [
  {"capability_id": "a", "refinement_history": [{"improvement_percent": 5.0}]},
  {"capability_id": "b", "refinement_history": [{"improvement_percent": 1.0},
                                                {"improvement_percent": 3.0}]}]}}
expect: {"capabilities": {"metrics": [
  {"capability_id": "a", "refinement_history": [{"improvement_percent": 5.0}]},
  {"capability_id": "b", "refinement_history": [{"improvement_percent": 1.0},
                                                {"improvement_percent": 3.0}]}]},
         "capability_metrics": {"totals": {"capabilities": 2, "refinements": 3,
                                           "mean_improvement": 3.0}}}
```
"""

from __future__ import annotations

import re
from typing import Any

from .aggregate_fold import Accumulator, Group, MetricSpec, compile_expression, plain_field
from .base import Action, FoldOutcome, OptionError, RunContext

_METRIC = re.compile(r"\s*(count|sum|mean|min|max|p50|p95|rate)\s*(?:\((.*)\))?\s*\Z", re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _prepare(options: dict[str, Any]) -> dict[str, Any]:
    groups = []
    for entry in options.get("group_by", []):
        if isinstance(entry, dict):
            if len(entry) != 1:
                raise OptionError("group_by", "a named group_by entry has one name: "
                                  f"{entry!r}", hint="write {day: timestamp}")
            ((name, expression),) = entry.items()
        else:
            name = expression = entry
        if not isinstance(expression, str) or not _NAME.match(str(name)):
            raise OptionError("group_by", f"bad group_by entry {entry!r}",
                              hint="a field name, or {column_name: expression}")
        groups.append(Group(str(name), _expression("group_by", expression),
                            plain_field(expression)))
    metrics = []
    for name, text in options["metrics"].items():
        found = _METRIC.match(str(text))
        if not found:
            raise OptionError("metrics", f"metric {name}: {text!r} is not a metric",
                              hint="use count, sum(x), mean(x), min(x), max(x), p50(x), "
                              "p95(x) or rate(x)")
        kind, argument = found.groups()
        if kind != "count" and argument is None:
            raise OptionError("metrics", f"metric {name}: {kind} needs a field, "
                              f"e.g. {kind}(duration)")
        expr = None if argument is None else _expression("metrics", argument.strip())
        metrics.append(MetricSpec(name, kind, expr, None if argument is None else
                                  argument.strip()))
    return {**options, "groups": tuple(groups), "metric_specs": tuple(metrics),
            "into_path": tuple(options["into"].split("."))}


def _expression(option: str, text: str) -> Any:
    try:
        return compile_expression(text)
    except ValueError as exc:
        raise OptionError(option, f"{text!r} is not a JMESPath expression: {exc}") from None


class _Aggregation:
    """Records in, one add at a time; rows out at the end."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.drop_sources = not params.get("keep_source", False)
        self.acc = Accumulator(params["groups"], params["metric_specs"])

        self.add_record = self.acc.add  # one record of a stream

    def add(self, value: Any) -> None:
        """A matched location: a list gives its records, anything else is one."""
        if type(value) is list:
            for record in value:
                self.acc.add(record)
        else:
            self.acc.add(value)

    def finish(self) -> FoldOutcome:
        params = self.params
        rows, (suppressed, lost) = self.acc.finish(params.get("min_group_size", 1))
        digits = params.get("digits")
        if digits is not None:
            for row in rows:
                for spec in params["metric_specs"]:
                    if isinstance(row[spec.name], float):
                        row[spec.name] = round(row[spec.name], digits)
        notes = {"records": self.acc.seen, "groups": len(rows),
                 "suppressed_groups": suppressed, "suppressed_records": lost}
        writes = []
        if params["groups"]:
            writes.append((params["into_path"], rows))
        elif rows:
            writes.append((params["into_path"], rows[0]))
        return FoldOutcome(writes=writes, notes=notes)


def _fold(params: dict[str, Any], ctx: RunContext) -> _Aggregation:
    return _Aggregation(params)


ACTION = Action(
    name="aggregate",
    summary="summarize records into groups (count, sum, mean, min, max, p50, p95, rate)",
    treatment="aggregated",
    options={
        "group_by": {"type": "list", "default": [],
                     "schema": {"type": ["string", "dict"]}},
        "metrics": {"type": "dict", "required": True, "empty": False,
                    "keysrules": {"type": "string", "regex": "[A-Za-z_][A-Za-z0-9_]*"},
                    "valuesrules": {"type": "string"}},
        "min_group_size": {"type": "integer", "min": 1, "default": 1},
        "into": {"type": "string", "required": True,
                 "regex": r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"},
        "keep_source": {"type": "boolean", "default": False},
        "digits": {"type": "integer", "min": 0, "max": 10},
    },
    fold=_fold,
    prepare=_prepare,
    doc=__doc__ or "",
)
