"""Applying a compiled policy to a document.

Rules run in file order, each on the result of the ones before. A rule resolves its
selector to locations, then its action either transforms each value in place (or drops
it) or folds all of them into one result written elsewhere (``aggregate``). Every location
a rule touched is *covered*; afterwards ``unmatched`` decides the rest. The input document
is never changed: the engine works on its own copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .actions import DROP, ActionValueError, RunContext
from .coverage import Coverage
from .errors import ApplyError
from .paths import Path, folded, format_path, set_at
from .policy import Policy, Rule
from .selectors import Match


@dataclass(frozen=True)
class FoldOutcome:
    """What a folding action asks of the engine: values to write, sources to drop."""

    writes: list[tuple[Path, Any]]
    drop_sources: bool
    notes: dict[str, int] = field(default_factory=dict)


@dataclass
class RuleReport:
    id: str
    action: str
    select: str
    matched: int = 0
    changed: int = 0
    dropped: int = 0
    paths: Counter[str] = field(default_factory=Counter)
    notes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "action": self.action, "select": self.select,
               "matched": self.matched, "changed": self.changed, "dropped": self.dropped,
               "paths": dict(sorted(self.paths.items()))}
        if self.notes:
            out["notes"] = dict(self.notes)
        return out


@dataclass
class Report:
    """Per rule what it matched and did; then what no rule covered. Paths, never values."""

    policy: dict[str, str]
    unmatched: str
    rules: list[RuleReport]
    uncovered: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rules": [r.to_dict() for r in self.rules],
            "unmatched": {"action": self.unmatched, "paths": dict(sorted(self.uncovered.items()))},
        }


@dataclass
class Result:
    document: Any
    report: Report
    tainted: set[str]


def apply_policy(policy: Policy, document: Any, *, key: bytes | None = None,
                 stamp: Callable[[Report], dict[str, Any]] | None = None) -> Result:
    """Run ``policy`` over a copy of ``document``. ``stamp`` builds the run's metadata,
    written at the policy's ``stamp`` location."""
    _require_key(policy, key)
    ctx = RunContext(key=key, hash_length=policy.hash.length)
    report = Report(
        policy={"id": policy.id, "version": policy.version, "sha256": policy.sha256},
        unmatched=policy.unmatched, rules=[],
    )
    state = _State(json_copy(document), Coverage())
    for rule in policy.rules:
        report.rules.append(_run_rule(rule, state, ctx))
    remove = policy.unmatched == "drop"
    report.uncovered = state.coverage.sweep(state.doc, remove)
    if policy.unmatched == "error" and report.uncovered:
        shown = sorted(report.uncovered)
        raise ApplyError(
            f"{len(shown)} uncovered path(s) with unmatched: error: {', '.join(shown[:10])}"
            + (f" and {len(shown) - 10} more" if len(shown) > 10 else ""),
            hint="add rules that keep, drop or transform them, or set unmatched: drop",
            location=None,
        )
    if remove and not isinstance(state.doc, dict | list):
        state.doc = {}
    if policy.stamp and stamp is not None:
        if not isinstance(state.doc, dict):
            state.doc = {}
        where = tuple(policy.stamp.split("."))
        if len(where) == 1:  # a top-level stamp comes first, where a reader looks
            state.doc = {where[0]: stamp(report), **state.doc}
        else:
            set_at(state.doc, where, stamp(report))
    return Result(state.doc, report, ctx.tainted)


@dataclass
class _State:
    doc: Any
    coverage: Coverage


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


def _run_rule(rule: Rule, state: _State, ctx: RunContext) -> RuleReport:
    report = RuleReport(rule.id, rule.action, rule.select)
    matches = rule.selector.resolve(state.doc)
    report.matched = len(matches)
    for match in matches:
        report.paths[folded(match.path)] += 1
    impl = rule.impl
    if impl.fold is not None:
        _run_fold(rule, matches, state, ctx, report)
        return report
    transform = impl.transform
    assert transform is not None
    drops: list[Match] = []
    for match in matches:
        try:
            new = transform(match.value, rule.params, ctx)
        except ActionValueError as exc:
            raise ApplyError(str(exc), hint=exc.hint, location=rule.location, rule=rule.id,
                             path=format_path(match.path)) from None
        if new is DROP:
            drops.append(match)
            continue
        if new is not match.value and new != match.value:
            report.changed += 1
            _write(state, match, new)
        state.coverage.mark(state.doc, match.path)
    _remove(drops, state)
    report.dropped = len(drops)
    return report


def _write(state: _State, match: Match, value: Any) -> None:
    if match.container is None:
        state.doc = value
    else:
        match.container[match.key] = value


def _remove(drops: list[Match], state: _State) -> None:
    """Delete dropped locations; list elements last-first so indexes stay valid."""
    for match in sorted(drops, key=lambda m: -m.key if isinstance(m.key, int) else 0):
        if match.container is None:
            state.doc = {}
            state.coverage.root = True
            continue
        del match.container[match.key]
        state.coverage.forget(match.path)


def _run_fold(rule: Rule, matches: list[Match], state: _State, ctx: RunContext,
              report: RuleReport) -> None:
    fold = rule.impl.fold
    assert fold is not None
    try:
        outcome: FoldOutcome = fold(matches, rule.params, ctx)
    except ActionValueError as exc:
        raise ApplyError(str(exc), hint=exc.hint, location=rule.location,
                         rule=rule.id) from None
    report.notes.update(outcome.notes)
    if outcome.drop_sources:
        _remove(matches, state)
        report.dropped = len(matches)
    # With keep_source the records stay, uncovered: reading records for a summary does not
    # vouch for exporting them raw (that takes an explicit keep).
    for path, value in outcome.writes:
        if not isinstance(state.doc, dict):
            raise ApplyError("cannot write an aggregate into a document that is not an object",
                             location=rule.location, rule=rule.id)
        set_at(state.doc, path, value)
        state.coverage.mark(state.doc, path)
        report.changed += 1


def json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (much faster than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value
