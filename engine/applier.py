"""Applying a compiled policy to a document.

Rules run in file order, each on the result of the ones before. A rule resolves its
selector to locations, then its action either transforms each value in place (or drops
it) or folds all of them into one result written elsewhere (``aggregate``). Every location
a rule touched is *covered*; afterwards ``unmatched`` decides the rest. Rules over record
streams are queued and run record by record (``streaming``). The input document is never
changed: the engine works on its own copy (streams are read afresh, never written).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .actions import RunContext
from .coverage import Coverage
from .errors import ApplyError
from .paths import json_copy, set_at
from .policy import Policy, Rule
from .report import Report, RuleReport
from .rules import RunState, run_in_memory
from .streaming import Streams
from .streams import gc_paused


@dataclass
class Result:
    document: Any
    report: Report
    tainted: set[str]
    produced: set[str]


def apply_policy(policy: Policy, document: Any, *, key: bytes | None = None,
                 stamp: Callable[[Report, Any], dict[str, Any]] | None = None,
                 without: Sequence[str] = (), copy: bool = True) -> Result:
    """Run ``policy`` over a copy of ``document``. ``without`` names top-level sections
    left out of the result; ``stamp(report, result)`` then builds the run's metadata,
    written at the policy's ``stamp`` location. ``copy=False`` lets the engine work on
    ``document`` itself, for a caller that parsed it for this run only (the command)."""
    _require_key(policy, key)
    ctx = RunContext(key=key, hash_length=policy.hash.length)
    report = Report(
        policy={"id": policy.id, "version": policy.version, "sha256": policy.sha256},
        unmatched=policy.unmatched, rules=[],
    )
    try:
        state = RunState(json_copy(document) if copy else document, Coverage())
        streams = Streams()
        with gc_paused():
            for rule in policy.rules:
                report.rules.append(_run_rule(rule, state, streams, ctx))
            drained = streams.finish(state, ctx, policy.unmatched)
        remove = policy.unmatched == "drop"
        report.uncovered = state.coverage.sweep(state.doc, remove) + drained
    except RecursionError:
        raise ApplyError("the document is nested too deeply to process",
                         hint="documents nested deeper than about 300 levels are refused; "
                         "flatten the input") from None
    if policy.unmatched == "error" and report.uncovered:
        shown = sorted(report.uncovered)
        raise ApplyError(
            f"{len(shown)} uncovered path(s) with unmatched: error: {', '.join(shown[:10])}"
            + (f" and {len(shown) - 10} more" if len(shown) > 10 else ""),
            hint="add rules that keep, drop or transform them, or set unmatched: drop",
            location=policy.where.get("unmatched"),
        )
    if remove and not isinstance(state.doc, dict | list):
        state.doc = {}
    for section in without:
        if isinstance(state.doc, dict):
            state.doc.pop(section, None)
    if policy.stamp and stamp is not None:
        _stamp(policy.stamp, state, stamp(report, state.doc))
    return Result(state.doc, report, ctx.tainted, ctx.produced)


def _run_rule(rule: Rule, state: RunState, streams: Streams, ctx: RunContext) -> RuleReport:
    report = RuleReport(rule.id, rule.action, rule.select)
    if not streams.take(rule, state, ctx, report):
        streams.before(rule, state, ctx)
        run_in_memory(rule, state, ctx, report)
    return report


def _stamp(where_text: str, state: RunState, metadata: dict[str, Any]) -> None:
    if not isinstance(state.doc, dict):
        state.doc = {}
    where = tuple(where_text.split("."))
    if len(where) == 1:  # a top-level stamp comes first, where a reader looks
        state.doc = {where[0]: metadata, **state.doc}
    else:
        set_at(state.doc, where, metadata)


def _require_key(policy: Policy, key: bytes | None) -> None:
    if key is None:
        hashing = [r for r in policy.rules if r.action == "hash"]
        if hashing:
            raise ApplyError(
                "this policy hashes values but no hash key was given",
                hint="set hash.key in the policy (env:NAME or file:PATH), pass "
                "--hash-key-file FILE, or create one with: learnexport key new FILE",
                location=hashing[0].location, rule=hashing[0].id,
            )


__all__ = ["Report", "Result", "RuleReport", "apply_policy"]
