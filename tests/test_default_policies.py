"""The shipped default policies: 1.1 is exactly 1.0 plus the task-outcomes rules, and
both turn a sample project into exports that validate against their schemas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from learnexport import sample, versions
from learnexport.collector import collect
from learnexport.exporter import default_policy_path
from learnexport.keys import HashKey
from learnexport.pipeline import run
from learnexport.policy import load_policy
from learnexport.provenance import Stamp

V11 = default_policy_path().with_name("default-1.1.yaml")
TASK_RULES = ["task-agents", "task-outcome-values", "task-outcomes"]
KEY = HashKey(b"default-policies-test-key", "test")


def shape(rule) -> tuple:
    return rule.id, rule.action, rule.select, dict(rule.options), rule.note


def test_1_1_is_1_0_plus_the_task_outcome_rules() -> None:
    base, extended = load_policy(default_policy_path()), load_policy(V11)
    assert [r.id for r in extended.rules if r.id in TASK_RULES] == TASK_RULES
    assert [shape(r) for r in extended.rules if r.id not in TASK_RULES] == [
        shape(r) for r in base.rules]
    assert (base.schema, extended.schema) == ("export-1.0", "export-1.1")
    assert (base.unmatched, base.stamp, base.hash) == (
        extended.unmatched, extended.stamp, extended.hash)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("defaults")
    sample.generate(root, "small", seed=8)
    return root


def export(policy_path: Path, project: Path) -> dict:
    policy = load_policy(policy_path)
    document = collect(project, lazy=True)
    stamp = Stamp(policy, document, KEY, now=lambda: dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    return run(policy, document, key=KEY, stamp=stamp).document


def test_both_exports_validate_and_agree(project: Path) -> None:
    old, new = export(default_policy_path(), project), export(V11, project)
    assert versions.validate(old, "1.0") == "1.0"
    assert versions.validate(new, "1.1") == "1.1"
    from learnexport.fleet.names import unpublished  # what submit requires of every name

    assert list(unpublished(old)) == [] and list(unpublished(new)) == []
    assert new["task_outcomes"], "the sample has enough tasks per agent and outcome"
    for section in ("capability_metrics", "pattern_statistics", "learning_effectiveness",
                    "usage_patterns"):
        assert new[section] == old[section]
    rows = {(r["agent_id"], r["outcome"]): r["tasks"] for r in new["task_outcomes"]}
    assert all(n >= 3 for n in rows.values())
    assert set(o for _, o in rows) <= {"success", "failure", "partial", "cancelled", "other"}
