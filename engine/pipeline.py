"""The stages after loading, in one place: apply the policy → schema check → leak check.

Nothing is written by this module; a caller writes only what ``run`` returned.

``apply``, ``export`` and ``policy test`` all run a document through ``run``, so each
gets the same checks in the same order, and nothing is written before all have passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import leakcheck, schemacheck
from .applier import Report, apply_policy
from .errors import did_you_mean
from .keys import HashKey
from .policy import Policy


@dataclass
class RunResult:
    document: Any
    report: Report
    tainted: set[str]
    key: HashKey | None
    # the allowances (the policy's and the built-in one) that kept a detector from firing
    allowances: list[leakcheck.AllowanceUse] = field(default_factory=list)


def run(policy: Policy, document: Any, *, key: HashKey | None,
        stamp: Callable[[Report, Any], dict[str, Any]] | None = None,
        schema: bool = True, without: Sequence[str] = (), copy: bool = True,
        warn: Callable[[str], None] | None = None) -> RunResult:
    """Apply ``policy`` to ``document`` and check the result; raises on any failure.
    ``without`` names top-level sections left out of the result (before the checks).
    ``warn`` hears of each rule that matched nothing for want of its top-level section,
    before the checks (whose failure such a typo often explains)."""
    sections = list(document) if warn is not None and isinstance(document, dict) else []
    result = apply_policy(policy, document, key=key.secret if key else None, stamp=stamp,
                          without=without, copy=copy)
    if warn is not None:
        for warning in absent_sections(policy, result.report, sections):
            warn(warning)
    if schema and policy.schema:
        schemacheck.check(result.document, policy.schema)
    allowances = leakcheck.enforce(result.document, tainted=result.tainted,
                                   key=key.secret if key else None, allow=policy.allow,
                                   stamp=policy.stamp,
                                   produced=result.produced | policy.literals)
    return RunResult(result.document, result.report, result.tainted, key, allowances)


def absent_sections(policy: Policy, report: Report, sections: list[str]) -> list[str]:
    """A warning for each rule that matched nothing because the input has no such
    top-level key (a typo such as ``memroy[*].id`` would otherwise empty the output
    without a word under ``unmatched: drop``)."""
    out = []
    for rule, done in zip(policy.rules, report.rules, strict=True):
        first = rule.selector.static_prefix[:1]
        if done.matched or not first or not isinstance(first[0], str) or first[0] in sections:
            continue
        out.append(f'{rule.location or policy.source}: rule "{rule.id}" matched nothing: '
                   f"the input has no '{first[0]}'{did_you_mean(first[0], sections)}")
    return out
