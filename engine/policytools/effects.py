"""The field and export views of ``policy diff``: both policies explained on one sample.

Per input field, each location's treatment before → after (``explain``), judged by
``classify``: a move up the exposure scale weakens, down strengthens; the same treatment
by a rule whose options changed is judged by those options. Neutral moves many fields
share are listed once. Per aggregate output, more groups of the same records is a finer
summary; aggregate fields that appear or disappear are listed.
"""

from __future__ import annotations

from collections import Counter

from ..paths import folded
from ..policy import Policy, Rule
from . import classify as cl
from .classify import Change
from .explain import TRANSFORMS, Explanation, Treatment

GROUP_AT = 3  # neutral field changes shared by this many fields are listed as one


def field_changes(before: Explanation, after: Explanation) -> list[Change]:
    moves: dict[str, Counter[tuple[Treatment, Treatment]]] = {}
    totals: Counter[str] = Counter()
    for path, old in before.locations.items():
        new = after.locations[path]
        name = folded(path)
        totals[name] += 1
        if _differs(old, new, before.policy, after.policy):
            moves.setdefault(name, Counter())[(old, new)] += 1
    out: list[Change] = []
    shared: dict[str, list[str]] = {}
    for name, counter in sorted(moves.items()):
        for (old, new), count in sorted(counter.items(), key=lambda i: -i[1]):
            verdict = _judge(old, new, before.policy, after.policy)
            move = f"{_shown(old)} → {_shown(new)}"
            if verdict.effect == cl.NEUTRAL and not verdict.reason:
                shared.setdefault(move, []).append(name)
                continue
            share = "" if count == totals[name] else f" [{count} of {totals[name]}]"
            why = f" ({verdict.reason})" if verdict.reason else ""
            out.append(Change(verdict.effect, "field", name, move + share + why))
    for move, names in shared.items():
        if len(names) < GROUP_AT:
            out += [Change(cl.NEUTRAL, "field", name, move) for name in names]
        else:
            out.append(Change(cl.NEUTRAL, "field", f"{len(names)} fields", move,
                              fields=tuple(names)))
    return out


def _shown(treatment: Treatment) -> str:
    return treatment.text(by=True)


def _rule(policy: Policy, rule_id: str | None) -> Rule | None:
    return next((r for r in policy.rules if r.id == rule_id), None)


def _differs(old: Treatment, new: Treatment, before: Policy, after: Policy) -> bool:
    if old.meaning != new.meaning:
        return True
    a, b = _rule(before, old.decided_by), _rule(after, new.decided_by)
    return a is not None and b is not None and (a.action, a.options) != (b.action, b.options)


def _judge(old: Treatment, new: Treatment, before: Policy, after: Policy) -> cl.Verdict:
    rank_old, rank_new = cl.KIND_EXPOSURE[old.kind], cl.KIND_EXPOSURE[new.kind]
    if rank_new != rank_old:
        raw = new.kind in ("kept", "uncovered-kept")
        return cl.by_rank(rank_old, rank_new, "now exported raw" if raw else "")
    a, b = _rule(before, old.decided_by), _rule(after, new.decided_by)
    if old.kind == new.kind and a and b and a.action == b.action and a.action in TRANSFORMS:
        verdicts = cl.judge_options(a.action, a.options, b.options)
        judged = [v for v in verdicts if v.effect != cl.NEUTRAL] or verdicts
        return cl.Verdict(cl.worst(judged), "; ".join(v.reason for v in judged))
    return cl.Verdict(cl.NEUTRAL, "")


def group_changes(before: Explanation, after: Explanation) -> list[Change]:
    """Aggregates writing to the same place, with more or fewer groups on the sample."""
    old = {into: (groups + hidden, hidden) for _, into, groups, hidden in before.groups}
    new = {into: (groups + hidden, hidden) for _, into, groups, hidden in after.groups}
    out = []
    for into in sorted(old.keys() & new.keys()):
        (a, _), (b, hidden) = old[into], new[into]
        if a != b:
            suppressed = f"; {hidden} suppressed by min_group_size" if hidden else ""
            grain = "finer" if b > a else "coarser"
            out.append(Change(cl.WEAKENS if b > a else cl.STRENGTHENS, "export", into,
                              f"{b} groups on the sample, was {a} ({grain} groups"
                              f"{suppressed})"))
    return out


def export_changes(before: Explanation, after: Explanation) -> list[Change]:
    """Fields that aggregates add to or remove from the export (on the sample)."""
    old = {path: origin for path, origin in before.outputs if origin != "input"}
    new = {path: origin for path, origin in after.outputs if origin != "input"}
    out = [Change(cl.NEUTRAL, "export", path, f"new in the export ({new[path]})")
           for path in sorted(new.keys() - old.keys())]
    out += [Change(cl.NEUTRAL, "export", path, f"no longer in the export ({old[path]})")
            for path in sorted(old.keys() - new.keys())]
    return out
