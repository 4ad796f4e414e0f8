"""Streaming must not change results: a policy run over record streams (one record at a
time, operations queued and run in one pass) gives exactly the document and the report
of the same run over the fully loaded document."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from learnexport.applier import apply_policy
from learnexport.collector import collect
from learnexport.errors import ApplyError
from learnexport.exporter import default_policy_path
from learnexport.keys import HashKey
from learnexport.pipeline import run
from learnexport.policy import load_policy, parse_policy
from learnexport.provenance import Stamp
from learnexport.streams import RecordStream

KEY = b"streaming-test-key-0123456789"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def project(damaged_small: Path) -> Path:
    return damaged_small


def collected(project: Path, lazy: bool) -> dict[str, Any]:
    """The collected document. The one documented difference: a lazy document's
    ``collection.warnings`` is filled only once its streams were read (consumers use
    ``collection.sources``), so the eager one's is emptied to compare like with like."""
    document = collect(project, lazy=lazy)
    document["collection"]["warnings"] = []
    document["collection"]["collected_at"] = "2026-01-01T00:00:00+00:00"  # not the clock
    return document


def both(policy_text: str, project: Path) -> tuple[Any, Any]:
    """(eager result, lazy result) of one policy on the project."""
    policy = parse_policy(policy_text, "p.yaml")
    out = []
    for lazy in (False, True):
        document = collected(project, lazy)
        result = apply_policy(policy, document, key=KEY)
        out.append((result.document, result.report.to_dict(), sorted(result.tainted)))
    return out[0], out[1]


def test_default_policy_same_export_both_ways(project: Path) -> None:
    policy = load_policy(default_policy_path())
    key = HashKey(KEY, "test")
    results = []
    for lazy in (False, True):
        document = collected(project, lazy)
        stamp = Stamp(policy, document, key, now=lambda: NOW)
        results.append(run(policy, document, key=key, stamp=stamp))
    eager, lazy = results
    assert lazy.document == eager.document
    assert lazy.report.to_dict() == eager.report.to_dict()
    assert lazy.document["export_metadata"]["sources"]["analytics_agents"]["problems"] == 1


def test_the_lazy_document_holds_streams(project: Path) -> None:
    document = collect(project, lazy=True)
    assert isinstance(document["analytics"]["agents"], RecordStream)
    assert isinstance(document["memory"], RecordStream)
    assert isinstance(document["capabilities"]["metrics"], list)


POLICIES = {
    "stages then keep": """
policy: t
version: 1.0.0
rules:
  - {id: day, select: "analytics.agents[*].timestamp", action: round, to: day}
  - {id: names, select: "analytics.agents[*].agent_name", action: keep}
  - {id: drop-slow, select: "analytics.agents[?duration > `100`]", action: drop}
""",
    "filters, flatten and folds with and without keep_source": """
policy: t
version: 1.0.0
unmatched: drop
rules:
  - {id: tags, select: "patterns[*].metadata.vulnerabilities[]", action: aggregate,
     group_by: [{tag: "@"}], metrics: {n: count}, into: out.tags}
  - {id: anti, select: "patterns[?is_anti_pattern].pattern_type", action: keep}
  - {id: by-type, select: patterns, action: aggregate, group_by: [pattern_type],
     metrics: {n: count, q: mean(quality_score)}, into: out.types, keep_source: true}
  - {id: learn, select: "memory[*].key_learnings", action: redact}
  - {id: fail, select: "memory[?outcome == 'failure']", action: drop}
  - {id: left, select: memory, action: aggregate, group_by: [outcome],
     metrics: {n: count}, into: out.outcomes}
""",
    "a rule that needs the whole list materializes it": """
policy: t
version: 1.0.0
unmatched: keep
rules:
  - {id: first, select: "learning.outcomes[0]", action: keep}
  - {id: hash, select: "learning.outcomes[*].workflow_id", action: hash}
  - {id: last, select: "learning.outcomes[-1].iterations", action: replace, value: 0}
""",
    "unmatched error reads what no rule named": """
policy: t
version: 1.0.0
unmatched: keep
rules:
  - {id: drop-all, select: "analytics", action: drop}
""",
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_same_result_both_ways(name: str, project: Path) -> None:
    eager, lazy = both(POLICIES[name], project)
    assert lazy == eager


def test_a_later_rule_sees_a_queued_aggregate(project: Path) -> None:
    text = """
policy: t
version: 1.0.0
rules:
  - {id: agg, select: analytics.agents, action: aggregate, group_by: [agent_name],
     metrics: {runs: count, p50: p50(duration)}, into: usage.agents}
  - {id: round, select: "usage.agents[*].p50", action: round, digits: 1}
"""
    eager, lazy = both(text, project)
    assert lazy == eager
    assert lazy[0]["usage"]["agents"] and all(
        row["p50"] == round(row["p50"], 1) for row in lazy[0]["usage"]["agents"])


def test_errors_name_the_record_in_the_source(project: Path) -> None:
    policy = parse_policy("""
policy: t
version: 1.0.0
rules:
  - {id: bad, select: "analytics.agents[*].agent_name", action: round, digits: 1}
""", "p.yaml")
    with pytest.raises(ApplyError) as caught:
        apply_policy(policy, collect(project, lazy=True), key=KEY)
    assert caught.value.rule == "bad"
    assert caught.value.path == "analytics.agents[0].agent_name"


RULES = [
    '{id: r%d, select: "analytics.agents[*].timestamp", action: round, to: day}',
    '{id: r%d, select: "analytics.agents[*].agent_name", action: hash}',
    '{id: r%d, select: "analytics.agents[?success]", action: drop}',
    '{id: r%d, select: "analytics.agents[*].duration", action: round, step: 5}',
    '{id: r%d, select: analytics.agents, action: aggregate, group_by: [agent_name], '
    'metrics: {n: count, s: rate(success)}, into: out.a%d, keep_source: true}',
    '{id: r%d, select: analytics.agents, action: aggregate, metrics: {n: count}, into: out.b%d}',
    '{id: r%d, select: "analytics.agents[*].agent_id", action: keep}',
    '{id: r%d, select: "memory[*].context", action: redact}',
    '{id: r%d, select: "memory[?outcome == \'success\'].task_id", action: mask}',
    '{id: r%d, select: memory, action: aggregate, group_by: [agent_id], '
    'metrics: {n: count}, into: out.m%d, keep_source: true}',
    '{id: r%d, select: "out.a%d[*].n", action: round, step: 10}',
    '{id: r%d, select: "memory[*].outcome", action: keep}',
    '{id: r%d, select: "analytics.workflows[*]", action: aggregate, metrics: {n: count}, '
    'into: out.w%d}',
]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, len(RULES) - 1), min_size=1, max_size=6),
       st.sampled_from(["drop", "keep"]))
def test_generated_policies_same_both_ways(project: Path, picks: list[int], unmatched: str
                                           ) -> None:
    rules = []
    for n, pick in enumerate(picks):
        template = RULES[pick]
        rules.append("  - " + template % ((n,) * template.count("%d")))
    text = f"policy: t\nversion: 1.0.0\nunmatched: {unmatched}\nrules:\n" + "\n".join(rules)
    try:
        eager = both(text, project)
    except ApplyError:
        return  # e.g. an aggregate into a place an earlier one filled: same in both ways
    assert eager[1] == eager[0]


def test_memory_stays_flat_for_a_big_stream(tmp_path: Path) -> None:
    """200,000 analytics lines (about 30 MB) fold in a child process whose peak memory
    stays far below what holding the records would take (about 150 MB)."""
    folder = tmp_path / ".tapps-agents" / "analytics" / "history"
    folder.mkdir(parents=True)
    line = ('{"agent_id": "reviewer", "agent_name": "reviewer", "duration": 1.5, '
            '"success": true, "timestamp": "2026-01-30T16:05:40.641272"}\n')
    (folder / "agents-2026-01-30.jsonl").write_text(line * 200_000)
    code = f"""
from learnexport.collector import collect
from learnexport.policy import parse_policy
from learnexport.applier import apply_policy
policy = parse_policy('''policy: t
version: 1.0.0
rules:
  - {{id: d, select: "analytics.agents[*].timestamp", action: round, to: day}}
  - {{id: a, select: analytics.agents, action: aggregate, group_by: [timestamp],
     metrics: {{runs: count, p95: p95(duration)}}, into: out}}
''')
result = apply_policy(policy, collect({str(tmp_path)!r}, lazy=True))
assert result.document["out"] == [{{"timestamp": "2026-01-30", "runs": 200000, "p95": 1.5}}]
# the peak of this process image (ru_maxrss would include the forked test runner)
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""
    peak = int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                              text=True).stdout)
    assert peak < 90, f"peak {peak} MB"


def test_an_aggregate_of_every_record_removes_them_from_a_stream(project: Path) -> None:
    """``stream[*]`` matches each record itself: folded, and removed whole (it raised
    IndexError on a stream, removing the record as if it were inside itself)."""
    eager, lazy = both("""
policy: t
version: 1.0.0
rules:
  - {id: n, select: "analytics.workflows[*]", action: aggregate, metrics: {n: count},
     into: out.w}
  - {id: rest, select: analytics.agents, action: keep}
""", project)
    assert eager == lazy
    assert lazy[0]["out"]["w"]["n"] > 0 and lazy[0]["analytics"].get("workflows") in (None, [])


def test_a_filtered_stream_reports_what_its_source_read(project: Path) -> None:
    """With --agent the engine reads filtered views; collection.sources in the result
    still says what each source read (all its records and problems)."""
    from learnexport.exporter import narrow
    from learnexport.provenance import Filters

    policy = parse_policy("policy: t\nversion: 1.0.0\nrules:\n"
                          "  - {id: k, select: collection, action: keep}\n"
                          "  - {id: a, select: analytics.agents, action: aggregate, "
                          "metrics: {n: count}, into: out.a}\n", "p.yaml")
    eager = collect(project)
    lazy = collect(project, lazy=True)
    narrow(lazy, Filters(agents=("reviewer",)))
    result = apply_policy(policy, lazy, key=KEY)
    got = result.document["collection"]["sources"]["analytics_agents"]
    want = eager["collection"]["sources"]["analytics_agents"]
    assert (got["records"], got["problems"]) == (want["records"], want["problems"])
    assert result.document["out"]["a"]["n"] < want["records"]
