"""The export's figures, computed again here from the sample's raw files.

The raw ``.tapps-agents`` files are read with ``json`` (not with learnexport's collector),
and every summary the default policy promises is computed with the standard library:
per-capability and summary figures (custom ids hashed with HMAC-SHA256 under the project's
key, prefix ``custom_``), pattern and vulnerability counts, outcome and daily quality
figures, daily runs, per-agent and per-workflow runs and percentiles (names outside the
policy's allow lists generalized, groups below 3 suppressed). Figures agree within the
policy's ``digits: 4`` rounding. Filters and the privacy notice are checked the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from learnexport import versions
from learnexport.sample import generate

# The policy's allow lists, written out again (policies/default.yaml).
FRAMEWORK_CAPABILITIES = frozenset((
    "code_generation", "code_review", "testing", "documentation", "refactoring", "debugging",
    "security_scan", "architecture", "planning", "design", "performance_analysis",
    "dependency_audit", "test_generation", "requirements_analysis", "deployment", "ux_review"))
IMPROVEMENT_TYPES = frozenset(("prompt_optimization", "pattern_learning", "feedback_loop"))
PATTERN_TYPES = frozenset(("function", "class", "import", "structure"))
VULNERABILITIES = frozenset((
    "sql-injection", "xss", "hardcoded-secret", "path-traversal", "command-injection",
    "insecure-deserialization", "weak-crypto", "ssrf", "xxe", "csrf", "open-redirect",
    "insecure-random", "code-injection", "ldap-injection", "broken-auth", "insecure-tls",
    "sensitive-data-exposure", "debug-enabled"))
AGENTS = frozenset((
    "reviewer", "implementer", "tester", "debugger", "architect", "designer", "planner",
    "documenter", "ops", "analyst", "enhancer", "orchestrator", "evaluator", "improver"))
WORKFLOWS = frozenset((
    "rapid", "full-sdlc", "quality", "bugfix", "enhancement", "maintenance",
    "brownfield-analysis", "feature", "hotfix", "refactor"))  # fmt: skip
HASH_LENGTH = 16
MIN_GROUP = 3
TOLERANCE = 0.5e-4 + 1e-9  # digits: 4


# ---- reading the raw files ----------------------------------------------------------------


@dataclass
class Raw:
    capabilities: list[dict[str, Any]]
    patterns: list[dict[str, Any]]
    memory: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    workflows: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    key: bytes


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def read_raw(project: Path) -> Raw:
    base = project / ".tapps-agents"
    history = base / "analytics" / "history"

    def days(kind: str) -> list[dict[str, Any]]:
        return [r for path in sorted(history.glob(f"{kind}-*.jsonl")) for r in _lines(path)]

    registry = json.loads((base / "capabilities" / "capabilities.json").read_text("utf-8"))
    return Raw(
        capabilities=registry["metrics"],
        patterns=json.loads((base / "learning" / "patterns.json").read_text("utf-8")),
        memory=json.loads((base / "memory" / "memories.json").read_text("utf-8")),
        agents=days("agents"),
        workflows=days("workflows"),
        outcomes=_lines(base / "learning" / "outcomes.jsonl"),
        key=(base / "exports" / ".hash-key").read_bytes().strip(),
    )


# ---- computing the figures ------------------------------------------------------------------


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.fmean(values) if values else None


def _share(flags: Iterable[bool]) -> float | None:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _category(value: str, allowed: frozenset[str], other: str = "other") -> str:
    return value if value in allowed else other


def _groups(records: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], str],
            minimum: int = 1) -> list[tuple[str, list[dict[str, Any]]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        out[key(record)].append(record)
    return [(k, v) for k, v in sorted(out.items()) if len(v) >= minimum]


def capability_id(raw_id: str, key: bytes) -> str:
    if raw_id in FRAMEWORK_CAPABILITIES:
        return raw_id
    digest = hmac.new(key, raw_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return "custom_" + digest[:HASH_LENGTH]


def capability_metrics(caps: list[dict[str, Any]], key: bytes) -> dict[str, Any]:
    rows = []
    for cid, group in _groups(caps, lambda c: capability_id(c["capability_id"], key)):
        history = [h for c in group for h in c["refinement_history"]]
        rows.append({
            "capability_id": cid,
            "usage_count": sum(c["usage_count"] for c in group),
            "success_rate": _mean(c["success_rate"] for c in group),
            "quality_score": _mean(c["quality_score"] for c in group),
            "average_duration": _mean(c["average_duration"] for c in group),
            "refinements": len(history),
            "mean_improvement": _mean(h["improvement_percent"] for h in history),
        })  # fmt: skip
    out: dict[str, Any] = {"capabilities": rows}
    if caps:
        out["summary"] = {
            "capabilities": len(caps),
            "total_usage": sum(c["usage_count"] for c in caps),
            "mean_success_rate": _mean(c["success_rate"] for c in caps),
            "mean_quality_score": _mean(c["quality_score"] for c in caps),
            "refinements": sum(len(c["refinement_history"]) for c in caps),
        }
    return out


def pattern_statistics(patterns: list[dict[str, Any]]) -> dict[str, Any]:
    by_type = []
    for kind, group in _groups(patterns, lambda p: _category(p["pattern_type"], PATTERN_TYPES)):
        by_type.append({
            "pattern_type": kind,
            "patterns": len(group),
            "anti_patterns": sum(1 for p in group if p["is_anti_pattern"]),
            "mean_quality": _mean(p["quality_score"] for p in group),
            "mean_security_score": _mean(p["security_score"] for p in group),
            "mean_success_rate": _mean(p["success_rate"] for p in group),
        })  # fmt: skip
    tags = [_category(t, VULNERABILITIES) for p in patterns
            for t in p["metadata"].get("vulnerabilities", [])]  # fmt: skip
    return {
        "by_type": by_type,
        "summary": {
            "patterns": len(patterns),
            "anti_patterns": sum(1 for p in patterns if p["is_anti_pattern"]),
            "mean_quality": _mean(p["quality_score"] for p in patterns),
            "mean_security_score": _mean(p["security_score"] for p in patterns),
            "rejections": sum(p["rejection_count"] for p in patterns),
        },
        "vulnerabilities": [{"tag": t, "patterns": tags.count(t)} for t in sorted(set(tags))],
    }


def learning_effectiveness(raw: Raw) -> dict[str, Any]:
    history = [h for c in raw.capabilities for h in c["refinement_history"]]
    refinements = [
        {"improvement_type": kind, "refinements": len(group),
         "mean_improvement": _mean(h["improvement_percent"] for h in group)}
        for kind, group in _groups(history, lambda h: _category(h["improvement_type"],
                                                                 IMPROVEMENT_TYPES))
    ]  # fmt: skip
    trend = [
        {"date": day, "tasks": len(group), "mean_quality": _mean(m["quality_score"] for m in group),
         "success_rate": _share(m["outcome"] == "success" for m in group)}
        for day, group in _groups(raw.memory, lambda m: m["timestamp"][:10], MIN_GROUP)
    ]  # fmt: skip
    out: dict[str, Any] = {"refinements_by_type": refinements}
    if raw.outcomes:
        out["outcomes"] = {
            "outcomes": len(raw.outcomes),
            "first_pass_success_rate": _share(o["first_pass_success"] for o in raw.outcomes),
            "mean_iterations": _mean(o["iterations"] for o in raw.outcomes),
            "mean_time_to_correctness": _mean(o["time_to_correctness"] for o in raw.outcomes),
        }
    out["quality_trend"] = trend
    return out


def _runs(group: list[dict[str, Any]]) -> dict[str, Any]:
    durations = [r["duration"] for r in group]
    return {"runs": len(group), "success_rate": _share(r["success"] for r in group),
            "p50_duration": statistics.median(durations), "p95_duration": _p95(durations)}


def usage_patterns(raw: Raw) -> dict[str, Any]:
    daily = [{"date": day, "runs": len(g), "success_rate": _share(r["success"] for r in g)}
             for day, g in _groups(raw.agents, lambda r: r["timestamp"][:10])]  # fmt: skip
    agents = [{"agent_name": name, **_runs(g)} for name, g in
              _groups(raw.agents, lambda r: _category(r["agent_name"], AGENTS, "custom"),
                      MIN_GROUP)]  # fmt: skip
    workflows = [{"workflow_name": name, **_runs(g), "mean_steps": _mean(r["steps"] for r in g)}
                 for name, g in _groups(raw.workflows, lambda r: _category(
                     r["workflow_name"], WORKFLOWS, "custom"), MIN_GROUP)]  # fmt: skip
    return {"daily_runs": daily, "agents": agents, "workflows": workflows}


def expected_sections(raw: Raw) -> dict[str, Any]:
    return {
        "capability_metrics": capability_metrics(raw.capabilities, raw.key),
        "learning_effectiveness": learning_effectiveness(raw),
        "pattern_statistics": pattern_statistics(raw.patterns),
        "usage_patterns": usage_patterns(raw),
    }


def assert_close(actual: Any, expected: Any, path: str = "@") -> None:
    """Equal structure; counts and names exactly, fractions within the 4-digit rounding."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert sorted(actual) == sorted(expected), path
        for name in expected:
            assert_close(actual[name], expected[name], f"{path}.{name}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), path
        assert len(actual) == len(expected), f"{path}: {len(actual)} rows, {len(expected)} expected"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{path}[{index}]")
    elif isinstance(expected, float):
        assert isinstance(actual, int | float) and not isinstance(actual, bool), path
        assert actual == pytest.approx(expected, abs=TOLERANCE, rel=0), path
        assert round(actual, 4) == actual, f"{path}: {actual} has more than 4 decimals"
    else:
        assert actual == expected and type(actual) is type(expected), \
            f"{path}: {actual!r} != {expected!r}"


def _rows(doc: dict[str, Any]) -> int:
    return sum(len(v) if isinstance(v, list) else 1
               for name, section in doc.items() if name != "export_metadata"
               for v in section.values())  # fmt: skip


# ---- a project with names outside every allow list ------------------------------------------

EXTRA_DAY = "2026-01-20"
EXTRA_NAMES = ("acme-invoice-bot", "globex-helper", "acme-release-train", "macro-expansion",
               "acme-internal-leak", "manual_tuning")  # fmt: skip


def _agent_line(name: str, i: int, duration: float, success: bool) -> dict[str, Any]:
    return {"agent_id": name, "agent_name": name, "duration": duration, "success": success,
            "timestamp": f"{EXTRA_DAY}T{9 + i:02d}:15:00.000001"}


def add_extras(project: Path) -> None:
    """Custom agents (5 runs as "custom"), an allowed agent with 2 runs (suppressed), a custom
    workflow, a pattern type, a vulnerability tag and an improvement type outside the policy's
    lists, and a day with 2 tasks (suppressed from the quality trend)."""
    base = project / ".tapps-agents"
    history = base / "analytics" / "history"
    agents = ([("acme-invoice-bot", 4.0 + i, i != 2) for i in range(4)]
              + [("globex-helper", 30.5, False), ("improver", 2.0, True), ("improver", 3.0, True),
                 ("reviewer", 7.25, True)])  # fmt: skip
    lines = [_agent_line(n, i, d, s) for i, (n, d, s) in enumerate(agents)]
    (history / f"agents-{EXTRA_DAY}.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    flows = [{"workflow_id": f"acme-release-train-{i}", "workflow_name": "acme-release-train",
              "duration": 100.0 * (i + 1), "steps": 3 + i, "success": i > 0,
              "timestamp": f"{EXTRA_DAY}T1{i}:00:00.5"} for i in range(3)]  # fmt: skip
    (history / f"workflows-{EXTRA_DAY}.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in flows), "utf-8")

    patterns_file = base / "learning" / "patterns.json"
    patterns = json.loads(patterns_file.read_text("utf-8"))
    for i, tags in enumerate((["acme-internal-leak", "xss"], [])):
        patterns.append({
            "pattern_id": f"macro_{i}", "pattern_type": "macro-expansion",
            "code_snippet": "x = 1", "context": "Anti-pattern" if tags else "plain",
            "quality_score": 0.25 * (i + 1), "usage_count": 3, "success_rate": 0.5,
            "learned_from": [], "metadata": {"vulnerabilities": tags} if tags else {},
            "security_score": 2.0 + 5 * i, "is_anti_pattern": bool(tags),
            "failure_reasons": [], "rejection_count": 4 if tags else 0})  # fmt: skip
    patterns_file.write_text(json.dumps(patterns), "utf-8")

    caps_file = base / "capabilities" / "capabilities.json"
    registry = json.loads(caps_file.read_text("utf-8"))
    target = registry["metrics"][1]
    target["refinement_history"].append({
        "timestamp": f"{EXTRA_DAY}T10:00:00+00:00", "improvement_type": "manual_tuning",
        "before_metric": {}, "after_metric": {}, "improvement_percent": 2.5,
        "learned_patterns": [], "metadata": {}})  # fmt: skip
    caps_file.write_text(json.dumps(registry), "utf-8")

    memory_file = base / "memory" / "memories.json"
    memory = json.loads(memory_file.read_text("utf-8"))
    for i in range(2):
        memory.append({"task_id": f"task_x{i}", "agent_id": "reviewer", "command": "review",
                       "timestamp": f"{EXTRA_DAY}T1{i}:00:00", "outcome": "success",
                       "quality_score": 0.5, "key_learnings": [], "patterns_used": [],
                       "similar_tasks": [], "context": {}, "metadata": {}})  # fmt: skip
    memory_file.write_text(json.dumps(memory), "utf-8")


@pytest.fixture(scope="module")
def extras_export(cli, tmp_path_factory):
    info = generate(tmp_path_factory.mktemp("extras") / "project", "small", 11)
    add_extras(info.root)
    return cli.export(info.root, info=info)


@pytest.fixture(params=["small", "typical", "extras"])
def any_export(request):
    return request.getfixturevalue(f"{request.param}_export")


# ---- the figures ------------------------------------------------------------------------------


def test_every_figure_matches_the_raw_files(any_export) -> None:
    raw = read_raw(any_export.project)
    doc = any_export.doc
    expected = expected_sections(raw)
    assert sorted(doc) == sorted(["export_metadata", *expected])
    for section, figures in expected.items():
        assert_close(doc[section], figures, section)


def test_custom_capabilities_are_hashed_and_framework_ones_kept(any_export) -> None:
    raw = read_raw(any_export.project)
    ids = [row["capability_id"] for row in any_export.doc["capability_metrics"]["capabilities"]]
    custom = [c["capability_id"] for c in raw.capabilities
              if c["capability_id"] not in FRAMEWORK_CAPABILITIES]  # fmt: skip
    framework = [c["capability_id"] for c in raw.capabilities
                 if c["capability_id"] in FRAMEWORK_CAPABILITIES]  # fmt: skip
    assert len(custom) >= 2 and framework
    assert set(framework) <= set(ids)
    hashed = {i for i in ids if i.startswith("custom_")}
    assert hashed == {capability_id(c, raw.key) for c in custom}
    assert all(re.fullmatch(r"custom_[0-9a-f]{16}", i) for i in hashed)
    assert len(ids) == len(raw.capabilities)
    assert not any(c in any_export.text for c in custom)


def test_extras_are_generalized_and_suppressed(extras_export) -> None:
    doc = extras_export.doc
    agents = {row["agent_name"]: row for row in doc["usage_patterns"]["agents"]}
    assert agents["custom"]["runs"] == 5
    assert agents["custom"]["success_rate"] == pytest.approx(3 / 5, abs=TOLERANCE)
    assert "improver" not in agents  # 2 runs: below the minimum
    workflows = {row["workflow_name"]: row for row in doc["usage_patterns"]["workflows"]}
    assert workflows["custom"]["runs"] == 3
    assert "other" in {row["pattern_type"] for row in doc["pattern_statistics"]["by_type"]}
    assert {"tag": "other", "patterns": 1} in doc["pattern_statistics"]["vulnerabilities"]
    refinements = doc["learning_effectiveness"]["refinements_by_type"]
    assert "other" in {row["improvement_type"] for row in refinements}
    assert EXTRA_DAY not in {r["date"] for r in doc["learning_effectiveness"]["quality_trend"]}
    assert EXTRA_DAY in {r["date"] for r in doc["usage_patterns"]["daily_runs"]}
    warnings = doc["export_metadata"]["warnings"]
    assert "rule agent-usage: 1 group(s) below the minimum size suppressed" in warnings
    assert "rule quality-trend: 1 group(s) below the minimum size suppressed" in warnings
    for name in EXTRA_NAMES:
        assert name not in extras_export.text
    assert extras_export.result.returncode == 0


# ---- the privacy notice states this run's numbers -------------------------------------------


def _notice_numbers(notice: str) -> dict[str, int]:
    found = {}
    for name, pattern in (("records", r"(\d+) records were folded"),
                          ("rows", r"folded into (\d+) summary rows"),
                          ("hashed", r"hashed: (\d+)"), ("rounded", r"rounded: (\d+)"),
                          ("generalized", r"generalized: (\d+)")):  # fmt: skip
        match = re.search(pattern, notice)
        found[name] = int(match.group(1)) if match else 0
    return found


def test_privacy_notice_numbers_match_the_run(any_export) -> None:
    raw = read_raw(any_export.project)
    doc = any_export.doc
    meta = doc["export_metadata"]
    notice = meta["privacy_notice"]
    assert notice.startswith(f"Anonymized by policy default {meta['policy']['version']} "
                             f"(sha256 {meta['policy']['sha256'][:12]}).")
    numbers = _notice_numbers(notice)
    custom = [c for c in raw.capabilities if c["capability_id"] not in FRAMEWORK_CAPABILITIES]
    assert numbers["hashed"] == len(custom)
    assert numbers["rounded"] == len(raw.memory) + len(raw.agents) + len(raw.workflows)
    tags = [t for p in raw.patterns for t in p["metadata"].get("vulnerabilities", [])]
    history = [h for c in raw.capabilities for h in c["refinement_history"]]
    folded = (2 * len(raw.capabilities) + len(history) + 2 * len(raw.patterns) + len(tags)
              + len(raw.outcomes) + len(raw.memory) + 2 * len(raw.agents) + len(raw.workflows))
    assert numbers["records"] == folded
    assert numbers["rows"] == _rows(doc)
    generalized = (sum(h["improvement_type"] not in IMPROVEMENT_TYPES for h in history)
                   + sum(p["pattern_type"] not in PATTERN_TYPES for p in raw.patterns)
                   + sum(t not in VULNERABILITIES for t in tags)
                   + sum(a["agent_name"] not in AGENTS for a in raw.agents)
                   + sum(w["workflow_name"] not in WORKFLOWS for w in raw.workflows))
    assert numbers["generalized"] == generalized


def test_privacy_notice_counts_only_the_sections_exported(cli, small_export, tmp_path) -> None:
    """With --exclude, the notice must not claim summary rows the file does not hold."""
    run = cli.export(small_export.project, "--exclude", "usage_patterns",
                     output=tmp_path / "out.json")
    numbers = _notice_numbers(run.doc["export_metadata"]["privacy_notice"])
    assert numbers["rows"] == _rows(run.doc)


# ---- filters ----------------------------------------------------------------------------------


def test_since_until_count_only_records_in_range(cli, small_export, tmp_path) -> None:
    since, until = "2026-01-07", "2026-01-09"
    run = cli.export(small_export.project, "--since", since, "--until", until,
                     output=tmp_path / "range.json")
    doc = run.doc
    raw = read_raw(small_export.project)

    def inside(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if since <= r["timestamp"][:10] <= until]

    narrowed = Raw(raw.capabilities, raw.patterns, inside(raw.memory), inside(raw.agents),
                   inside(raw.workflows), inside(raw.outcomes), raw.key)
    daily = doc["usage_patterns"]["daily_runs"]
    assert [r["date"] for r in daily] == ["2026-01-07", "2026-01-08", "2026-01-09"]
    assert sum(r["runs"] for r in daily) == len(narrowed.agents) < len(raw.agents)
    expected = expected_sections(narrowed)
    for section, figures in expected.items():
        assert_close(doc[section], figures, section)
    filters = doc["export_metadata"]["filters"]
    assert (filters["since"], filters["until"]) == (since, until)
    assert versions.validate(run.doc, str(run.path)) == "1.0"  # as `validate` does


def test_capability_filter_keeps_only_those_rows(cli, small_export, tmp_path) -> None:
    raw = read_raw(small_export.project)
    custom = next(c["capability_id"] for c in raw.capabilities
                  if c["capability_id"] not in FRAMEWORK_CAPABILITIES)  # fmt: skip
    run = cli.export(small_export.project, "--capability", "testing", "--capability", custom,
                     output=tmp_path / "cap.json")
    chosen = [c for c in raw.capabilities if c["capability_id"] in ("testing", custom)]
    assert len(chosen) == 2
    assert_close(run.doc["capability_metrics"], capability_metrics(chosen, raw.key),
                 "capability_metrics")
    assert custom not in run.text
    assert run.doc["export_metadata"]["filters"]["capabilities"] == 2
    assert run.doc["usage_patterns"] == small_export.doc["usage_patterns"]
    assert versions.validate(run.doc, str(run.path)) == "1.0"  # as `validate` does


def test_agent_filter_keeps_only_that_agents_records(cli, small_export, tmp_path) -> None:
    run = cli.export(small_export.project, "--agent", "reviewer", output=tmp_path / "ag.json")
    doc, raw = run.doc, read_raw(small_export.project)
    mine = [r for r in raw.agents if r["agent_name"] == "reviewer"]
    assert [row["agent_name"] for row in doc["usage_patterns"]["agents"]] == ["reviewer"]
    assert_close(doc["usage_patterns"]["agents"][0], {"agent_name": "reviewer", **_runs(mine)})
    assert sum(r["runs"] for r in doc["usage_patterns"]["daily_runs"]) == len(mine)
    memory = [m for m in raw.memory if m["agent_id"] == "reviewer"]
    trend = {day: len(g) for day, g in _groups(memory, lambda m: m["timestamp"][:10], MIN_GROUP)}
    assert {r["date"]: r["tasks"] for r in doc["learning_effectiveness"]["quality_trend"]} == trend
    outcomes = [o for o in raw.outcomes if o["agent_id"] == "reviewer"]
    assert doc["learning_effectiveness"]["outcomes"]["outcomes"] == len(outcomes)
    caps = [c for c in raw.capabilities if c["agent_id"] == "reviewer"]
    assert_close(doc["capability_metrics"].get("capabilities", []),
                 capability_metrics(caps, raw.key)["capabilities"])
    assert doc["export_metadata"]["filters"]["agents"] == 1
    assert versions.validate(run.doc, str(run.path)) == "1.0"  # as `validate` does


def test_exclude_leaves_sections_out(cli, small_export, tmp_path) -> None:
    run = cli.export(small_export.project, "--exclude", "usage_patterns", "--exclude",
                     "pattern_statistics", output=tmp_path / "ex.json")
    assert sorted(run.doc) == ["capability_metrics", "export_metadata", "learning_effectiveness"]
    assert run.doc["export_metadata"]["filters"]["excluded_sections"] == [
        "usage_patterns", "pattern_statistics"]
    for section in ("capability_metrics", "learning_effectiveness"):
        assert run.doc[section] == small_export.doc[section]
    cli.ok("validate", run.path)
