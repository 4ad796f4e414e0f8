"""What ``policy test`` prints: text for people, JSON for programs (JUnit XML: ``junit``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .testrun import PolicyResult


def _coverage_line(r: PolicyResult) -> str:
    total = len(r.covered)
    state = "ok" if r.coverage_ok else "BELOW THE MINIMUM"
    return (f"  rule coverage: {sum(r.covered)} of {total} rules matched in some case "
            f"({r.coverage:.0f}%; minimum {r.min_coverage:g}%): {state}")


def uncovered_rules(r: PolicyResult) -> list[str]:
    if r.policy is None:
        return []
    return [f"{rule.location}: rule \"{rule.id}\" ({rule.action} {_short(rule.select)}) "
            "matched nothing in any case"
            for rule, hit in zip(r.policy.rules, r.covered, strict=True) if not hit]


def _short(select: str) -> str:
    text = repr(" ".join(select.split()))
    return text if len(text) <= 50 else text[:46] + "...'"


def text(results: Sequence[PolicyResult]) -> str:
    lines: list[str] = []
    for r in results:
        head = f"{r.path}: " + (f"policy {r.policy.id} {r.policy.version}, {len(r.cases)} "
                                f"case{'s' * (len(r.cases) != 1)}" if r.policy else "")
        lines.append(head.rstrip(": "))
        if r.error:
            first, *more = r.error.splitlines()
            lines += [f"  error: {first}", *(f"         {line}" for line in more)]
        for case in r.cases:
            mark = "updated" if case.updated else ("ok" if case.passed else "FAIL")
            lines.append(f"  {mark:<7} {case.name}  ({case.source})")
            lines += [f"          {problem}" for problem in case.problems]
        if r.policy is not None and r.cases:
            lines.append(_coverage_line(r))
            lines += [f"    {line}" for line in uncovered_rules(r)]
    lines.append(summary(results))
    return "\n".join(lines)


def summary(results: Sequence[PolicyResult]) -> str:
    cases = [c for r in results for c in r.cases]
    failed = sum(1 for c in cases if not c.passed)
    low = sum(1 for r in results if not r.coverage_ok)
    verdict = "ok" if failed == 0 and low == 0 else "FAILED"
    text = (f"{verdict}: {len(results)} polic{'ies' if len(results) != 1 else 'y'}, "
            f"{len(cases) - failed} of {len(cases)} cases passed")
    if low:
        text += f"; {low} polic{'ies' if low != 1 else 'y'} below the rule coverage minimum"
    return text


def as_json(results: Sequence[PolicyResult]) -> str:
    return json.dumps({
        "passed": all(r.passed for r in results),
        "policies": [{
            "path": r.path,
            "policy": {"id": r.policy.id, "version": r.policy.version} if r.policy else None,
            "passed": r.passed, "error": r.error,
            "cases": [{"name": c.name, "source": c.source, "passed": c.passed,
                       "problems": list(c.problems), "updated": c.updated}
                      for c in r.cases],
            "coverage": {"percent": round(r.coverage, 2), "minimum": r.min_coverage,
                         "rules": len(r.covered), "covered": sum(r.covered),
                         "uncovered": [rule.id for rule, hit in zip(
                             r.policy.rules if r.policy else (), r.covered, strict=False)
                             if not hit]},
        } for r in results],
    }, indent=2, ensure_ascii=False)
