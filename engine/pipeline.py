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
        schema: bool = True, without: Sequence[str] = (), copy: bool = True) -> RunResult:
    """Apply ``policy`` to ``document`` and check the result; raises on any failure.
    ``without`` names top-level sections left out of the result (before the checks)."""
    result = apply_policy(policy, document, key=key.secret if key else None, stamp=stamp,
                          without=without, copy=copy)
    if schema and policy.schema:
        schemacheck.check(result.document, policy.schema)
    allowances = leakcheck.enforce(result.document, tainted=result.tainted,
                                   key=key.secret if key else None, allow=policy.allow,
                                   stamp=policy.stamp,
                                   produced=result.produced | policy.literals)
    return RunResult(result.document, result.report, result.tainted, key, allowances)
