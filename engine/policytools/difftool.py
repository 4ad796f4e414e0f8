"""``policy diff``: what a policy change does to privacy, not a text diff.

Three views of the change from OLD to NEW, every entry classified (``classify``) as
*weakens*, *strengthens* or *neutral*, weakening first:

* **policy**: ``unmatched``, leak-check allowances (``allow``), the hash key and length,
  schema and stamp;
* **rules**, compared by id: added, removed, renamed (same action, selector and options
  under a new id), moved, and per rule its action, selector, options and note;
* **fields**: both policies explained on the same sample (``explain``); per input field
  (list indexes folded to ``[*]``) the treatment before → after, with the number of
  locations it changed for;
* **export**: per aggregate output, the number of groups on the sample (more groups of
  the same records is a finer summary), and aggregate fields that appear or disappear.

Whether an export with each policy passes the schema and leak checks on the sample is
reported beside the verdict: a policy that blocks every export is no weakening, but an
auditor should know.

A removed rule is judged by its action (removing a ``drop`` or a protection weakens),
unless the sample shows that none of the fields it acted on got weaker. A weakening must
come with a new major or minor version; a weakening without one is itself flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..policy import Policy, Rule
from . import classify as cl
from .classify import Change
from .effects import export_changes, field_changes, group_changes
from .explain import Explanation, explain

__all__ = ["Change", "PolicyDiff", "diff_policies"]


@dataclass(frozen=True)
class PolicyDiff:
    old: Policy
    new: Policy
    sample: str
    changes: tuple[Change, ...] = field(default_factory=tuple)
    checks: tuple[str | None, str | None] = (None, None)  # why each export fails, if it does

    def count(self, effect: str) -> int:
        return sum(1 for c in self.changes if c.effect == effect)

    @property
    def weakens(self) -> bool:
        return self.count(cl.WEAKENS) > 0


def diff_policies(old: Policy, new: Policy, document: Any, sample: str) -> PolicyDiff:
    before, after = explain(old, document, sample), explain(new, document, sample)
    fields = field_changes(before, after)
    changes = [*policy_changes(old, new), *rule_changes(old, new, before, fields),
               *fields, *group_changes(before, after), *export_changes(before, after)]
    changes.extend(version_changes(old, new, any(c.effect == cl.WEAKENS for c in changes)))
    return PolicyDiff(old, new, sample, tuple(sorted(changes, key=Change.sort_key)),
                      (before.checks, after.checks))


# --- the policy ------------------------------------------------------------------------

def policy_changes(old: Policy, new: Policy) -> list[Change]:
    out: list[Change] = []
    if old.unmatched != new.unmatched:
        verdict = cl.by_rank(cl.UNMATCHED_EXPOSURE[old.unmatched],
                             cl.UNMATCHED_EXPOSURE[new.unmatched],
                             f"unmatched: {old.unmatched} → {new.unmatched}")
        if new.unmatched == "keep":
            verdict = cl.Verdict(cl.WEAKENS, verdict.reason + " (fields no rule names are "
                                 "exported raw)")
        out.append(Change(verdict.effect, "policy", "unmatched", verdict.reason))
    before = {(a.detector, a.path): a for a in old.allow}
    after = {(a.detector, a.path): a for a in new.allow}
    for key in sorted(after.keys() - before.keys()):
        out.append(Change(cl.WEAKENS, "policy", "allow", f"the leak check now allows "
                          f"detector {key[0]} at {key[1]} ({after[key].reason})"))
    for key in sorted(before.keys() - after.keys()):
        out.append(Change(cl.STRENGTHENS, "policy", "allow", f"the leak check no longer "
                          f"allows detector {key[0]} at {key[1]}"))
    pairs = [("hash.key", old.hash.key, new.hash.key, " (hashes will not match earlier "
              "exports)"), ("hash.length", old.hash.length, new.hash.length, ""),
             ("schema", old.schema, new.schema, ""), ("stamp", old.stamp, new.stamp, ""),
             ("policy", old.id, new.id, "")]
    for name, a, b, note in pairs:
        if a != b:
            out.append(Change(cl.NEUTRAL, "policy", name, f"{name}: {a or '(none)'} → "
                              f"{b or '(none)'}{note}"))
    return out


# --- rules -----------------------------------------------------------------------------

def _where(rule: Rule) -> str | None:
    return str(rule.location) if rule.location else None


def _signature(rule: Rule) -> tuple[str, str, str]:
    return rule.action, rule.select, repr(sorted(rule.options.items()))


def rule_changes(old: Policy, new: Policy, before: Explanation,
                 fields: list[Change]) -> list[Change]:
    old_rules = {r.id: r for r in old.rules}
    new_rules = {r.id: r for r in new.rules}
    added = [r for r in new.rules if r.id not in old_rules]
    removed = [r for r in old.rules if r.id not in new_rules]
    out: list[Change] = []
    for rule in list(removed):
        twin = next((a for a in added if _signature(a) == _signature(rule)), None)
        if twin is not None:
            added.remove(twin)
            removed.remove(rule)
            out.append(Change(cl.NEUTRAL, "rule", twin.id, f"renamed from {rule.id}",
                              _where(twin)))
    out += [_removed(rule, before, fields) for rule in removed]
    out += [_added(rule) for rule in added]
    for rule in new.rules:
        if rule.id in old_rules:
            out += _changed(old_rules[rule.id], rule)
    out += _moved(old, new)
    return out


def _removed(rule: Rule, before: Explanation, fields: list[Change]) -> Change:
    text = f"removed (was: {rule.action} {rule.select!r})"
    if rule.action == "keep":
        return Change(cl.STRENGTHENS, "rule", rule.id, text, _where(rule))
    if rule.action == "aggregate":
        return Change(cl.NEUTRAL, "rule", rule.id, text + "; its summaries are no longer "
                      "exported", _where(rule))
    acted = {f.path for f in before.fields if rule.id in f.rules}
    weaker = {c.subject for c in fields if c.effect == cl.WEAKENS}
    if acted and not acted & weaker:
        return Change(cl.NEUTRAL, "rule", rule.id, text + "; on the sample, no field it "
                      "acted on is weaker without it", _where(rule))
    return Change(cl.WEAKENS, "rule", rule.id, text + " (a protection removed)", _where(rule))


def _added(rule: Rule) -> Change:
    text = f"added: {rule.action} {rule.select!r}"
    if rule.action == "keep":
        return Change(cl.WEAKENS, "rule", rule.id, text + " (exported raw)", _where(rule))
    if rule.action == "drop":
        return Change(cl.STRENGTHENS, "rule", rule.id, text, _where(rule))
    return Change(cl.NEUTRAL, "rule", rule.id, text, _where(rule))


def _changed(old: Rule, new: Rule) -> list[Change]:
    out: list[Change] = []
    where = _where(new)
    if old.action != new.action:
        verdict = cl.by_rank(cl.ACTION_EXPOSURE[old.action], cl.ACTION_EXPOSURE[new.action],
                             f"action: {old.action} → {new.action}")
        out.append(Change(verdict.effect, "rule", new.id, verdict.reason, where))
    else:
        for verdict in cl.judge_options(new.action, old.options, new.options):
            out.append(Change(verdict.effect, "rule", new.id, verdict.reason, where))
    if old.select != new.select:
        out.append(Change(cl.NEUTRAL, "rule", new.id, f"select: {old.select!r} → "
                          f"{new.select!r} (see the field changes)", where))
    if old.note != new.note:
        out.append(Change(cl.NEUTRAL, "rule", new.id, "note changed", where))
    return out


def _moved(old: Policy, new: Policy) -> list[Change]:
    """Rules whose order relative to the others changed (outside a longest common
    subsequence of the rules both policies have)."""
    common = [r.id for r in old.rules if r.id in {n.id for n in new.rules}]
    order = [r.id for r in new.rules if r.id in set(common)]
    keep = _lcs(common, order)
    where = {r.id: _where(r) for r in new.rules}
    return [Change(cl.NEUTRAL, "rule", rule_id, "moved (rules run in order; see the field "
                   "changes)", where[rule_id]) for rule_id in order if rule_id not in keep]


def _lcs(a: list[str], b: list[str]) -> set[str]:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = (table[i + 1][j + 1] + 1 if a[i] == b[j]
                           else max(table[i + 1][j], table[i][j + 1]))
    out, i, j = set(), 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            out.add(a[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


# --- the version -----------------------------------------------------------------------

def _version(text: str) -> tuple[int, int, int]:
    core = text.split("-")[0].split("+")[0]
    major, minor, patch = (int(x) for x in core.split("."))
    return major, minor, patch


def version_changes(old: Policy, new: Policy, weakens: bool) -> list[Change]:
    a, b = _version(old.version), _version(new.version)
    if b < a:
        return [Change(cl.NEUTRAL, "version", new.version, f"version {old.version} → "
                       f"{new.version} goes backwards")]
    if weakens and b[:2] <= a[:2]:
        wanted = f"{a[0]}.{a[1] + 1}.0"
        return [Change(cl.WEAKENS, "version", new.version, f"version {old.version} → "
                       f"{new.version}: a weakening needs a new major or minor version "
                       f"(at least {wanted})")]
    return []
