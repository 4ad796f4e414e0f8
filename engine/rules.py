"""Running one rule on the in-memory document.

A rule with a record-wise plan over a list runs record by record (``_recordwise``): no
match object per record on the common ``list[*].field`` shape, one coverage mark for the
whole list, and dropped records removed in one pass. Any other rule resolves its selector
to matches and treats each (``_generic``). Folding rules (``aggregate``) feed a folder.
Rules over record streams are handed to ``streaming`` before they get here.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

from .actions import DROP, ActionValueError, RunContext
from .coverage import Coverage
from .errors import ApplyError
from .paths import WILD, Path, fold, format_path, set_at
from .policy import Rule
from .recordplan import RecordPlan
from .report import RuleReport
from .selectors import FilterError, Match


@dataclass
class RunState:
    doc: Any
    coverage: Coverage


def lookup(doc: Any, path: Path) -> Any:
    """The value at a path of keys, or None."""
    node = doc
    for part in path:
        if type(node) is not dict:
            return None
        node = node.get(part)  # type: ignore[call-overload]
    return node


def fail(rule: Rule, exc: ActionValueError, path: Path | None) -> ApplyError:
    return ApplyError(str(exc), hint=exc.hint, location=rule.location, rule=rule.id,
                      path=format_path(path) if path is not None else None)


def run_in_memory(rule: Rule, state: RunState, ctx: RunContext, report: RuleReport) -> None:
    try:
        _run(rule, state, ctx, report)
    except FilterError as exc:
        raise filter_failed(rule, exc) from None


def filter_failed(rule: Rule, exc: FilterError) -> ApplyError:
    return ApplyError(str(exc), location=rule.location, rule=rule.id,
                      hint="guard the condition against other types, e.g. "
                      "[?type(x) == 'array' && length(x) > `0`]")


def _run(rule: Rule, state: RunState, ctx: RunContext, report: RuleReport) -> None:
    plan = rule.plan
    target = lookup(state.doc, plan.prefix) if plan is not None else None
    if plan is not None and type(target) is list:
        if rule.impl.fold is not None:
            _fold(rule, _plan_matches(plan, target), state, ctx, report)
        else:
            _recordwise(rule, plan, target, state, ctx, report)
        return
    matches = rule.selector.resolve(state.doc)
    if rule.impl.fold is not None:
        _fold(rule, matches, state, ctx, report)
    else:
        _generic(rule, matches, state, ctx, report)


def _plan_matches(plan: RecordPlan, records: list[Any]) -> list[Match]:
    out: list[Match] = []
    for index, record in enumerate(records):
        if plan.wanted(record):
            out.extend(plan.matches(record, (*plan.prefix, index), records, index))
    return out


def _generic(rule: Rule, matches: list[Match], state: RunState, ctx: RunContext,
             report: RuleReport) -> None:
    transform, params = rule.impl.transform, rule.params
    assert transform is not None
    report.matched += len(matches)
    _count_paths(report, matches)
    drops: list[Match] = []
    for match in matches:
        try:
            new = transform(match.value, params, ctx)
        except ActionValueError as exc:
            raise fail(rule, exc, match.path) from None
        if new is DROP:
            drops.append(match)
            continue
        if new is not match.value and new != match.value:
            report.changed += 1
            if match.container is None:
                state.doc = new
            else:
                match.container[match.key] = new
        state.coverage.mark(state.doc, match.path)
    remove_matches(drops, state)
    report.dropped += len(drops)


def _count_paths(report: RuleReport, matches: list[Match]) -> None:
    """Each folded path's matches, the path formatted once (not once per match)."""
    for path, count in Counter(fold(m.path) for m in matches).items():
        report.paths[format_path(path)] += count


def remove_matches(drops: list[Match], state: RunState) -> None:
    """Delete dropped locations: keys at once, list elements in one rebuild per list."""
    by_list: dict[int, tuple[list[Any], list[Match]]] = {}
    for match in drops:
        if match.container is None:
            state.doc = {}
            state.coverage.root = True
        elif type(match.container) is list:
            by_list.setdefault(id(match.container), (match.container, []))[1].append(match)
        else:
            del match.container[match.key]
            state.coverage.forget(match.path)
    for container, gone in by_list.values():
        indexes = {m.key for m in gone}
        container[:] = [v for i, v in enumerate(container) if i not in indexes]
        state.coverage.forget_items(gone[0].path[:-1], indexes)


def _recordwise(rule: Rule, plan: RecordPlan, records: list[Any], state: RunState,
                ctx: RunContext, report: RuleReport) -> None:
    if plan.field is not None:
        _field_fast(rule, plan.field, records, state, ctx, report)
        state.coverage.mark_every(state.doc, plan.prefix, (plan.field,))
        return
    matches = _plan_matches(plan, records)
    _generic(rule, matches, state, ctx, report)


def _field_fast(rule: Rule, name: str, records: list[Any], state: RunState,
                ctx: RunContext, report: RuleReport) -> None:
    """``list[*].name``: transform in place, no match objects; a whole column at once
    where the action can (``transform_many``)."""
    if rule.impl.transform_many is not None and _column(rule, name, records, ctx, report):
        return
    transform, params = rule.impl.transform, rule.params
    assert transform is not None
    prefix = rule.plan.prefix if rule.plan else ()
    matched = changed = dropped = 0
    for index, record in enumerate(records):
        if type(record) is not dict or name not in record:
            continue
        matched += 1
        old = record[name]
        try:
            new = transform(old, params, ctx)
        except ActionValueError as exc:
            raise fail(rule, exc, (*prefix, index, name)) from None
        if new is DROP:
            del record[name]
            dropped += 1
        elif new is not old and new != old:
            record[name] = new
            changed += 1
    report.matched += matched
    report.changed += changed
    report.dropped += dropped
    if matched:
        report.paths[format_path((*prefix, WILD, name))] += matched


def _column(rule: Rule, name: str, records: list[Any], ctx: RunContext,
            report: RuleReport) -> bool:
    """``_field_fast`` with the action's ``transform_many``; False (nothing changed) when
    a value fails, so that the record-by-record loop reports it with its index."""
    assert rule.impl.transform_many is not None
    try:  # the usual case: every record is an object with the field
        present, olds = records, list(map(itemgetter(name), records))
    except (KeyError, TypeError, IndexError):
        present = [r for r in records if type(r) is dict and name in r]
        olds = list(map(itemgetter(name), present))
    try:
        news = rule.impl.transform_many(olds, rule.params, ctx)
    except ActionValueError:
        return False
    changed = dropped = 0
    drops = news.count(DROP) if news else 0
    if drops == len(news):  # a column dropped (or nothing matched)
        deque(map(dict.pop, present, repeat(name)), maxlen=0)
        dropped = drops
    else:
        changed = sum(1 for old, new in zip(olds, news, strict=True)
                      if new is not DROP and new is not old and new != old)
        if changed == len(news):  # every value new: written back in one C loop
            deque(map(dict.__setitem__, present, repeat(name), news), maxlen=0)
        else:  # an equal value keeps the original (1 stays 1 where 1.0 came back)
            for record, old, new in zip(present, olds, news, strict=True):
                if new is DROP:
                    del record[name]
                    dropped += 1
                elif new is not old and new != old:
                    record[name] = new
    report.matched += len(present)
    report.changed += changed
    report.dropped += dropped
    if present:
        prefix = rule.plan.prefix if rule.plan else ()
        report.paths[format_path((*prefix, WILD, name))] += len(present)
    return True


def _fold(rule: Rule, matches: list[Match], state: RunState, ctx: RunContext,
          report: RuleReport) -> None:
    assert rule.impl.fold is not None
    folder = rule.impl.fold(rule.params, ctx)
    report.matched += len(matches)
    _count_paths(report, matches)
    for match in matches:
        try:
            folder.add(match.value)
        except ActionValueError as exc:
            raise fail(rule, exc, match.path) from None
    try:
        outcome = folder.finish()
    except ActionValueError as exc:
        raise fail(rule, exc, None) from None
    if folder.drop_sources:
        remove_matches(matches, state)
        report.dropped += len(matches)
    write_outcome(rule, outcome, state, report)


def write_outcome(rule: Rule, outcome: Any, state: RunState, report: RuleReport) -> None:
    """Write a fold's results (covered: the engine made them) and note its counts."""
    report.notes.update(outcome.notes)
    for path, value in outcome.writes:
        if not isinstance(state.doc, dict):
            raise ApplyError("cannot write an aggregate into a document that is not an object",
                             location=rule.location, rule=rule.id)
        set_at(state.doc, path, value)
        state.coverage.mark(state.doc, path)
        report.changed += 1
