"""The dashboard's model: frozen dataclasses whose ``asdict`` is the JSON shape, and the
small numeric helpers that compute their figures (None where there is nothing to count)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DIGITS = 4


def number(value: Any) -> float | None:
    """A finite JSON number as a float; None for anything else (booleans included)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def mean(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return round(sum(found) / len(found), DIGITS) if found else None


def weighted(pairs: Iterable[tuple[float | None, int]]) -> float | None:
    """The mean of values weighted by counts (pairs with no value or no weight skipped)."""
    found = [(v, w) for v, w in pairs if v is not None and w > 0]
    total = sum(w for _, w in found)
    return round(sum(v * w for v, w in found) / total, DIGITS) if total else None


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, DIGITS) if whole else None


@dataclass(frozen=True)
class Capability:
    capability_id: str
    agent_id: str | None
    usage_count: int
    success_rate: float | None
    quality_score: float | None
    average_duration: float | None  # seconds
    refinements: int
    mean_improvement: float | None  # percent, over the refinements
    last_improved: str | None  # YYYY-MM-DD
    success_history: tuple[float, ...]  # before the first refinement, then after each
    quality_history: tuple[float, ...]


@dataclass(frozen=True)
class CapabilitySummary:
    capabilities: int
    total_usage: int
    success_rate: float | None  # usage-weighted
    quality_score: float | None  # usage-weighted
    average_duration: float | None  # usage-weighted, seconds
    refinements: int


@dataclass(frozen=True)
class Capabilities:
    summary: CapabilitySummary
    rows: tuple[Capability, ...]


@dataclass(frozen=True)
class PatternSummary:
    patterns: int
    anti_patterns: int
    anti_pattern_rate: float | None
    mean_quality: float | None
    mean_success_rate: float | None
    rejections: int


@dataclass(frozen=True)
class PatternType:
    pattern_type: str
    patterns: int
    anti_patterns: int
    mean_quality: float | None
    mean_success_rate: float | None
    mean_security_score: float | None


@dataclass(frozen=True)
class Patterns:
    summary: PatternSummary
    by_type: tuple[PatternType, ...]


@dataclass(frozen=True)
class Tag:
    tag: str
    patterns: int


@dataclass(frozen=True)
class Security:
    secure: int  # scored at least secure_min_score, no anti-pattern, no vulnerability
    insecure: int  # an anti-pattern, a vulnerability tag, or scored below the minimum
    unscored: int  # security_score 0.0 (the framework's default) and nothing flagged
    secure_min_score: float
    mean_security_score: float | None  # over scored patterns, 0-10
    vulnerabilities: tuple[Tag, ...]


@dataclass(frozen=True)
class Day:
    date: str
    tasks: int
    mean_quality: float | None
    task_success_rate: float | None
    runs: int
    run_success_rate: float | None


@dataclass(frozen=True)
class OutcomeCount:
    outcome: str
    tasks: int
    share: float | None  # of all tasks
    top_agent: str  # the agent with the most tasks of this outcome
    top_agent_tasks: int


@dataclass(frozen=True)
class Performer:
    name: str
    runs: int
    success_rate: float | None
    failures: int


@dataclass(frozen=True)
class Failures:
    tasks: int
    failed_tasks: int  # tasks whose outcome is not success
    outcomes: tuple[OutcomeCount, ...]
    lowest_agents: tuple[Performer, ...]
    lowest_workflows: tuple[Performer, ...]
    min_runs: int


@dataclass(frozen=True)
class Project:
    name: str
    framework_version: str | None


@dataclass(frozen=True)
class Period:
    first: str
    last: str


@dataclass(frozen=True)
class Dashboard:
    dashboard_version: int
    generated_at: str
    project: Project
    filters: dict[str, Any]
    period: Period | None
    sources: dict[str, str]  # collector source -> ok, missing or unreadable
    warnings: tuple[str, ...]
    capabilities: Capabilities
    patterns: Patterns
    security: Security
    trends: tuple[Day, ...]
    failures: Failures
