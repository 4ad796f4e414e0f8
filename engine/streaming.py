"""Rules over record streams: queued, then run in one pass per stream.

A rule whose records live in a ``RecordStream`` is not run at once. A per-record rule
(``analytics.agents[*].timestamp``, a filter, a trailing ``[]``) becomes a *stage*; an
``aggregate`` becomes a *fold*. Both are queued on the stream in rule order. When a
result is needed — a later rule reads where a fold writes, a rule needs the whole list,
or the rules are done — the stream is read once and every record goes through the queued
operations in order, so a million analytics lines are read, transformed and folded one
at a time and never held. The outcome is the one the rules would have had on the list.

After its pass a fold is settled: its rows are written. Stages stay queued: a stream
still in the document is read again, with them, if it must be materialized (kept in the
output) at the end. A stream no rule covers is drained (its uncovered paths counted for
the report) and removed under ``unmatched: drop``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import parallel
from .actions import ActionValueError, RunContext
from .actions.base import FoldOutcome
from .coverage import tally_leaves
from .paths import WILD, Path, PathNode, format_path
from .policy import Rule
from .report import RuleReport
from .rules import RunState, fail, lookup, write_outcome
from .streams import RecordStream
from .streamsteps import Op, Pass


@dataclass
class _Live:
    stream: RecordStream
    path: Path
    ops: list[Op] = field(default_factory=list)
    in_doc: bool = True
    read: bool = False  # a pass has read it
    kept: bool = False  # a keep covered the whole stream


def _overlap(a: Path, b: Path) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


class Streams:
    def __init__(self) -> None:
        self.live: dict[int, _Live] = {}
        self.names: dict[Path, str] = {}  # folded path → its text (formatted once)

    # -- taking rules ------------------------------------------------------------------
    def take(self, rule: Rule, state: RunState, ctx: RunContext, report: RuleReport) -> bool:
        """Queue ``rule`` on a stream when its records are one; False otherwise."""
        plan = rule.plan
        path = plan.prefix if plan is not None else rule.selector.static_path
        if path is None:
            return False
        stream = lookup(state.doc, path)
        if not isinstance(stream, RecordStream):
            return False
        live = self.live.setdefault(id(stream), _Live(stream, path))
        if plan is not None:
            folder = rule.impl.fold(rule.params, ctx) if rule.impl.fold else None
            live.ops.append(Op(rule, report, ctx, plan, folder))
            return True
        return self._whole(rule, live, state, ctx, report)

    def _whole(self, rule: Rule, live: _Live, state: RunState, ctx: RunContext,
               report: RuleReport) -> bool:
        """A rule on the stream itself: fold it, drop it, keep it, or (anything else)
        materialize it and let the rule run on the list."""
        if rule.impl.fold is None and rule.action not in ("drop", "keep"):
            self.materialize(live, state, ctx)
            return False
        report.matched += 1
        report.paths[format_path(live.path)] += 1
        if rule.impl.fold is not None:
            folder = rule.impl.fold(rule.params, ctx)
            live.ops.append(Op(rule, report, ctx, None, folder))
            if folder.drop_sources:
                self._detach(live, state)
                report.dropped += 1
            return True
        if rule.action == "drop":
            self.flush(live, state, ctx)
            self._detach(live, state)
            report.dropped += 1
            return True
        live.kept = True  # keep
        return True

    def _discover(self, node: Any, path: Path) -> None:
        """Register the streams no rule named (they are settled like the others)."""
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, RecordStream):
                    self.live.setdefault(id(value), _Live(value, (*path, key)))
                elif isinstance(value, dict):
                    self._discover(value, (*path, key))

    def _detach(self, live: _Live, state: RunState, prune: bool = False) -> None:
        """Remove the stream from the document; with ``prune`` also the objects that this
        leaves empty (as the sweep removes the containers it empties)."""
        parent = lookup(state.doc, live.path[:-1])
        if isinstance(parent, dict) and parent.get(live.path[-1]) is live.stream:
            del parent[live.path[-1]]
        live.in_doc = False
        path = live.path[:-1]
        while prune and path and lookup(state.doc, path) == {}:
            del lookup(state.doc, path[:-1])[path[-1]]
            path = path[:-1]

    # -- before an in-memory rule --------------------------------------------------------
    def before(self, rule: Rule, state: RunState, ctx: RunContext) -> None:
        """Settle what ``rule`` could observe: folds writing where it reads, streams it
        reaches (materialized into lists)."""
        prefix = rule.selector.static_prefix
        if any(_overlap(prefix, t) for live in self.live.values() for op in live.ops
               for t in op.targets):
            self.flush_all(state, ctx)
        self._discover(state.doc, ())
        for live in list(self.live.values()):
            if live.in_doc and _overlap(prefix, live.path):
                self.flush(live, state, ctx)
                self.materialize(live, state, ctx)

    # -- running ---------------------------------------------------------------------------
    def flush_all(self, state: RunState, ctx: RunContext) -> None:
        waiting = [live for live in self.live.values()
                   if any(op.folder is not None for op in live.ops)]
        if parallel.worthwhile([live.stream.size for live in waiting]) \
                and parallel.run(self, waiting, state, ctx):
            return
        for live in list(self.live.values()):
            self.flush(live, state, ctx)

    def flush(self, live: _Live, state: RunState, ctx: RunContext) -> None:
        """One pass when a fold waits: every record through every queued op."""
        if any(op.folder is not None for op in live.ops):
            self._pass(live, state, ctx, keep=None)

    def materialize(self, live: _Live, state: RunState, ctx: RunContext) -> None:
        """Replace the stream in the document by the list of its records (after the ops)."""
        records: list[Any] = []
        marks: list[tuple[int, Path]] = []
        self._pass(live, state, ctx, keep=(records, marks))
        parent = lookup(state.doc, live.path[:-1])
        if isinstance(parent, dict):
            parent[live.path[-1]] = records
            for index, rel in marks:
                state.coverage.mark(state.doc, (*live.path, index, *rel))
            if live.kept:
                state.coverage.mark(state.doc, live.path)
        live.in_doc = False  # a list now; the entry stays for _sync

    def _pass(self, live: _Live, state: RunState, ctx: RunContext,
              keep: tuple[list[Any], list[tuple[int, Path]]] | None) -> None:
        """Read the stream once; every record goes through the queued ops in order."""
        tallies = self.read(live, keep)
        self.close(live, state, tallies, [finish(op) for op in live.ops])

    def read(self, live: _Live, keep: tuple[list[Any], list[tuple[int, Path]]] | None = None
             ) -> list[list[int]]:
        """The pass itself: every record through the ops; each op's (matched, changed,
        dropped) of this read. (``parallel`` runs it in another process.)"""
        run = Pass(live.path, live.ops, self._name, keep is not None)
        live.read = True
        run.run(live.stream, *(keep or (None, None)))
        return run.tallies

    def close(self, live: _Live, state: RunState, tallies: list[list[int]],
               outcomes: list[FoldOutcome | None]) -> None:
        """Report the first pass's counts; settle the folds with their ``outcomes`` (a
        fold that removed what it read stays queued as a stage that removes it again)."""
        settled = []
        for op, tally, outcome in zip(live.ops, tallies, outcomes, strict=True):
            if not op.counted and tally:
                op.report.matched += tally[0]
                op.report.changed += tally[1]
                op.report.dropped += tally[2]
                if tally[0] and op.plan is not None and op.plan.field is not None:
                    op.report.paths[self._name((*live.path, WILD, op.plan.field))] += tally[0]
            op.counted = True
            if op.folder is None:
                settled.append(op)
                continue
            assert outcome is not None
            self._settle(op, outcome, state)
            if op.plan is not None and op.folder.drop_sources:
                settled.append(Op(op.rule, op.report, op.ctx, op.plan, None, True, True))
        live.ops = settled

    def _name(self, folded: Path) -> str:
        text = self.names.get(folded)
        if text is None:
            text = self.names[folded] = format_path(folded)
        return text

    def _settle(self, op: Op, outcome: FoldOutcome, state: RunState) -> None:
        assert op.folder is not None
        write_outcome(op.rule, outcome, state, op.report)
        if op.plan is not None and op.folder.drop_sources:
            op.report.dropped += op.report.matched

    # -- the end ---------------------------------------------------------------------------
    def finish(self, state: RunState, ctx: RunContext, unmatched: str) -> Counter[str]:
        """Settle every stream; returns the uncovered paths of the streams drained. Each
        stream not read yet is read once more at most (its records are still counted)."""
        self._discover(state.doc, ())
        self.flush_all(state, ctx)
        uncovered: Counter[str] = Counter()
        for live in list(self.live.values()):
            if not live.in_doc:
                if not live.read:
                    for _ in live.stream:  # dropped whole, never read: count its records
                        pass
            elif live.ops or live.kept or unmatched != "drop":
                self.materialize(live, state, ctx)  # the sweep decides on its records
            else:
                _drain(live, uncovered)
                self._detach(live, state, prune=True)
        self._sync(state)
        return uncovered

    def _sync(self, state: RunState) -> None:
        """Copy what reading found (counts, problems, status) into the working document's
        ``collection.sources``: the engine took its copy before the streams were read."""
        sources = lookup(state.doc, ("collection", "sources"))
        if not isinstance(sources, dict):
            return
        for live in self.live.values():
            entry = sources.get(live.stream.name)
            read = live.stream.entries()[-1]  # the source's own (a filtered view has its own)
            if isinstance(entry, dict):
                for key in ("records", "status", "problems"):
                    if key in entry and key in read:
                        value = read[key]
                        entry[key] = list(value) if isinstance(value, list) else value


def finish(op: Op) -> FoldOutcome | None:
    """A fold's result once its pass is done (None for a stage)."""
    if op.folder is None:
        return None
    try:
        return op.folder.finish()
    except ActionValueError as exc:
        raise fail(op.rule, exc, None) from None


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _drain(live: _Live, uncovered: Counter[str]) -> None:
    """Read a stream no rule covers: count its leaves by folded path, keep nothing.

    A flat record (scalars only) is counted by its keys, once per distinct key list;
    any other goes through the sweep's own counting. Paths are listed in the order
    the sweep would first meet them."""
    counts: Counter[PathNode] = Counter()
    flat: Counter[tuple[str, ...]] = Counter()
    node = PathNode()
    for part in (*live.path, WILD):
        node = node.child(part)
    for record in live.stream:
        if type(record) is dict and record and _SCALARS.issuperset(map(type, record.values())):
            keys = tuple(record)
            if keys not in flat:
                for key in reversed(keys):  # the sweep's stack meets the last key first
                    counts[node.child(key)] += 0
            flat[keys] += 1
        else:
            tally_leaves(record, node, counts)
    for keys, times in flat.items():
        for key in keys:
            counts[node.child(key)] += times
    for leaf, count in counts.items():
        uncovered[leaf.text()] += count
