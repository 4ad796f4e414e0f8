"""``policy test``: run a policy's cases through the real pipeline and measure rule coverage.

Each case (``casefiles``) runs as an export would: apply → schema check → leak check,
with the fixed test key ``docs-example-key`` (or the case's ``key``) in place of the
policy's own, and, for a policy with ``stamp:``, the export metadata stamped at the fixed
time ``2026-01-01T00:00:00Z``. The result is compared with the expected one, structurally
(``learnexport.cases.structural_diff``), leaving out the case's ``ignore`` locations.

A rule is *covered* when it matched something in at least one case of its policy. Rule
coverage is the share of covered rules; below the minimum (100 % unless told otherwise)
the policy fails, whatever its cases say: a rule that matches nothing is untested.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import docio
from ..cases import run_case
from ..errors import LearnexportError, UsageError
from ..keys import HashKey
from ..policy import Policy, load_policy
from . import samples
from .casefiles import CaseSpec, discover, tests_folder


@dataclass(frozen=True)
class CaseResult:
    name: str
    source: str
    passed: bool
    problems: tuple[str, ...] = ()
    seconds: float = 0.0
    updated: bool = False


@dataclass(frozen=True)
class PolicyResult:
    path: str
    policy: Policy | None
    cases: tuple[CaseResult, ...] = ()
    covered: tuple[bool, ...] = ()  # per rule
    min_coverage: float = 100.0
    error: str | None = None  # the policy does not load, or has no tests

    @property
    def coverage(self) -> float:
        return 100.0 * sum(self.covered) / len(self.covered) if self.covered else 100.0

    @property
    def coverage_ok(self) -> bool:
        return self.error is None and self.coverage + 1e-9 >= self.min_coverage

    @property
    def passed(self) -> bool:
        return self.coverage_ok and all(c.passed for c in self.cases)


def find_policies(paths: Iterable[Path]) -> list[Path]:
    """Policy files named, or the ``*.yaml`` files directly inside folders named."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir()
                                if p.suffix in (".yaml", ".yml") and p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such policy file or folder",
                             hint="name policy files, or a folder of them (default: ./policies)")
    if not found:
        raise UsageError("no policy files found", hint="name policy files or a folder of them")
    return found


def run_policy_tests(path: Path, min_coverage: float = 100.0, update: bool = False) -> PolicyResult:
    shown = str(path)
    try:
        policy = load_policy(path)
    except LearnexportError as exc:
        return PolicyResult(shown, None, min_coverage=min_coverage, error=exc.render())
    specs = discover(path)
    if not specs:
        return PolicyResult(shown, policy, covered=tuple(False for _ in policy.rules),
                            min_coverage=min_coverage,
                            error=f"no test cases in {tests_folder(path)}/")
    covered = [False] * len(policy.rules)
    results = tuple(_run(spec, policy, covered, update) for spec in specs)
    return PolicyResult(shown, policy, results, tuple(covered), min_coverage)


def _run(spec: CaseSpec, policy: Policy, covered: list[bool], update: bool) -> CaseResult:
    start = time.perf_counter()
    rewrite = update and spec.expected_file is not None
    if spec.problem:
        return CaseResult(spec.name, spec.source, False, (spec.problem,))
    if "expect" not in spec.case and "error" not in spec.case and not rewrite:
        return CaseResult(spec.name, spec.source, False, (
            "no expected.json or error.txt: run `learnexport policy test --update` to write "
            "the current result, then review it",))
    try:
        case = {**spec.case, **_made(spec)}
    except LearnexportError as exc:
        return CaseResult(spec.name, spec.source, False, (exc.render(),))
    own_rules = "rule" in case or "rules" in case
    key = HashKey(str(case.get("key", samples.TEST_KEY.secret.decode())).encode(), "case")
    stamp = None if own_rules else samples.stamp_for(policy, case.get("given"), key)
    outcome = run_case(case, None if own_rules else policy, key=key, shown=spec.source,
                       stamp=stamp)
    if outcome.report is not None and not own_rules:
        for number, rule in enumerate(outcome.report.rules):
            covered[number] = covered[number] or rule.matched > 0
    seconds = time.perf_counter() - start
    if rewrite and outcome.result is not None and not outcome.passed:
        assert spec.expected_file is not None
        spec.expected_file.write_bytes(docio.encode_json(outcome.result, pretty=True))
        return CaseResult(spec.name, spec.source, True, (), seconds, updated=True)
    return CaseResult(spec.name, spec.source, outcome.passed, tuple(outcome.problems), seconds)


def _made(spec: CaseSpec) -> dict[str, Any]:
    """The generated input of a ``sample:`` case."""
    if "sample" not in spec.case:
        return {}
    seed = spec.case.get("seed", samples.DEFAULT_SEED)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"seed {seed!r} is not a whole number")
    return {"given": samples.generated(str(spec.case["sample"]), seed)}
