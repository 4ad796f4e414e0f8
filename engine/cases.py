"""Test cases for policies: one YAML format for the docs' examples, the project's own
tests and users' ``policy test``.

A case is a mapping::

    name: hash task ids              # optional
    rule: {select: ..., action: ...} # or rules: [...]; absent: the policy under test
    unmatched: keep                  # for inline rules (default keep, so a case shows one rule)
    given: {...}                     # the input document
    expect: {...}                    # the whole expected result, or
    error: "text the error contains" # the run must fail with this in its message
    ignore: [export_metadata.export_timestamp]  # optional: locations left out of the
                                     # comparison (selectors); each must match something

Inline rules run with the fixed key ``docs-example-key`` unless the case gives ``key``.
``learnexport policy test`` adds ``sample`` (see ``learnexport.policytools.casefiles``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from .applier import Report
from .errors import LearnexportError
from .keys import HashKey
from .paths import json_copy
from .pipeline import run
from .policy import Policy, parse_policy
from .selectors import SelectorSyntaxError, compile_selector

EXAMPLE_KEY = b"docs-example-key"


@dataclass
class CaseOutcome:
    passed: bool
    problems: list[str] = field(default_factory=list)
    report: Report | None = None
    result: Any = None


def inline_policy(case: dict[str, Any], shown: str = "<case>") -> Policy:
    """The policy a case's inline ``rule``/``rules`` make (checked by the real loader)."""
    rules = case.get("rules") or [case["rule"]]
    rules = [{"id": f"rule-{i + 1}", **r} if "id" not in r else r for i, r in enumerate(rules)]
    policy = {"policy": "case", "version": "1.0.0", "unmatched": case.get("unmatched", "keep"),
              "rules": rules}
    if "stamp" in case:
        policy["stamp"] = case["stamp"]
    return parse_policy(yaml.safe_dump(policy, sort_keys=False), shown)


def run_case(case: dict[str, Any], policy: Policy | None = None,
             key: HashKey | None = None, shown: str = "<case>",
             stamp: Callable[..., dict[str, Any]] | None = None) -> CaseOutcome:
    """Run one case; ``policy`` is the policy under test when the case has no rules;
    ``stamp`` builds the run's metadata (for policies with ``stamp:``)."""
    try:
        if "rule" in case or "rules" in case:
            policy = inline_policy(case, shown)
            key = key or HashKey(case.get("key", EXAMPLE_KEY.decode()).encode(), "case")
        if policy is None:
            raise ValueError("the case has no rule and no policy to test")
        result = run(policy, case.get("given"), key=key, stamp=stamp)
    except LearnexportError as exc:
        return _expected_error(case, exc.render())
    if "error" in case:
        return CaseOutcome(False, [f"expected an error containing {case['error']!r}, "
                                   "but the run succeeded"], None, None)
    expected, actual = case.get("expect"), result.document
    problems: list[str] = []
    if case.get("ignore"):
        expected, actual, problems = _without_ignored(case["ignore"], expected, actual)
    problems += structural_diff(expected, actual)
    return CaseOutcome(not problems, problems, result.report, result.document)


def _without_ignored(ignore: Any, expected: Any, actual: Any) -> tuple[Any, Any, list[str]]:
    """Copies of both documents without the ``ignore`` locations, and a problem for each
    entry that is no selector or matches nothing in either (a stale ignore hides nothing)."""
    expected, actual = json_copy(expected), json_copy(actual)
    problems: list[str] = []
    for text in ignore if isinstance(ignore, list) else [ignore]:
        try:
            selector = compile_selector(str(text))
        except SelectorSyntaxError as exc:
            problems.append(f"ignore {text!r}: {exc}")
            continue
        found = [_remove_all(selector.resolve(doc)) for doc in (expected, actual)]
        if not any(found):
            problems.append(f"ignore {text!r} matches nothing in the expected or the actual "
                            "result; remove it")
    return expected, actual, problems


def _remove_all(matches: list[Any]) -> int:
    for match in sorted(matches, key=lambda m: -m.key if isinstance(m.key, int) else 0):
        if match.container is not None:
            del match.container[match.key]
    return len(matches)


def _expected_error(case: dict[str, Any], message: str) -> CaseOutcome:
    wanted = case.get("error")
    if wanted is None:
        return CaseOutcome(False, [f"the run failed: {message}"])
    if str(wanted) not in message:
        return CaseOutcome(False, [f"expected an error containing {wanted!r}, got: {message}"])
    return CaseOutcome(True)


def structural_diff(expected: Any, actual: Any, path: str = "@", limit: int = 20) -> list[str]:
    """Readable differences, one line per path (``memory[0].task_id: expected …, got …``)."""
    out: list[str] = []
    _diff(expected, actual, path, out)
    return out[:limit] + ([f"... and {len(out) - limit} more differences"]
                          if len(out) > limit else [])


def _diff(expected: Any, actual: Any, path: str, out: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            where = f"{path}.{key}" if path != "@" else key
            if key not in actual:
                out.append(f"{where}: missing (expected {_short(expected[key])})")
            else:
                _diff(expected[key], actual[key], where, out)
        for key in actual:
            if key not in expected:
                where = f"{path}.{key}" if path != "@" else key
                out.append(f"{where}: unexpected (got {_short(actual[key])})")
    elif isinstance(expected, list) and isinstance(actual, list):
        for index, (e, a) in enumerate(zip(expected, actual, strict=False)):
            _diff(e, a, f"{path}[{index}]", out)
        if len(expected) != len(actual):
            out.append(f"{path}: expected {len(expected)} items, got {len(actual)}")
    elif not _same(expected, actual):
        out.append(f"{path}: expected {_short(expected)}, got {_short(actual)}")


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
