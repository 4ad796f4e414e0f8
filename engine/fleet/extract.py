"""One export's figures, read into integer sums per group (a capability, a pattern type,
a tag, an agent, ...), names made public first (names.py). Used by ``combine.contribute``
on an export already checked against its schema and migrated to the latest version."""

from __future__ import annotations

from typing import Any

from . import names

SCALE = 10**9  # values are kept as round(value * SCALE): exact to 1e-9, far below the output
Stat = tuple[int, int, int]  # (numerator, denominator, contributing projects)


class _Sink:
    """The figures of one export, summed per group before they count as one project."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], dict[str, list[int]]] = {}

    def touch(self, group: tuple[str, str]) -> dict[str, list[int]]:
        return self.groups.setdefault(group, {})

    def total(self, group: tuple[str, str], figure: str, count: Any) -> None:
        if isinstance(count, int) and not isinstance(count, bool):
            self._add(group, figure, count, 0)

    def mean(self, group: tuple[str, str], figure: str, value: Any, weight: int) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool) and weight > 0:
            self._add(group, figure, round(value * SCALE) * weight, weight)

    def ratio(self, group: tuple[str, str], figure: str, part: int, whole: int) -> None:
        if whole > 0:
            self._add(group, figure, part * SCALE, whole)

    def _add(self, group: tuple[str, str], figure: str, num: int, den: int) -> None:
        stat = self.touch(group).setdefault(figure, [0, 0])
        stat[0] += num
        stat[1] += den

    def stats(self) -> dict[tuple[str, str], dict[str, Stat]]:
        """Each group's figures as one project's contribution (projects = 1)."""
        return {group: {"projects": (1, 0, 1),
                        **{fig: (num, den, 1) for fig, (num, den) in figures.items()}}
                for group, figures in self.groups.items()}  # fmt: skip


def _rows(doc: dict[str, Any], section: str, name: str) -> list[dict[str, Any]]:
    holder = doc.get(section)
    rows = holder.get(name) if isinstance(holder, dict) else None
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _capabilities(doc: dict[str, Any], sink: _Sink) -> None:
    for row in _rows(doc, "capability_metrics", "capabilities"):
        usage = row["usage_count"]
        if usage <= 0:
            continue  # registered, never used: not a project "using" it
        if row["capability_id"] in names.CAPABILITIES:
            group = ("capabilities", row["capability_id"])
            sink.mean(group, "average_duration", row["average_duration"], usage)
            sink.total(group, "refinements", row["refinements"])
        else:  # hashed per project (custom_...): never the same across projects, never shown
            group = ("custom_capabilities", "")
            sink.total(group, "capabilities", 1)
        sink.total(group, "usage", usage)
        sink.mean(group, "success_rate", row["success_rate"], usage)
        sink.mean(group, "quality_score", row["quality_score"], usage)


def _patterns(doc: dict[str, Any], sink: _Sink) -> None:
    holder = doc.get("pattern_statistics")
    summary = holder.get("summary") if isinstance(holder, dict) else None
    if isinstance(summary, dict) and summary["patterns"] > 0:
        group, count = ("patterns", ""), summary["patterns"]
        for figure in ("patterns", "anti_patterns", "rejections"):
            sink.total(group, figure, summary[figure])
        sink.ratio(group, "anti_pattern_rate", summary["anti_patterns"], count)
        sink.mean(group, "mean_quality", summary["mean_quality"], count)
        sink.mean(group, "mean_security_score", summary["mean_security_score"], count)
    for row in _rows(doc, "pattern_statistics", "by_type"):
        count = row["patterns"]
        if count <= 0:
            continue
        group = ("pattern_types", names.public_in("pattern_type", row["pattern_type"]))
        sink.total(group, "patterns", count)
        sink.total(group, "anti_patterns", row["anti_patterns"])
        sink.ratio(group, "anti_pattern_rate", row["anti_patterns"], count)
        for figure in ("mean_quality", "mean_success_rate", "mean_security_score"):
            sink.mean(group, figure, row[figure], count)
    for row in _rows(doc, "pattern_statistics", "vulnerabilities"):
        if row["patterns"] > 0:
            tag = names.public_in("tag", row["tag"])
            sink.total(("vulnerabilities", tag), "patterns", row["patterns"])


def _usage(doc: dict[str, Any], sink: _Sink) -> None:
    for section, field in (("agents", "agent_name"), ("workflows", "workflow_name")):
        for row in _rows(doc, "usage_patterns", section):
            runs = row["runs"]
            if runs <= 0:
                continue
            group = (section, names.public_in(field, row[field]))
            sink.total(group, "runs", runs)
            sink.mean(group, "success_rate", row["success_rate"], runs)
            if section == "workflows":
                sink.mean(group, "mean_steps", row["mean_steps"], runs)


def _learning(doc: dict[str, Any], sink: _Sink) -> None:
    for row in _rows(doc, "learning_effectiveness", "refinements_by_type"):
        count = row["refinements"]
        if count > 0:
            kind = names.public_in("improvement_type", row["improvement_type"])
            sink.total(("refinements", kind), "refinements", count)
            sink.mean(("refinements", kind), "mean_improvement", row["mean_improvement"], count)
    outcomes = doc.get("task_outcomes")  # schema 1.1; null in an export migrated from 1.0
    for row in outcomes if isinstance(outcomes, list) else []:
        if isinstance(row, dict) and row["tasks"] > 0:
            group = ("task_outcomes", names.public_in("outcome", row["outcome"]))
            sink.total(group, "tasks", row["tasks"])
            sink.mean(group, "mean_quality", row["mean_quality"], row["tasks"])


def figures(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Stat]]:
    """The figures of one (valid, latest-version) export, as one project's contribution."""
    sink = _Sink()
    for read in (_capabilities, _patterns, _usage, _learning):
        read(document, sink)
    return sink.stats()
