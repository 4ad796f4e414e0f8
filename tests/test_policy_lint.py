"""``policy lint``: load errors and warnings with file:line:col, each check triggered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from learnexport.policytools import lint, samples

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "policies"
SAMPLE = FIXTURES / "tasks-sample.json"
WARNINGS = "tests/fixtures/policies/lint-warnings.yaml"


def command() -> str:
    return shutil.which("learnexport") or str(Path(sys.executable).parent / "learnexport")


def cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNEXPORT_", "GIT_"))}
    return subprocess.run([command(), *map(str, args)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def run(path: Path | str, sample: Path = SAMPLE) -> lint.LintResult:
    chosen = samples.load(str(sample))
    return lint.lint_file(str(path), chosen.document, chosen.label)


def by_check(result: lint.LintResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in result.findings:
        out.setdefault(finding.check, []).append(finding.render())
    return out


EXPECTED = {
    "export-fails": [
        f"{WARNINGS}:3:1: warning: an export with this policy fails on {SAMPLE}: the leak "
        "check found 3 sensitive value(s) in the result. Add rules that drop, hash or redact "
        "these paths; if a detector is wrong for a path, allow it in the policy with a reason "
        "(allow: [{detector, path, reason}]); the first: memory[*].timestamp: detector "
        "timestamp (2026…(19 chars)) (export-fails)"],
    "unmatched-keep": [
        f"{WARNINGS}:5:12: warning: unmatched: keep exports every field no rule names, raw, "
        "including fields a new framework version adds; use unmatched: drop (default deny) "
        "(unmatched-keep)"],
    "short-hash": [
        f'{WARNINGS}:7:11: warning: rule "task-ids" keeps 8 hex digits of its hash: among '
        "about 65,536 values two likely collide, and unrelated records then join; use "
        "length: 12 or more (short-hash)"],
    "shadowed-by-drop": [
        f'{WARNINGS}:12:5: warning: rule "redact-commands" matches nothing: all it selects was '
        'already removed by rule "drop-commands"; move it before that rule or remove it '
        "(shadowed-by-drop)"],
    "undoing-action": [
        f'{WARNINGS}:18:5: warning: rule "keep-task-ids" keeps memory[*].task_id (3 locations) '
        'after rule "task-ids" hashed it: the value stays hashed (rules apply in order), so '
        "the keep changes nothing and only reads as if the field were exported raw; remove "
        "one of the two (undoing-action)",
        f'{WARNINGS}:24:5: warning: rule "drop-outcome" drops memory[*].outcome (3 locations), '
        'which rule "keep-outcome" keeps: the second undoes the first; remove the keep or '
        "narrow the drop (undoing-action)"],
    "unmatched-rule": [
        f'{WARNINGS}:27:5: warning: rule "agents" matches nothing on '
        f"{SAMPLE} (select: 'memory[*].agentid'); no field 'agentid' occurs in the "
        "sample (did you mean 'agent_id'?) (unmatched-rule)"],
}


def test_every_sample_warning_is_triggered_with_its_location() -> None:
    result = run(WARNINGS)
    assert by_check(result) == EXPECTED
    assert [f.location.line for f in result.findings] == [3, 5, 7, 12, 18, 24, 27]
    assert {c.id for c in lint.CHECKS} == {*EXPECTED, "key-in-git"}


def test_a_policy_whose_export_fails_on_the_sample(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("policy: p\nversion: 1.0.0\nschema: export-1.0\nrules:\n"
                      "  - {id: outcomes, select: 'memory[*].outcome', action: keep}\n")
    [finding] = run(policy).findings
    assert finding.check == "export-fails"
    assert finding.render().startswith(
        f"{policy}:1:1: warning: an export with this policy fails on {SAMPLE}: the result "
        "does not pass schema export-1.0 (2 problems). Fix the policy so that its result has "
        "this shape, or name another schema; the first: ")


def test_shipped_policies_are_clean_on_the_generated_sample() -> None:
    chosen = samples.load(None)
    for name in ("default", "example"):
        result = lint.lint_file(str(ROOT / "policies" / f"{name}.yaml"), chosen.document,
                                chosen.label)
        assert result.findings == (), name


def test_load_errors_are_errors_with_their_location() -> None:
    result = run(FIXTURES / "broken.yaml")
    shown = [f.render() for f in result.findings]
    assert shown == [
        f"{FIXTURES / 'broken.yaml'}:8:5: error: rule \"task-ids\": unknown option 'lenght' for "
        "action hash (did you mean 'length'?). The options of hash are length, prefix (policy)",
        f"{FIXTURES / 'broken.yaml'}:11:13: error: rule \"dates\": round needs exactly one of "
        "digits, step and to. Write digits: 2 for numbers, step: 5 for multiples, or to: day for "
        "timestamps (policy)"]


def test_a_sample_the_policy_cannot_treat_is_an_error(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("policy: p\nversion: 1.0.0\nrules:\n"
                      "  - {id: rounds, select: 'memory[*].command', action: round, digits: 1}\n")
    [finding] = run(policy).findings
    assert finding.render() == (f"{policy}:4:5: error: rule \"rounds\": at memory[0].command: "
                                "round needs a number, and this is text that is no number. "
                                "Narrow the selector to numeric fields, e.g. with a filter "
                                "[?type(x) == 'number'] (apply-error)")


def _repo(tmp_path: Path, ignore: bool, track: bool) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    key = tmp_path / "secrets" / "hash.key"
    key.parent.mkdir()
    key.write_text("k" * 32)
    key.chmod(0o600)
    if ignore:
        (tmp_path / ".gitignore").write_text("secrets/\n")
    if track:
        subprocess.run(["git", "add", "secrets/hash.key"], cwd=tmp_path, check=True)
    policy = tmp_path / "policy.yaml"
    policy.write_text("policy: p\nversion: 1.0.0\nhash:\n  key: file:secrets/hash.key\n"
                      "rules:\n  - {id: ids, select: 'memory[*].task_id', action: hash}\n")
    return policy


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize(("ignore", "track", "how"), [
    (False, False, "is not git-ignored"), (False, True, "is tracked by git"),
    (True, False, None)])
def test_a_hash_key_file_in_a_git_work_tree(tmp_path: Path, ignore: bool, track: bool,
                                            how: str | None) -> None:
    policy = _repo(tmp_path, ignore, track)
    found = by_check(run(policy)).get("key-in-git")
    if how is None:
        assert found is None
        return
    key = (tmp_path / "secrets" / "hash.key").resolve()
    assert found == [f"{policy}:4:8: warning: the hash key file {key} is inside the git work "
                     f"tree {tmp_path.resolve()} and {how}: a commit publishes the key, and "
                     "with it every hash can be reversed by guessing; keep it outside the "
                     "repository (or at least in .gitignore) (key-in-git)"]


def test_cli_text_strict_and_exit_codes() -> None:
    relaxed = cli("policy", "lint", WARNINGS, "--sample", SAMPLE)
    assert relaxed.returncode == 0, relaxed.stderr
    assert relaxed.stdout.splitlines() == [line for lines in EXPECTED.values()
                                           for line in lines]
    assert relaxed.stderr == f"0 errors, 7 warnings in 1 policy (on {SAMPLE})\n"
    strict = cli("policy", "lint", WARNINGS, "--sample", SAMPLE, "--strict")
    assert strict.returncode == 1
    clean = cli("policy", "lint", "policies/example.yaml", "--strict")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == ""
    assert clean.stderr == "0 errors, 0 warnings in 1 policy (on the generated sample small:0)\n"
    broken = cli("policy", "lint", "tests/fixtures/policies/broken.yaml")
    assert broken.returncode == 1
    assert broken.stdout.startswith("tests/fixtures/policies/broken.yaml:8:5: error: ")


def test_cli_github_and_json_formats() -> None:
    github = cli("policy", "lint", WARNINGS, "--sample", SAMPLE, "--format", "github")
    first = github.stdout.splitlines()[1]
    assert first == (f"::warning file={WARNINGS},line=5,col=12,title=learnexport unmatched-keep::"
                     "unmatched: keep exports every field no rule names, raw, including fields "
                     "a new framework version adds; use unmatched: drop (default deny)")
    data = json.loads(cli("policy", "lint", WARNINGS, "--sample", SAMPLE, "--format",
                          "json").stdout)
    assert [f["check"] for f in data[0]["findings"]] == [
        "export-fails", "unmatched-keep", "short-hash", "shadowed-by-drop", "undoing-action",
        "undoing-action", "unmatched-rule"]


def test_github_annotations_escape_what_would_break_them() -> None:
    from learnexport.errors import Location

    finding = lint.Finding(Location("a,b:c.yaml", 3, 1), "warning", "50% done\nnext", "x")
    assert finding.github() == ("::warning file=a%2Cb%3Ac.yaml,line=3,col=1,"
                                "title=learnexport x::50%25 done%0Anext")
