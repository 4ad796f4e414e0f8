"""``policy diff``: rule-level and field-level changes, each classified for privacy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from learnexport.policy import Policy, parse_policy
from learnexport.policytools import render
from learnexport.policytools.classify import NEUTRAL, STRENGTHENS, WEAKENS
from learnexport.policytools.difftool import Change, PolicyDiff, diff_policies

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "policies"

DOC: dict[str, Any] = {
    "memory": [
        {"task_id": f"task_{i}", "timestamp": f"2026-01-0{1 + i % 3}T0{i}:15:00",
         "score": 0.8123 + i / 100, "steps": 3 * i, "agent": ["reviewer", "tester"][i % 2],
         "command": f"open /home/ann/p/{i}.py", "note": f"mail ann{i}@acme.io"}
        for i in range(6)
    ],
}


def pol(rules: str, version: str = "1.0.0", head: str = "") -> Policy:
    return parse_policy(f"policy: p\nversion: {version}\n{head}rules:\n{rules}",
                        f"p-{version}.yaml")


def run(old: Policy, new: Policy) -> PolicyDiff:
    return diff_policies(old, new, DOC, "the test document")


def found(diff: PolicyDiff, scope: str, subject: str) -> list[Change]:
    return [c for c in diff.changes if c.scope == scope and c.subject == subject]


KEEP_ALL = "  - {id: records, select: 'memory[*]', action: keep}\n"
AGG = ("  - {{id: per-agent, select: memory, action: aggregate, group_by: [{groups}],\n"
       "     metrics: {{{metrics}}}, min_group_size: {size}, into: out.agents}}\n")

# name: (old rules, new rules, old head, new head, the rule-level (scope, subject) judged,
#        the text of that change)
PAIRS: dict[str, tuple[str, str, str, str, tuple[str, str], str]] = {
    "hash → keep": (
        "  - {id: ids, select: 'memory[*].task_id', action: hash}\n",
        "  - {id: ids, select: 'memory[*].task_id', action: keep}\n",
        "", "", ("rule", "ids"), "action: hash → keep"),
    "a drop removed": (
        KEEP_ALL + "  - {id: no-command, select: 'memory[*].command', action: drop}\n",
        KEEP_ALL, "", "", ("rule", "no-command"),
        "removed (was: drop 'memory[*].command') (a protection removed)"),
    "round to: day → hour": (
        "  - {id: when, select: 'memory[*].timestamp', action: round, to: day}\n",
        "  - {id: when, select: 'memory[*].timestamp', action: round, to: hour}\n",
        "", "", ("rule", "when"), "to: day → hour (finer)"),
    "fewer digits rounded away": (
        "  - {id: score, select: 'memory[*].score', action: round, digits: 1}\n",
        "  - {id: score, select: 'memory[*].score', action: round, digits: 3}\n",
        "", "", ("rule", "score"), "digits: 1 → 3 (fewer digits rounded away)"),
    "a finer step": (
        "  - {id: steps, select: 'memory[*].steps', action: round, step: 10}\n",
        "  - {id: steps, select: 'memory[*].steps', action: round, step: 2}\n",
        "", "", ("rule", "steps"), "step: 10 → 2 (finer)"),
    "a bucket split finer": (
        "  - {id: steps, select: 'memory[*].steps', action: generalize, as: bucket, "
        "bounds: [10]}\n",
        "  - {id: steps, select: 'memory[*].steps', action: generalize, as: bucket, "
        "bounds: [5, 10]}\n",
        "", "", ("rule", "steps"), "bounds: [10] → [5, 10] (a bucket split finer)"),
    "a category let through": (
        "  - {id: agents, select: 'memory[*].agent', action: generalize, as: category, "
        "allow: [reviewer]}\n",
        "  - {id: agents, select: 'memory[*].agent', action: generalize, as: category, "
        "allow: [reviewer, tester]}\n",
        "", "", ("rule", "agents"), "allow: now passes tester through as is"),
    "min_group_size lowered": (
        AGG.format(groups="agent", metrics="n: count", size=3),
        AGG.format(groups="agent", metrics="n: count", size=2),
        "", "", ("rule", "per-agent"), "min_group_size: 3 → 2 (smaller groups exported)"),
    "a group_by column added": (
        AGG.format(groups="agent", metrics="n: count", size=1),
        AGG.format(groups="agent, steps", metrics="n: count", size=1),
        "", "", ("rule", "per-agent"), "group_by: + steps (finer groups)"),
    "a metric that reveals single records": (
        AGG.format(groups="agent", metrics="n: count", size=1),
        AGG.format(groups="agent", metrics="n: count, longest: max(steps)", size=1),
        "", "", ("rule", "per-agent"),
        "metrics: longest = max(steps) (reveals single records' values)"),
    "mask shows more": (
        "  - {id: ids, select: 'memory[*].task_id', action: mask, keep_last: 2}\n",
        "  - {id: ids, select: 'memory[*].task_id', action: mask, keep_last: 4}\n",
        "", "", ("rule", "ids"), "keep_last: 2 → 4 (more characters shown)"),
    "a redact detector removed": (
        "  - {id: notes, select: 'memory[*].note', action: redact, detectors: [email, path]}\n",
        "  - {id: notes, select: 'memory[*].note', action: redact, detectors: [path]}\n",
        "", "", ("rule", "notes"), "detectors: − email (no longer redacted)"),
    "unmatched: drop → keep": (
        "  - {id: ids, select: 'memory[*].task_id', action: hash}\n",
        "  - {id: ids, select: 'memory[*].task_id', action: hash}\n",
        "unmatched: drop\n", "unmatched: keep\n", ("policy", "unmatched"),
        "unmatched: drop → keep (fields no rule names are exported raw)"),
    "a detector allowed": (
        "  - {id: when, select: 'memory[*].timestamp', action: round, to: hour}\n",
        "  - {id: when, select: 'memory[*].timestamp', action: round, to: hour}\n",
        "", "allow:\n  - {detector: timestamp, path: 'memory[*].timestamp', reason: hours "
        "are needed for the shift report}\n", ("policy", "allow"),
        "the leak check now allows detector timestamp at memory[*].timestamp (hours are "
        "needed for the shift report)"),
    "a new field exported raw": (
        "  - {id: ids, select: 'memory[*].task_id', action: hash}\n",
        "  - {id: ids, select: 'memory[*].task_id', action: hash}\n"
        "  - {id: commands, select: 'memory[*].command', action: keep}\n",
        "", "", ("rule", "commands"), "added: keep 'memory[*].command' (exported raw)"),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_each_weakening_is_detected(name: str) -> None:
    old_rules, new_rules, old_head, new_head, (scope, subject), text = PAIRS[name]
    diff = run(pol(old_rules, "1.0.0", old_head), pol(new_rules, "1.1.0", new_head))
    judged = found(diff, scope, subject)
    assert [(c.effect, c.what) for c in judged] == [(WEAKENS, text)]
    assert diff.weakens
    assert diff.changes[0].effect == WEAKENS, "weakenings come first"
    assert not found(diff, "version", "1.1.0"), "1.0.0 → 1.1.0 is a minor version"


@pytest.mark.parametrize("name", list(PAIRS))
def test_the_reverse_of_each_weakening_strengthens(name: str) -> None:
    old_rules, new_rules, old_head, new_head, (scope, subject), _ = PAIRS[name]
    diff = run(pol(new_rules, "1.1.0", new_head), pol(old_rules, "1.1.1", old_head))
    judged = found(diff, scope, subject)
    assert judged and {c.effect for c in judged} == {STRENGTHENS}, judged
    assert not diff.weakens


def test_field_view_shows_the_treatment_before_and_after() -> None:
    old_rules, new_rules, *_ = PAIRS["hash → keep"]
    diff = run(pol(old_rules), pol(new_rules, "2.0.0"))
    [field] = found(diff, "field", "memory[*].task_id")
    assert (field.effect, field.what) == (WEAKENS, "hashed by ids → kept raw by ids "
                                                   "(now exported raw)")
    old_rules, new_rules, *_ = PAIRS["round to: day → hour"]
    [field] = found(run(pol(old_rules), pol(new_rules, "1.1.0")), "field",
                    "memory[*].timestamp")
    assert (field.effect, field.what) == (WEAKENS, "rounded by when → rounded by when "
                                                   "(to: day → hour (finer))")


def test_a_filter_that_narrows_a_drop_counts_locations() -> None:
    old = pol(KEEP_ALL + "  - {id: cmd, select: 'memory[*].command', action: drop}\n")
    new = pol(KEEP_ALL + "  - {id: cmd, select: \"memory[?agent == 'tester'].command\", "
              "action: drop}\n", "1.1.0")
    [field] = found(run(old, new), "field", "memory[*].command")
    assert field.what == ("dropped by rule cmd → kept raw by records [3 of 6] (now exported "
                          "raw)")


def test_removing_a_rule_whose_fields_stay_dropped_is_neutral() -> None:
    old = pol("  - {id: ids, select: 'memory[*].task_id', action: hash}\n"
              "  - {id: no-command, select: 'memory[*].command', action: drop}\n")
    new = pol("  - {id: ids, select: 'memory[*].task_id', action: hash}\n", "1.0.1")
    [rule] = found(run(old, new), "rule", "no-command")
    assert rule.effect == NEUTRAL
    assert rule.what.endswith("on the sample, no field it acted on is weaker without it")


def test_a_weakening_needs_a_minor_or_major_version() -> None:
    old_rules, new_rules, *_ = PAIRS["hash → keep"]
    diff = run(pol(old_rules, "1.2.3"), pol(new_rules, "1.2.4"))
    [version] = found(diff, "version", "1.2.4")
    assert (version.effect, version.what) == (WEAKENS, "version 1.2.3 → 1.2.4: a weakening "
                                              "needs a new major or minor version (at least "
                                              "1.3.0)")
    assert not found(run(pol(old_rules, "1.2.3"), pol(new_rules, "2.0.0")), "version",
                     "2.0.0")
    strengthening = run(pol(new_rules, "1.2.3"), pol(old_rules, "1.2.4"))
    assert not found(strengthening, "version", "1.2.4")


def test_renamed_moved_and_annotated_rules_are_neutral() -> None:
    old = pol("  - {id: a, select: 'memory[*].task_id', action: hash}\n"
              "  - {id: b, select: 'memory[*].agent', action: keep}\n"
              "  - {id: c, select: 'memory[*].steps', action: keep, note: one}\n"
              "  - {id: d, select: 'memory[*].score', action: keep}\n")
    new = pol("  - {id: b, select: 'memory[*].agent', action: keep}\n"
              "  - {id: d, select: 'memory[*].score', action: keep}\n"
              "  - {id: c, select: 'memory[*].steps', action: keep, note: two}\n"
              "  - {id: a2, select: 'memory[*].task_id', action: hash}\n", "1.0.1")
    diff = run(old, new)
    assert {(c.subject, c.what) for c in diff.changes if c.scope == "rule"} == {
        ("a2", "renamed from a"), ("c", "note changed"),
        ("c", "moved (rules run in order; see the field changes)")}
    assert {c.effect for c in diff.changes} == {NEUTRAL}


def test_unchanged_policies_have_no_changes() -> None:
    rules = "  - {id: a, select: 'memory[*].task_id', action: hash}\n"
    diff = run(pol(rules), pol(rules))
    assert diff.changes == ()
    assert render.diff_text(diff).splitlines()[2] == "verdict: no change"


def test_markdown_and_json() -> None:
    old_rules, new_rules, *_ = PAIRS["round to: day → hour"]
    diff = run(pol(old_rules), pol(new_rules, "1.0.1"))
    markdown = render.diff_markdown(diff)
    assert markdown.startswith("## Policy diff: `p` 1.0.0 → 1.0.1\n\n**WEAKENS PRIVACY (3 "
                               "weakening, 0 strengthening, 0 neutral)**")
    assert "| rule | `when` | to: day → hour (finer) | `p-1.0.1.yaml:4:5` |" in markdown
    data = json.loads(render.diff_json(diff))
    assert data["verdict"] == "weakens"
    assert [c["scope"] for c in data["changes"]] == ["rule", "field", "version"]


# --- the command, and git revisions ------------------------------------------------------

def command() -> str:
    return shutil.which("learnexport") or str(Path(sys.executable).parent / "learnexport")


def cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNEXPORT_", "GIT_"))}
    return subprocess.run([command(), *map(str, args)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=repo, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_diff_against_a_git_revision(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    shutil.copy(FIXTURES / "tasks-v1.yaml", tmp_path / "tasks.yaml")
    git(tmp_path, "add", "tasks.yaml")
    git(tmp_path, "commit", "-qm", "v1")
    shutil.copy(FIXTURES / "tasks-v2-weaker.yaml", tmp_path / "tasks.yaml")
    done = cli("policy", "diff", "HEAD:tasks.yaml", "tasks.yaml", "--sample",
               FIXTURES / "tasks-sample.json", "--format", "markdown", "--fail-on-weakening",
               cwd=tmp_path)
    assert done.returncode == 5, done.stderr
    assert done.stdout.startswith("## Policy diff: `tasks` 1.0.0 → 1.0.1\n\n**WEAKENS PRIVACY")
    assert "`HEAD:tasks.yaml` → `tasks.yaml`" in done.stdout
    assert "| rule | `day-only` | to: day → hour (finer) | `tasks.yaml:" in done.stdout
    assert "| version | `1.0.1` | version 1.0.0 → 1.0.1: a weakening needs a new major " \
           "or minor version (at least 1.1.0) |  |" in done.stdout
    same = cli("policy", "diff", "HEAD:tasks.yaml", "HEAD:tasks.yaml", "--sample",
               FIXTURES / "tasks-sample.json", "--fail-on-weakening", cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "verdict: no change" in same.stdout
    bad = cli("policy", "diff", "v9:tasks.yaml", "tasks.yaml", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.startswith("learnexport: v9:tasks.yaml: no such file, and git cannot "
                                 "read it as REV:path (")
    assert "Traceback" not in bad.stderr


def test_cli_diff_text_without_weakening_flag_exits_0() -> None:
    done = cli("policy", "diff", FIXTURES / "tasks-v1.yaml", FIXTURES / "tasks-v2-weaker.yaml",
               "--sample", FIXTURES / "tasks-sample.json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[2] == "verdict: WEAKENS PRIVACY (4 weakening, 0 strengthening, 0 neutral)"
    assert lines[5].split() == ["weakens", "policy", "allow", "the", "leak", "check", "now",
                                "allows", "detector", "timestamp", "at", "memory[*].timestamp",
                                "(the", "on-call", "rota", "needs", "the", "hour", "of",
                                "each", "task)"]


def test_a_real_weakening_of_the_default_policy() -> None:
    """memory-day rounded to the hour instead of the day: every view shows it."""
    from learnexport.policy import load_policy
    from learnexport.policytools import samples

    text = (ROOT / "policies" / "default.yaml").read_text("utf-8")
    rule = "  - id: memory-day\n    select: memory[*].timestamp\n    action: round\n    to: "
    assert rule + "day" in text
    old = load_policy(ROOT / "policies" / "default.yaml")
    new = parse_policy(text.replace(rule + "day", rule + "hour"), "new/default.yaml")
    sample = samples.load(None)
    diff = diff_policies(old, new, sample.document, sample.label)
    assert [(c.scope, c.subject) for c in diff.changes if c.effect == WEAKENS] == [
        ("rule", "memory-day"), ("field", "memory[*].timestamp"),
        ("export", "learning_effectiveness.quality_trend"), ("version", "1.0.0")]
    assert found(diff, "rule", "memory-day")[0].what == "to: day → hour (finer)"
    assert found(diff, "export", "learning_effectiveness.quality_trend")[0].what.startswith(
        "51 groups on the sample, was 10 (finer groups; ")
    assert diff.checks[0] is None
    assert diff.checks[1] is not None and diff.checks[1].endswith(
        "is not a date YYYY-MM-DD; round timestamps with to: day")
