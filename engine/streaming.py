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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .actions import DROP, ActionValueError, RunContext
from .actions.base import Folder
from .coverage import tally_leaves
from .paths import WILD, Path, PathNode, fold, format_path
from .policy import Rule
from .recordplan import RecordPlan
from .report import RuleReport
from .rules import RunState, fail, filter_failed, lookup, write_outcome
from .selectors import FilterError
from .streams import RecordStream


@dataclass
class _Op:
    rule: Rule
    report: RuleReport
    ctx: RunContext
    plan: RecordPlan | None  # None: the op takes whole records (a fold of the stream)
    folder: Folder | None = None
    counted: bool = False  # a stage reports its counts on its first pass only
    drop_only: bool = False  # a settled fold that removed what it read: removes it again

    @property
    def targets(self) -> list[Path]:
        into = self.rule.params.get("into_path") if self.folder is not None else None
        return [into] if into else []


@dataclass
class _Live:
    stream: RecordStream
    path: Path
    ops: list[_Op] = field(default_factory=list)
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
            live.ops.append(_Op(rule, report, ctx, plan, folder))
            return True
        return self._whole(rule, live, state, ctx, report)

    def _whole(self, rule: Rule, live: _Live, state: RunState, ctx: RunContext,
               report: RuleReport) -> bool:
        """A rule on the stream itself: fold it, drop it, keep it, or (anything else)
        materialize it and let the rule run on the list."""
        report.matched += 1
        report.paths[format_path(live.path)] += 1
        if rule.impl.fold is not None:
            folder = rule.impl.fold(rule.params, ctx)
            live.ops.append(_Op(rule, report, ctx, None, folder))
            if folder.drop_sources:
                self._detach(live, state)
                report.dropped += 1
            return True
        if rule.action == "drop":
            self.flush(live, state, ctx)
            self._detach(live, state)
            report.dropped += 1
            return True
        if rule.action == "keep":
            live.kept = True
            return True
        report.matched -= 1
        report.paths[format_path(live.path)] -= 1
        self.materialize(live, state, ctx)
        return False

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
        position = [0]  # the record's place in the source, for error paths
        rels: list[Path] = []  # what the stages covered in the current record
        tallies: list[list[int]] = []
        steps = [self._step_for(op, live, position, rels, tallies) for op in live.ops]
        records = keep[0] if keep is not None else None
        live.read = True
        for index, record in enumerate(live.stream):
            position[0] = index
            for step in steps:
                record = step(record)
                if record is DROP:
                    break
            else:
                if records is not None:
                    keep[1].extend((len(records), rel) for rel in rels)  # type: ignore[index]
                    records.append(record)
            rels.clear()
        self._close(live, state, tallies)

    def _close(self, live: _Live, state: RunState, tallies: list[list[int]]) -> None:
        """Report the first pass's counts; settle the folds (a fold that removed what it
        read stays queued as a stage that removes it again)."""
        settled = []
        for op, tally in zip(live.ops, tallies, strict=True):
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
            self._settle(op, state)
            if op.plan is not None and op.folder.drop_sources:
                settled.append(_Op(op.rule, op.report, op.ctx, op.plan, None, True, True))
        live.ops = settled

    def _step_for(self, op: _Op, live: _Live, position: list[int], rels: list[Path],
                  tallies: list[list[int]]) -> Callable[[Any], Any]:
        """The op as one function of a record, specialized to its shape (the hot loop)."""
        tally = [0, 0, 0]  # matched, changed, dropped
        tallies.append(tally)
        if op.plan is None:  # a fold over the records themselves
            assert op.folder is not None
            add = getattr(op.folder, "add_record", op.folder.add)

            def fold_record(record: Any) -> Any:
                try:
                    add(record)
                except ActionValueError as exc:
                    raise fail(op.rule, exc, (*live.path, position[0])) from None
                return record

            return fold_record
        if op.plan.field is not None and op.folder is None and not op.drop_only:
            return self._field_step(op, live, position, rels, tally)
        def general(record: Any) -> Any:
            try:
                return self._step(op, live, record, position[0], rels)
            except FilterError as exc:
                raise filter_failed(op.rule, exc) from None

        return general

    def _field_step(self, op: _Op, live: _Live, position: list[int], rels: list[Path],
                    tally: list[int]) -> Callable[[Any], Any]:
        """``stream[*].name``: the common stage, without match objects."""
        name = op.plan.field if op.plan else None
        transform, params, ctx, rule = op.rule.impl.transform, op.rule.params, op.ctx, op.rule
        assert transform is not None and name is not None
        covered = (name,)

        def field(record: Any) -> Any:
            if type(record) is not dict or name not in record:
                return record
            old = record[name]
            try:
                new = transform(old, params, ctx)
            except ActionValueError as exc:
                raise fail(rule, exc, (*live.path, position[0], name)) from None
            tally[0] += 1
            if new is DROP:
                del record[name]
                tally[2] += 1
                return record
            if new is not old and new != old:
                record[name] = new
                tally[1] += 1
            rels.append(covered)
            return record

        return field

    def _step(self, op: _Op, live: _Live, record: Any, index: int,
              rels: list[Path]) -> Any:
        plan = op.plan
        assert plan is not None
        if not plan.wanted(record):
            return record
        base = (*live.path, index)
        matches = plan.matches(record, base, [], index)
        if op.drop_only:
            return _remove_inside(record, [m for m in matches if len(m.path) > len(base)])
        if op.folder is not None:
            for match in matches:
                self._count(op, match.path)
                self._add(op, match.value, match.path)
            return _remove_inside(record, matches) if op.folder.drop_sources else record
        return self._transform(op, record, matches, rels, len(base))

    def _name(self, folded: Path) -> str:
        text = self.names.get(folded)
        if text is None:
            text = self.names[folded] = format_path(folded)
        return text

    def _add(self, op: _Op, value: Any, path: Path) -> None:
        assert op.folder is not None
        try:
            op.folder.add(value)
        except ActionValueError as exc:
            raise fail(op.rule, exc, path) from None

    def _count(self, op: _Op, path: Path) -> None:
        if not op.counted:
            op.report.matched += 1
            op.report.paths[self._name(fold(path))] += 1

    def _transform(self, op: _Op, record: Any, matches: list[Any], rels: list[Path],
                   depth: int) -> Any:
        transform, params = op.rule.impl.transform, op.rule.params
        assert transform is not None
        gone = []
        for match in matches:
            self._count(op, match.path)
            try:
                new = transform(match.value, params, op.ctx)
            except ActionValueError as exc:
                raise fail(op.rule, exc, match.path) from None
            if new is DROP:
                if len(match.path) == depth:
                    self._tally(op, "dropped")
                    return DROP
                gone.append(match)
                self._tally(op, "dropped")
                continue
            if new is not match.value and new != match.value:
                self._tally(op, "changed")
                if len(match.path) == depth:
                    record = new
                else:
                    match.container[match.key] = new
            rels.append(match.path[depth:])
        return _remove_inside(record, gone)

    def _tally(self, op: _Op, what: str) -> None:
        if not op.counted:
            setattr(op.report, what, getattr(op.report, what) + 1)

    def _settle(self, op: _Op, state: RunState) -> None:
        assert op.folder is not None
        try:
            outcome = op.folder.finish()
        except ActionValueError as exc:
            raise fail(op.rule, exc, None) from None
        write_outcome(op.rule, outcome, state, op.report)
        if op.plan is not None and op.folder.drop_sources:
            op.report.dropped += op.report.matched

    # -- the end ---------------------------------------------------------------------------
    def finish(self, state: RunState, ctx: RunContext, unmatched: str) -> Counter[str]:
        """Settle every stream; returns the uncovered paths of the streams drained."""
        self._discover(state.doc, ())
        self.flush_all(state, ctx)
        for live in list(self.live.values()):
            if not live.read:
                for _ in live.stream:  # never read (dropped whole): still count its records
                    pass
        uncovered: Counter[str] = Counter()
        for live in list(self.live.values()):
            if not live.in_doc:
                continue
            if live.ops or live.kept or unmatched != "drop":
                self.materialize(live, state, ctx)  # the sweep decides on its records
                continue
            counts: Counter[PathNode] = Counter()
            node = PathNode()
            for part in (*live.path, WILD):
                node = node.child(part)
            for record in live.stream:  # no rule covers it: count its leaves, keep nothing
                tally_leaves(record, node, counts)
            for leaf, count in counts.items():
                uncovered[leaf.text()] += count
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
            if isinstance(entry, dict):
                for key in ("records", "status", "problems"):
                    if key in entry and key in live.stream.entry:
                        value = live.stream.entry[key]
                        entry[key] = list(value) if isinstance(value, list) else value


def _remove_inside(record: Any, gone: list[Any]) -> Any:
    """Delete matched locations inside one record (list elements last-first)."""
    for match in sorted(gone, key=lambda m: -m.key if isinstance(m.key, int) else 0):
        del match.container[match.key]
    return record

