"""The dashboard's figures, computed from a collected (raw, local) document.

``build(document, capabilities_only=(), since=None)`` narrows the document as ``export``
does (``--capability``, ``--since``) and computes five views: capability metrics, pattern
statistics, security metrics, learning trends per day and failure analysis. The result is
a tree of frozen dataclasses; ``to_dict`` gives the stable JSON shape documented in
docs/dashboard.md. Values come from the user's own data and stay on their machine: the
dashboard shows counts, scores and names, never code, paths or free text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .. import collector, exporter
from ..provenance import Filters
from ..streams import RecordStream
from .figures import (
    Capabilities,
    Capability,
    CapabilitySummary,
    Dashboard,
    Day,
    Failures,
    OutcomeCount,
    Patterns,
    PatternSummary,
    PatternType,
    Performer,
    Period,
    Project,
    Security,
    Tag,
    mean,
    number,
    rate,
    weighted,
)

DASHBOARD_VERSION = 1
SECURE_MIN_SCORE = 5.0  # security_score is 0-10; 0.0 is the framework's "never scored"
MIN_RUNS = 3  # an agent or workflow with fewer runs is not ranked for lowest success
LOWEST = 5  # how many agents and workflows the failure analysis lists


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _day(stamp: Any) -> str | None:
    if not isinstance(stamp, str):
        return None
    try:
        return dt.date.fromisoformat(stamp[:10]).isoformat()
    except ValueError:
        return None


def narrow(document: dict[str, Any], capabilities: Sequence[str], since: str | None) -> None:
    """Keep only the named capabilities (an unknown one is refused) and the records from
    ``since`` on (in place)."""
    exporter.narrow(document, Filters(capabilities=tuple(capabilities), since=since))
    if since:
        for metric in _dicts(_mapping(document.get("capabilities")).get("metrics")):
            metric["refinement_history"] = [
                r for r in _dicts(metric.get("refinement_history"))
                if (_day(r.get("timestamp")) or "") >= since]


def _history(metric: dict[str, Any], field: str) -> tuple[float, ...]:
    """A capability's ``field`` before its first refinement and after each, in time order."""
    steps = sorted(_dicts(metric.get("refinement_history")), key=lambda r: str(r.get("timestamp")))
    points = [number(steps[0].get("before_metric", {}).get(field))] if steps else []
    points += [number(s.get("after_metric", {}).get(field)) for s in steps
               if isinstance(s.get("after_metric"), dict)]
    return tuple(p for p in points if p is not None)


def capabilities(metrics: list[dict[str, Any]]) -> Capabilities:
    rows = []
    for m in metrics:
        history = _dicts(m.get("refinement_history"))
        usage = m["usage_count"] if isinstance(m.get("usage_count"), int) else 0
        rows.append(Capability(
            str(m.get("capability_id")), m.get("agent_id") if isinstance(m.get("agent_id"), str)
            else None, usage, number(m.get("success_rate")), number(m.get("quality_score")),
            number(m.get("average_duration")), len(history),
            mean(number(r.get("improvement_percent")) for r in history),
            _day(m.get("last_improved")), _history(m, "success_rate"),
            _history(m, "quality_score")))  # fmt: skip
    rows.sort(key=lambda c: (-c.usage_count, c.capability_id))
    usage = [(c.usage_count, c) for c in rows]
    summary = CapabilitySummary(
        len(rows), sum(c.usage_count for c in rows),
        weighted((c.success_rate, n) for n, c in usage),
        weighted((c.quality_score, n) for n, c in usage),
        weighted((c.average_duration, n) for n, c in usage), sum(c.refinements for c in rows))
    return Capabilities(summary, tuple(rows))


def _pattern_type(kind: str, group: list[dict[str, Any]]) -> PatternType:
    return PatternType(kind, len(group), sum(p.get("is_anti_pattern") is True for p in group),
                       mean(number(p.get("quality_score")) for p in group),
                       mean(number(p.get("success_rate")) for p in group),
                       mean(number(p.get("security_score")) for p in group))


def patterns(records: list[dict[str, Any]]) -> Patterns:
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in records:
        by_type[str(p.get("pattern_type") or "other")].append(p)
    anti = sum(p.get("is_anti_pattern") is True for p in records)
    summary = PatternSummary(
        len(records), anti, rate(anti, len(records)),
        mean(number(p.get("quality_score")) for p in records),
        mean(number(p.get("success_rate")) for p in records),
        sum(p["rejection_count"] for p in records if isinstance(p.get("rejection_count"), int)))
    rows = sorted((_pattern_type(k, g) for k, g in by_type.items()),
                  key=lambda t: (-t.patterns, t.pattern_type))
    return Patterns(summary, tuple(rows))


def _tags(p: dict[str, Any]) -> list[str]:
    meta = p.get("metadata")
    tags = meta.get("vulnerabilities") if isinstance(meta, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def security(records: list[dict[str, Any]]) -> Security:
    secure = insecure = unscored = 0
    for p in records:
        score = number(p.get("security_score"))
        if p.get("is_anti_pattern") is True or _tags(p) or (score and score < SECURE_MIN_SCORE):
            insecure += 1
        elif not score:
            unscored += 1
        else:
            secure += 1
    tags = Counter(tag for p in records for tag in set(_tags(p)))
    scores = (number(p.get("security_score")) for p in records)
    return Security(secure, insecure, unscored, SECURE_MIN_SCORE,
                    mean(s for s in scores if s), tuple(Tag(t, n) for t, n in sorted(
                        tags.items(), key=lambda kv: (-kv[1], kv[0]))))


class _Tasks:
    """Task memory folded in one pass: per day, and by outcome and agent."""

    def __init__(self, memory: Iterable[Any]) -> None:
        self.days: dict[str, tuple[list[float | None], list[int]]] = {}  # scores, [n, ok]
        self.outcomes: Counter[str] = Counter()
        self.by_agent: dict[str, Counter[str]] = defaultdict(Counter)
        self.total = 0
        for m in _records(memory):
            self.total += 1
            outcome = _name(m.get("outcome"))
            self.outcomes[outcome] += 1
            self.by_agent[outcome][_name(m.get("agent_id"))] += 1
            if day := _day(m.get("timestamp")):
                scores, counts = self.days.setdefault(day, ([], [0, 0]))
                scores.append(number(m.get("quality_score")))
                counts[0] += 1
                counts[1] += m.get("outcome") == "success"


class _Runs:
    """Agent or workflow runs folded in one pass: per day, and per name (for ranking)."""

    def __init__(self, runs: Iterable[Any], field: str) -> None:
        self.days: dict[str, list[int]] = {}  # runs, successes
        self.groups: dict[str, list[int]] = {}  # runs, successes of a name
        for record in _records(runs):
            if day := _day(record.get("timestamp")):
                counts = self.days.setdefault(day, [0, 0])
                counts[0] += 1
                counts[1] += record.get("success") is True
            name, ok = record.get(field), record.get("success")
            if isinstance(name, str) and isinstance(ok, bool):
                group = self.groups.setdefault(name, [0, 0])
                group[0] += 1
                group[1] += ok


def _records(value: Any) -> Iterable[dict[str, Any]]:
    """The objects of a list or of a record stream (read once, never held)."""
    if isinstance(value, list | RecordStream):
        return (r for r in value if isinstance(r, dict))
    return ()


def trends(tasks: _Tasks, runs: _Runs) -> tuple[Day, ...]:
    days = []
    for day in sorted(set(tasks.days) | set(runs.days)):
        scores, (n, ok) = tasks.days.get(day, ([], [0, 0]))
        agent_runs, agent_ok = runs.days.get(day, [0, 0])
        days.append(Day(day, n, mean(scores), rate(ok, n), agent_runs, rate(agent_ok, agent_runs)))
    return tuple(days)


def _performers(runs: _Runs) -> tuple[Performer, ...]:
    rows = [Performer(name, n, rate(ok, n), n - ok)
            for name, (n, ok) in runs.groups.items() if n >= MIN_RUNS]
    rows.sort(key=lambda p: (p.success_rate or 0.0, -p.runs, p.name))
    return tuple(rows[:LOWEST])


def _name(value: Any) -> str:
    return value if isinstance(value, str) and value else "unknown"


def failures(tasks: _Tasks, agents: _Runs, workflows: _Runs) -> Failures:
    rows = []
    for outcome, count in sorted(tasks.outcomes.items(), key=lambda kv: (-kv[1], kv[0])):
        if outcome != "success":
            agent, agent_tasks = min(tasks.by_agent[outcome].items(),
                                     key=lambda kv: (-kv[1], kv[0]))
            rows.append(OutcomeCount(outcome, count, rate(count, tasks.total), agent,
                                     agent_tasks))
    return Failures(tasks.total, sum(r.tasks for r in rows), tuple(rows),
                    _performers(agents), _performers(workflows), MIN_RUNS)


def build(document: dict[str, Any], *, capabilities_only: Sequence[str] = (),
          since: str | None = None, now: dt.datetime | None = None) -> Dashboard:
    """The dashboard of a collected document (narrowed in place by the filters). A lazy
    document (``collect(..., lazy=True)``) is read a stream at a time, each stream once:
    a large project's records are folded, never held (its patterns are)."""
    narrow(document, capabilities_only, since)
    records = list(_records(document.get("patterns")))
    analytics = _mapping(document.get("analytics"))
    tasks = _Tasks(document.get("memory"))
    agents = _Runs(analytics.get("agents"), "agent_name")
    workflows = _Runs(analytics.get("workflows"), "workflow_name")
    days = trends(tasks, agents)
    collection, project = _mapping(document.get("collection")), _mapping(document.get("project"))
    sources = _mapping(collection.get("sources"))
    _read_the_rest(document)  # a lazy document: the sources' counts and problems too
    # a lazy collection leaves the warnings to be made from the sources once read
    warnings = collection.get("warnings") or collector.warnings(sources)
    return Dashboard(
        DASHBOARD_VERSION, (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        Project(str(project.get("name")), project.get("framework_version")),
        {"capabilities": list(capabilities_only), "since": since},
        Period(days[0].date, days[-1].date) if days else None,
        {str(name): str(_mapping(entry).get("status", "missing"))
         for name, entry in sources.items()},
        tuple(str(w) for w in warnings),
        capabilities(_dicts(_mapping(document.get("capabilities")).get("metrics"))),
        patterns(records),
        security(records), days, failures(tasks, agents, workflows))


def _read_the_rest(document: dict[str, Any]) -> None:
    """Read the streams no figure reads: their sources' counts and problems are shown."""
    for stream in _mapping(document.get("learning")).values():
        if isinstance(stream, RecordStream):
            for _ in stream:
                pass


def to_dict(dashboard: Dashboard) -> dict[str, Any]:
    """The stable JSON shape (docs/dashboard.md): plain dicts, lists and values."""
    return _plain(dataclasses.asdict(dashboard))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
