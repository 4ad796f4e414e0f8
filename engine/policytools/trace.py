"""Following every input field through real applies: which rules acted on it, its fate.

The policy runs one rule at a time, each a real ``apply_policy`` of a one-rule policy on
the result of the rules before (``unmatched: keep``, so nothing is swept between rules):
the same sequence of states the whole policy goes through. Before each rule its selector
is resolved on the current state, which names the locations it acts on. A *mirror* of
the state (dict and list nodes for containers, ``Leaf`` for an input leaf, ``Made`` for a
value a rule produced) follows the locations: a ``drop`` removes them, an ``aggregate``
reads them (and removes them unless ``keep_source``) and writes at ``into``, any other
action replaces their values with what the engine wrote.

Nothing here computes a value. The mirror is checked against the engine after every rule
(the same shape as its result, the same number of matches) and at the end (the same
uncovered paths, and the same final document as the real run of the whole policy), so a
disagreement with ``apply`` is an error, never a wrong explanation.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..applier import Result, apply_policy
from ..errors import LearnexportError
from ..paths import Path, folded, format_path, get, json_copy, leaves
from ..policy import Policy, Rule, parse_policy
from ..selectors import Match
from .mirror import (
    GONE,
    Leaf,
    Made,
    Node,
    at_of,
    build,
    down,
    made_node,
    pair,
    same_shape,
    sources,
    swept,
    under,
    walk,
)
from .reads import reads_field, record_reads
from .samples import TEST_KEY


@dataclass(frozen=True, slots=True)
class Hit:
    rule: int  # index of the rule in the policy
    at: Path | None  # input path of the matched location (None: inside a made value)
    read: bool = False  # an aggregate computed its summaries from this field


@dataclass(frozen=True, slots=True)
class Removal:
    rule: int
    how: str  # "drop", "aggregate" (an aggregate removed its source) or "overwritten"


class TraceMismatch(LearnexportError):
    """The traced run and the real apply disagree: a bug, reported as such."""

    exit_code = 70


@dataclass
class Trace:
    policy: Policy
    hits: dict[Path, list[Hit]]  # per input leaf, in rule order
    removed: dict[Path, Removal] = field(default_factory=dict)
    uncovered: set[Path] = field(default_factory=set)
    rule_hits: list[list[Path | None]] = field(default_factory=list)  # per rule
    matched: list[int] = field(default_factory=list)  # per rule, as the engine counted
    result: Result | None = None  # the real run of the whole policy


def trace(policy: Policy, document: Any) -> Trace:
    """Run ``policy`` on ``document`` rule by rule and follow every input leaf."""
    runnable = policy
    if policy.unmatched == "error":  # show the uncovered fields instead of only failing
        runnable = dataclasses.replace(policy, unmatched="keep")
    follower = _Follower(runnable, json_copy(document))
    for number, rule in enumerate(runnable.rules):
        follower.step(number, rule)
    follower.finish(apply_policy(runnable, document, key=TEST_KEY.secret))
    return follower.out


class _Follower:
    def __init__(self, policy: Policy, document: Any) -> None:
        self.policy, self.doc = policy, document
        self.out = Trace(policy, {path: [] for path, _ in leaves(document)},
                         rule_hits=[[] for _ in policy.rules])
        self.mirror: Node = build(document, ())
        self.covered: dict[int, Node] = {}  # id → node (kept alive so ids stay unique)

    def step(self, number: int, rule: Rule) -> None:
        matches = rule.selector.resolve(self.doc)
        # The rule alone, then a keep of the whole document: the keep changes nothing and
        # spares the engine's sweep (nothing is uncovered) on every step.
        one = dataclasses.replace(self.policy, rules=(rule, _KEEP_ALL), unmatched="keep",
                                  stamp=None)
        result = apply_policy(one, self.doc, key=TEST_KEY.secret)
        report = result.report.rules[0]
        self.out.matched.append(report.matched)
        if report.matched != len(matches):
            self.mismatch(rule, f"the engine matched {report.matched} locations, the "
                          f"selector resolves to {len(matches)}")
        if rule.impl.fold is not None:
            self.fold(number, rule, matches, report.changed > 0, result.document)
        else:
            self.transform(number, rule, matches, result.document)
        self.doc = result.document
        touched = [rule.selector.static_prefix]
        if rule.impl.fold is not None:
            touched.append(tuple(rule.options["into"].split("."))[:1])
        for prefix in touched:
            if not same_shape(down(self.mirror, prefix), down(self.doc, prefix)):
                self.mismatch(rule, f"the shape of {format_path(prefix)} differs from the "
                              "traced one")

    def transform(self, number: int, rule: Rule, matches: list[Match], new_doc: Any) -> None:
        drops = []
        for match in matches:
            parent, key, node, inside = self.locate(match.path)
            self.hit(number, node, inside)
            if rule.action == "drop":
                drops.append(match)
                self.remove(number, node, "drop")
                continue
            if not inside:
                new = _value_at(new_doc, match.path)
                if new is not match.value and new != match.value:
                    node = pair(node, new, at_of(node))
                    self.put(parent, key, node)
            self.covered[id(node)] = node
        self.delete(drops)

    def fold(self, number: int, rule: Rule, matches: list[Match], wrote: bool,
             new_doc: Any) -> None:
        chains = record_reads(rule)
        removes = not rule.options.get("keep_source", False)
        for match in matches:
            _, _, node, inside = self.locate(match.path)
            per_record = isinstance(match.value, list)
            read: set[Path] = set()
            for source, at in under(node, inside):
                used = at is None or reads_field(chains, source[len(at) + per_record:])
                if used or removes:  # (a field it neither reads nor removes: untouched)
                    self.out.hits[source].append(Hit(number, at, read=used))
                if used:
                    read.add(source)
            self.out.rule_hits[number].append(None if inside else at_of(node))
            if removes and not inside:
                for source in sources(node):
                    how = "aggregate" if source in read else "drop"
                    self.out.removed.setdefault(source, Removal(number, how))
        if removes:
            self.delete(matches)
        if wrote:
            into = tuple(rule.options["into"].split("."))
            made = made_node(_value_at(new_doc, into), (), None)
            self.write(into, made, number)
            self.covered[id(made)] = made

    def finish(self, real: Result) -> None:
        self.out.result = real
        counts: Counter[str] = Counter()
        kept_sources: set[Path] = set()
        for path, node, covered in walk(self.mirror, (), self.covered, False):
            if covered:
                kept_sources.update(sources(node))
            else:
                counts[folded(path)] += 1
                self.out.uncovered.update(sources(node))
        self.out.uncovered -= kept_sources
        if counts != real.report.uncovered:
            self.mismatch(None, f"uncovered paths differ: traced {dict(counts)}, "
                          f"real {dict(real.report.uncovered)}")
        remove = self.policy.unmatched == "drop"
        expected = swept(self.doc, self.mirror, self.covered, remove)
        if expected is GONE or (remove and not isinstance(self.doc, dict | list)):
            expected = [] if isinstance(self.doc, list) else {}
        if expected != real.document:
            self.mismatch(None, "the final document differs from the real run's")

    # --- the mirror ------------------------------------------------------------------

    def locate(self, path: Path) -> tuple[Node, Any, Node, bool]:
        """(parent, key, node) at a current path; ``inside`` when the path lies within a
        made leaf value, whose node then stands for the whole value."""
        parent: Node = None
        key: Any = None
        node = self.mirror
        for part in path:
            if isinstance(node, Leaf | Made):
                return parent, key, node, True
            parent, key, node = node, part, node[part]
        return parent, key, node, False

    def hit(self, number: int, node: Node, inside: bool) -> None:
        for source, at in under(node, inside):
            self.out.hits[source].append(Hit(number, at))
        self.out.rule_hits[number].append(None if inside else at_of(node))

    def remove(self, number: int, node: Node, how: str) -> None:
        for source in sources(node):
            self.out.removed.setdefault(source, Removal(number, how))

    def put(self, parent: Node, key: Any, node: Node) -> None:
        if parent is None:
            self.mirror = node
        else:
            parent[key] = node

    def delete(self, matches: list[Match]) -> None:
        """Remove matched locations as the engine does: keys first, then list elements
        (last first, so that the indexes stay valid)."""
        if any(not m.path for m in matches):
            self.mirror = {}
            return
        in_lists = [(m.key, m.path) for m in matches if isinstance(m.key, int)]
        for match in matches:
            if not isinstance(match.key, int):
                self._delete_at(match.path)
        for _, path in sorted(in_lists, key=lambda item: -item[0]):
            self._delete_at(path)

    def _delete_at(self, path: Path) -> None:
        container = self.locate(path[:-1])[2]
        key = path[-1]
        if isinstance(container, dict):
            del container[key]
        elif isinstance(container, list) and isinstance(key, int):
            container.pop(key)

    def write(self, path: Path, node: Node, number: int) -> None:
        """As ``set_at``: objects created on the way, anything else in the way replaced."""
        if not isinstance(self.mirror, dict):
            self.remove(number, self.mirror, "overwritten")
            self.mirror = {}
        here = self.mirror
        for part in path[:-1]:
            child = here.get(part)
            if not isinstance(child, dict):
                if child is not None:
                    self.remove(number, child, "overwritten")
                child = here[part] = {}
            here = child
        if path[-1] in here:
            self.remove(number, here[path[-1]], "overwritten")
        here[path[-1]] = node

    def mismatch(self, rule: Rule | None, what: str) -> None:
        raise TraceMismatch(f"explain could not follow the engine: {what}",
                            hint="this is a bug in learnexport; please report it with the "
                            "policy and the sample", rule=rule.id if rule else None,
                            location=rule.location if rule else None)


_KEEP_ALL = parse_policy("policy: keep-all\nversion: 1.0.0\nrules:\n"
                         "  - {id: keep-all, select: '@', action: keep}\n").rules[0]


def _value_at(document: Any, path: Path) -> Any:
    try:
        return get(document, path)
    except KeyError:
        raise TraceMismatch(f"explain could not follow the engine: {format_path(path)} is "
                            "gone after a rule that transforms it",
                            hint="this is a bug in learnexport; please report it") from None
