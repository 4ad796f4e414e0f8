"""``policy test``: cases beside the policy, run through the real pipeline, with rule coverage;
the shipped policies' own tests; the pre-commit hooks and the auditing guide."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from learnexport.policytools import testreport
from learnexport.policytools.testrun import find_policies, run_policy_tests

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "fixtures" / "policies" / "suite"


def command() -> str:
    return shutil.which("learnexport") or str(Path(sys.executable).parent / "learnexport")


def cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")}
    return subprocess.run([command(), *map(str, args)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=300, stdin=subprocess.DEVNULL)


POLICY = """policy: memo
version: 1.0.0
rules:
  - id: ids
    select: memo[*].id
    action: hash
  - id: keep-kind
    select: memo[*].kind
    action: keep
"""


@pytest.fixture
def memo(tmp_path: Path) -> Path:
    """A policy with one folder case, passing, and an empty place for more."""
    (tmp_path / "memo.yaml").write_text(POLICY)
    case = tmp_path / "tests" / "memo" / "one"
    case.mkdir(parents=True)
    (case / "input.json").write_text('{"memo": [{"id": "m1", "kind": "note", "body": "x"}]}')
    (case / "expected.json").write_text('{"memo": [{"id": "9c7a4c006af02a47", "kind": "note"}]}')
    return tmp_path / "memo.yaml"


# --- the shipped policies (run by `make test`) --------------------------------------------

def test_shipped_policies_pass_their_tests_with_full_rule_coverage() -> None:
    done = cli("policy", "test")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "  rule coverage: 23 of 23 rules matched in some case (100%; minimum 100%): ok" \
        in lines
    assert "  rule coverage: 8 of 8 rules matched in some case (100%; minimum 100%): ok" in lines
    assert lines[-1].startswith("ok: 3 policies, ")


def test_the_package_ships_the_shipped_policies_tests() -> None:
    from importlib import resources

    shipped = resources.files("learnexport.policies")
    assert shipped.joinpath("tests", "default", "small-sample", "args.yaml").is_file()
    assert shipped.joinpath("tests", "example", "memory", "expected.json").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert '"learnexport.policies" = ["*.yaml", "tests/**/*"]' in pyproject
    assert '"learnexport.policytools"' in pyproject


# --- coverage ------------------------------------------------------------------------------

def test_a_rule_no_case_matches_fails_the_run() -> None:
    done = cli("policy", "test", "tests/fixtures/policies/suite")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "tests/fixtures/policies/suite/tasks.yaml: policy tasks 1.0.0, 1 case",
        "  ok      two-tasks  (tests/fixtures/policies/suite/tests/tasks/two-tasks)",
        "  rule coverage: 3 of 4 rules matched in some case (75%; minimum 100%): BELOW THE "
        "MINIMUM",
        "    tests/fixtures/policies/suite/tasks.yaml:14:5: rule \"drop-failed-context\" (drop "
        "\"memory[?outcome == 'failure'].context\") matched nothing in any case",
        "FAILED: 1 policy, 1 of 1 cases passed; 1 policy below the rule coverage minimum"]
    lowered = cli("policy", "test", "tests/fixtures/policies/suite", "--min-coverage", "75")
    assert lowered.returncode == 0, lowered.stdout


def test_junit_and_json_report_coverage(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    done = cli("policy", "test", SUITE / "tasks.yaml", "--junit", report, "--format", "json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["passed"] is False
    assert data["policies"][0]["coverage"] == {"percent": 75.0, "minimum": 100.0, "rules": 4,
                                               "covered": 3,
                                               "uncovered": ["drop-failed-context"]}
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("policy tasks",
                                                                            "2", "1")
    coverage = suite.findall("testcase")[-1]
    assert coverage.get("name") == "rule coverage"
    failure = coverage.find("failure")
    assert failure is not None
    assert failure.get("message") == "rule coverage 75% is below the minimum 100%"


# --- cases ---------------------------------------------------------------------------------

def test_a_failing_case_shows_a_structural_diff(memo: Path) -> None:
    expected = memo.parent / "tests" / "memo" / "one" / "expected.json"
    expected.write_text('{"memo": [{"id": "m1", "kind": "memo"}]}')
    [result] = [run_policy_tests(memo)]
    [case] = result.cases
    assert not case.passed
    assert case.problems[0].startswith("memo[0].id: expected 'm1', got '")
    assert case.problems[1] == "memo[0].kind: expected 'memo', got 'note'"
    assert not result.passed and result.coverage_ok


def test_update_writes_the_current_result(memo: Path) -> None:
    case = memo.parent / "tests" / "memo" / "two"
    case.mkdir()
    (case / "input.json").write_text('{"memo": [{"id": "m2", "kind": "todo"}]}')
    first = run_policy_tests(memo)
    assert [c.problems for c in first.cases][1] == (
        "no expected.json or error.txt: run `learnexport policy test --update` to write the "
        "current result, then review it",)
    updated = run_policy_tests(memo, update=True)
    assert [c.updated for c in updated.cases] == [False, True]
    written = json.loads((case / "expected.json").read_text())
    assert written["memo"][0]["kind"] == "todo"
    assert run_policy_tests(memo).passed


def test_yaml_cases_errors_ignore_and_samples(memo: Path) -> None:
    (memo.parent / "tests" / "memo" / "more.yaml").write_text("""
- name: hashes and the kind
  given: {memo: [{id: m1, kind: note, at: "2026-01-01"}]}
  ignore: ["memo[*].id"]
  expect: {memo: [{kind: note}]}
- name: a stale ignore fails
  given: {memo: [{id: m1, kind: note}]}
  ignore: ["memo[*].nothing"]
  expect: {memo: [{id: x, kind: note}]}
- name: an expected error
  given: {memo: [{id: [1, 2], kind: {a: 1}}]}
  error: this text is not in the error
- name: a generated sample
  sample: small
  seed: 2
  expect: {}
- name: typo
  givn: {}
""")
    result = run_policy_tests(memo)
    problems = {c.name: c.problems for c in result.cases}
    assert problems["hashes and the kind"] == ()
    assert problems["a stale ignore fails"][0] == ("ignore 'memo[*].nothing' matches nothing in "
                                                  "the expected or the actual result; remove it")
    assert problems["an expected error"] == (
        "expected an error containing 'this text is not in the error', but the run succeeded",)
    assert problems["a generated sample"] == ()
    assert problems["typo"] == ("unknown key 'givn' (did you mean 'given'?); a case takes "
                                "name, description, rule, rules, unmatched, stamp, key, given, "
                                "sample, seed, expect, error, ignore",)


def test_a_policy_without_tests_or_that_does_not_load_fails(tmp_path: Path) -> None:
    (tmp_path / "lonely.yaml").write_text(POLICY)
    (tmp_path / "broken.yaml").write_text("policy: Broken!\nversion: 1\nrules: []\n")
    broken, lonely = (run_policy_tests(p) for p in find_policies([tmp_path]))
    assert broken.error is not None and broken.error.startswith(
        f"{tmp_path / 'broken.yaml'}:1:9: 'Broken!' is not a valid policy id")
    assert lonely.error == f"no test cases in {tmp_path / 'tests' / 'lonely'}/"
    assert not lonely.passed and not broken.passed
    text = testreport.text([broken, lonely])
    assert text.splitlines()[-1] == ("FAILED: 2 policies, 0 of 0 cases passed; 2 policies "
                                     "below the rule coverage minimum")


def test_usage_errors() -> None:
    done = cli("policy", "test", "no/such/place")
    assert done.returncode == 2
    assert done.stderr == ("learnexport: no/such/place: no such policy file or folder. Name "
                           "policy files, or a folder of them (default: ./policies)\n")


# --- the ecosystem -------------------------------------------------------------------------

def test_pre_commit_hooks_name_real_commands() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"learnexport-policy-lint", "learnexport-policy-test"}
    assert by_id["learnexport-policy-lint"]["entry"] == "learnexport policy lint --strict"
    assert by_id["learnexport-policy-test"]["entry"] == "learnexport policy test"
    assert by_id["learnexport-policy-test"]["pass_filenames"] is False
    for hook in hooks:
        assert hook["language"] == "python"


def test_auditing_guide_shows_real_output() -> None:
    from learnexport.policytools import doccheck

    problems = doccheck.check(ROOT / "docs" / "auditing.md", ROOT, command())
    assert not problems, "\n\n".join(problems) + (
        "\n\ndocs/auditing.md is stale: run python -m learnexport.policytools.doccheck "
        "docs/auditing.md --update")
