"""``policy explain``: what a policy does to each field of a document, from a real apply.

The policy is applied to the sample rule by rule by the real engine (``trace``), every
input field followed through the results and checked against a real run of the whole
policy; the explanation is read off that, so it cannot silently disagree with ``apply``.
For each input field (list indexes folded to ``[*]``) it lists the rules that acted on it,
in order, and its final *treatment*:

=====================  ================================================================
kind                   meaning
=====================  ================================================================
``kept``               kept raw (a ``keep`` on it or an ancestor, and nothing changed it)
``hashed`` …           changed by ``hash``, ``round``, ``generalize``, ``mask``,
                       ``redact`` or ``replace`` (the last one that acted on it)
``aggregated``         read by an ``aggregate`` into a summary, the field itself removed
``dropped``            removed by a rule (``drop``, or an aggregate that removes records
                       it did not read this field of)
``uncovered-dropped``  no rule covered it; ``unmatched: drop`` removed it
``uncovered-kept``     no rule covered it; ``unmatched: keep`` exports it raw
``uncovered-error``    no rule covered it; ``unmatched: error`` fails the run
=====================  ================================================================

One field can hold several treatments (a filter drops some records' ``context`` and not
others): each is counted. The hash key is the fixed test key. Besides, per aggregate the
number of groups, and whether a whole export (schema and leak checks) passes on the sample.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..actions import REGISTRY
from ..errors import LearnexportError
from ..paths import Path, fold, folded, format_path, leaves
from ..pipeline import run
from ..policy import Policy
from .samples import TEST_KEY, stamp_for
from .trace import Trace, trace

TRANSFORMS = ("hash", "round", "generalize", "mask", "redact", "replace")
KIND_LABELS = {"kept": "kept raw", "uncovered-kept": "kept raw (unmatched: keep)",
               "redacted": "redacted", "generalized": "generalized", "rounded": "rounded",
               "masked": "masked", "hashed": "hashed", "aggregated": "aggregated",
               "replaced": "replaced", "dropped": "dropped by rule",
               "uncovered-dropped": "dropped as uncovered",
               "uncovered-error": "uncovered (unmatched: error)"}  # most exposed first
KIND_OF_ACTION = {"hash": "hashed", "round": "rounded", "generalize": "generalized",
                  "mask": "masked", "redact": "redacted", "replace": "replaced"}


@dataclass(frozen=True)
class Treatment:
    kind: str
    rule: str | None = None  # the rule that decided it; None when ``unmatched`` did
    into: tuple[str, ...] = ()  # where the aggregates that read it wrote
    via: str | None = None  # aggregated: the last rule that changed it before it was read

    def text(self, by: bool = False) -> str:
        """What happened, e.g. ``hashed``; with ``by``, naming the deciding rule."""
        also = f"; also aggregated into {', '.join(self.into)}" if self.into else ""
        rule = f" by {self.rule}" if by and self.rule else ""
        if self.kind == "kept":
            return "kept raw" + rule + also
        if self.kind in KIND_OF_ACTION.values():
            action = next(a for a, k in KIND_OF_ACTION.items() if k == self.kind)
            return REGISTRY[action].treatment + rule + also
        if self.kind == "aggregated":
            after = f" after rule {self.via}" if by and self.via else ""
            return f"aggregated into {', '.join(self.into)}{after}"
        if self.kind == "dropped":
            return f"dropped by rule {self.rule}"
        return {"uncovered-dropped": "dropped as uncovered",
                "uncovered-kept": "kept raw (uncovered, unmatched: keep)" + also,
                "uncovered-error": "uncovered: the run fails (unmatched: error)"}[self.kind]

    @property
    def meaning(self) -> tuple[str, tuple[str, ...], str | None]:
        """What matters for privacy: an aggregated field's removal rule does not."""
        return self.kind, self.into, self.via if self.kind == "aggregated" else self.rule

    @property
    def decided_by(self) -> str | None:
        """The rule whose options shaped the value that left: the transform, or for an
        aggregated field the last transform before the aggregate read it."""
        return self.via if self.kind == "aggregated" else self.rule


@dataclass(frozen=True)
class FieldExplanation:
    path: str  # folded input path
    count: int  # locations in the sample
    rules: tuple[str, ...]  # ids of the rules that acted on it, in policy order
    treatments: tuple[tuple[Treatment, int], ...]  # most frequent first

    def text(self) -> str:
        if len(self.treatments) == 1:
            return self.treatments[0][0].text()
        return "; ".join(f"{t.text()} ({n})" for t, n in self.treatments)


@dataclass(frozen=True)
class Explanation:
    policy: Policy
    sample: str
    fields: tuple[FieldExplanation, ...]
    locations: Mapping[Path, Treatment]  # per concrete input leaf
    matched: tuple[int, ...]  # per rule: locations it matched in the run
    outputs: tuple[tuple[str, str], ...]  # folded output leaf → "input" or "rule <id>"
    result: Any  # the applied document (before any schema or leak check)
    trace: Trace
    uncovered: tuple[str, ...] = ()  # folded paths no rule covered, as the engine counts them
    groups: tuple[tuple[str, str, int, int], ...] = ()  # per aggregate: rule, into, groups
    #                                                     exported, groups suppressed
    checks: str | None = None  # why an export with this policy fails on the sample, if it does

    @property
    def fails(self) -> bool:
        """With ``unmatched: error`` the real run fails on this sample."""
        return self.policy.unmatched == "error" and bool(self.uncovered)

    def field(self, path: str) -> FieldExplanation:
        return next(f for f in self.fields if f.path == path)


def explain(policy: Policy, document: Any, sample: str = "<document>") -> Explanation:
    traced = trace(policy, document)
    located = {path: treatment_of(policy, traced, path) for path in traced.hits}
    fields: dict[str, list[Path]] = {}
    for path in located:
        fields.setdefault(folded(path), []).append(path)
    explained = tuple(_field(name, paths, located, traced)
                      for name, paths in sorted(fields.items()))
    assert traced.result is not None
    result, report = traced.result.document, traced.result.report
    groups = tuple((r.id, r.options["into"], rr.notes.get("groups", 0),
                    rr.notes.get("suppressed_groups", 0))
                   for r, rr in zip(policy.rules, report.rules, strict=True)
                   if r.action == "aggregate" and rr.matched)
    return Explanation(policy, sample, explained, located, tuple(traced.matched),
                       _outputs(policy, result), result, traced,
                       tuple(sorted(report.uncovered)), groups, export_checks(policy, document))


def export_checks(policy: Policy, document: Any) -> str | None:
    """Run the whole pipeline as an export would (schema check, leak check): None when it
    passes, else the first line of why not."""
    try:
        run(policy, document, key=TEST_KEY, stamp=stamp_for(policy, document))
    except LearnexportError as exc:
        first, *more = exc.render().replace("; nothing was written", "").splitlines()
        return first.rstrip(".") + (f"; the first: {more[0].strip(' -')}" if more else "")
    return None


def treatment_of(policy: Policy, traced: Trace, path: Path) -> Treatment:
    rules = policy.rules
    hits = traced.hits[path]
    into = tuple(dict.fromkeys(rules[h.rule].options["into"] for h in hits if h.read))
    via = _before_read(rules, hits)
    removal = traced.removed.get(path)
    if removal is not None:
        if into:
            return Treatment("aggregated", rules[removal.rule].id, into, via)
        return Treatment("dropped", rules[removal.rule].id)
    if path in traced.uncovered:
        if policy.unmatched == "drop":
            return (Treatment("aggregated", None, into, via) if into
                    else Treatment("uncovered-dropped"))
        if policy.unmatched == "keep":
            return Treatment("uncovered-kept", None, into)
        return Treatment("uncovered-error")
    for hit in reversed(hits):
        action = rules[hit.rule].action
        if action in TRANSFORMS:
            return Treatment(KIND_OF_ACTION[action], rules[hit.rule].id, into)
    keeps = [rules[h.rule].id for h in hits if rules[h.rule].action == "keep"]
    return Treatment("kept", keeps[-1] if keeps else None, into)


def _before_read(rules: Any, hits: list[Any]) -> str | None:
    """The last rule that transformed a field before an aggregate first read it."""
    last = None
    for hit in hits:
        if hit.read:
            return last
        if rules[hit.rule].action in TRANSFORMS:
            last = rules[hit.rule].id
    return None


def _field(name: str, paths: list[Path], located: Mapping[Path, Treatment],
           traced: Trace) -> FieldExplanation:
    numbers = sorted({hit.rule for path in paths for hit in traced.hits[path]})
    counts = Counter(located[path] for path in paths)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].text()))
    return FieldExplanation(name, len(paths), tuple(traced.policy.rules[n].id for n in numbers),
                            tuple(ordered))


def _outputs(policy: Policy, document: Any) -> tuple[tuple[str, str], ...]:
    intos = [(tuple(r.options["into"].split(".")), r.id) for r in policy.rules
             if r.action == "aggregate"]
    out: dict[str, str] = {}
    for path, _ in leaves(document):
        if not path:
            continue
        shape = fold(path)
        origin = "input"
        for into, rule_id in intos:
            if shape[:len(into)] == into:
                origin = f"rule {rule_id}"
        out.setdefault(format_path(shape), origin)
    return tuple(sorted(out.items()))
