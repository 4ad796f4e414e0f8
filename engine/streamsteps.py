"""One read of a record stream: every queued op as a *step*, a function of one record.

``streaming`` queues the rules over a stream as ops; when the stream is read, each op
becomes a step specialized to its shape, because a million records go through it:

* a fold of whole records (``select: analytics.agents`` with ``aggregate``) feeds each
  record to its folder and passes it on unchanged;
* a field stage (``analytics.agents[*].timestamp`` with ``round``) transforms one field
  in place, without match objects;
* anything else (a filter, a nested or flattened selector, a fold of parts of records)
  resolves the op's record plan on each record.

When an action refuses a value, the pass raises ``ApplyError`` naming the rule and the
path of the value (``analytics.agents[41].timestamp``), as the in-memory engine does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .actions import DROP, ActionValueError, RunContext
from .actions.base import Folder
from .errors import ApplyError
from .paths import Path, fold
from .policy import Rule
from .recordplan import RecordPlan
from .report import RuleReport
from .rules import fail, filter_failed
from .selectors import FilterError

Step = Callable[[Any], Any]


@dataclass
class Op:
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


class Pass:
    """The steps of one read of the stream at ``path``. With ``keeping`` (the records are
    kept: the stream is materialized), what the stages cover in each record is collected
    in ``rels``; ``tallies`` holds each op's (matched, changed, dropped) of this read."""

    def __init__(self, path: Path, ops: list[Op], name: Callable[[Path], str],
                 keeping: bool) -> None:
        self.path, self.ops, self.name = path, ops, name
        self.index = 0  # the current record's place in the source, for error paths
        self.rels: list[Path] = []
        self.tallies: list[list[int]] = []
        # (step, folds): a folding step returns nothing and the record goes on as it was
        self.steps = [self._step_for(op, keeping) for op in ops]

    def run(self, stream: Iterable[Any], records: list[Any] | None,
            marks: list[tuple[int, Path]] | None) -> None:
        """Every record through every step in order; the survivors appended to
        ``records`` (with their covered locations in ``marks``) when it is a list."""
        steps, rels = self.steps, self.rels
        for index, record in enumerate(stream):
            self.index = index
            try:
                for step, folds in steps:
                    if folds:
                        step(record)
                    elif (record := step(record)) is DROP:
                        break
                else:
                    if records is not None:
                        marks.extend((len(records), rel) for rel in rels)  # type: ignore[union-attr]
                        records.append(record)
            except ActionValueError as exc:
                raise self._failed(exc, step) from None
            if rels:
                rels.clear()

    def _failed(self, exc: ActionValueError, step: Step) -> ApplyError:
        """The error of a fold of records or a field stage (the others locate their own)."""
        op = next(op for op, (s, _) in zip(self.ops, self.steps, strict=True) if s is step)
        inside = (op.plan.field,) if op.plan is not None and op.plan.field is not None else ()
        return fail(op.rule, exc, (*self.path, self.index, *inside))

    def _step_for(self, op: Op, keeping: bool) -> tuple[Step, bool]:
        tally = [0, 0, 0]  # matched, changed, dropped
        self.tallies.append(tally)
        if op.plan is None:  # a fold over the records themselves
            assert op.folder is not None
            return getattr(op.folder, "add_record", op.folder.add), True
        if op.plan.field is not None and op.folder is None and not op.drop_only:
            return self._field_step(op, tally, keeping), False

        def general(record: Any) -> Any:
            try:
                return self._step(op, record)
            except FilterError as exc:
                raise filter_failed(op.rule, exc) from None

        return general, False

    def _field_step(self, op: Op, tally: list[int], keeping: bool) -> Step:
        """``stream[*].name``: the common stage, without match objects."""
        name = op.plan.field if op.plan else None
        transform, params, ctx = op.rule.impl.transform, op.rule.params, op.ctx
        assert transform is not None and name is not None
        covered, rels = (name,), self.rels

        def field(record: Any) -> Any:
            if type(record) is not dict or name not in record:
                return record
            old = record[name]
            new = transform(old, params, ctx)
            tally[0] += 1
            if new is DROP:
                del record[name]
                tally[2] += 1
                return record
            if new is not old and new != old:
                record[name] = new
                tally[1] += 1
            if keeping:
                rels.append(covered)
            return record

        return field

    def _step(self, op: Op, record: Any) -> Any:
        plan = op.plan
        assert plan is not None
        if not plan.wanted(record):
            return record
        index = self.index
        base = (*self.path, index)
        matches = plan.matches(record, base, [], index)
        if op.drop_only:  # a settled fold's sources, removed again (a whole record: DROP)
            return _removed(record, matches, len(base))
        if op.folder is not None:
            for match in matches:
                self._count(op, match.path)
                self._add(op, match.value, match.path)
            return _removed(record, matches, len(base)) if op.folder.drop_sources else record
        return self._transform(op, record, matches, len(base))

    def _add(self, op: Op, value: Any, path: Path) -> None:
        assert op.folder is not None
        try:
            op.folder.add(value)
        except ActionValueError as exc:
            raise fail(op.rule, exc, path) from None

    def _count(self, op: Op, path: Path) -> None:
        if not op.counted:
            op.report.matched += 1
            op.report.paths[self.name(fold(path))] += 1

    def _transform(self, op: Op, record: Any, matches: list[Any], depth: int) -> Any:
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
            self.rels.append(match.path[depth:])
        return _remove_inside(record, gone)

    def _tally(self, op: Op, what: str) -> None:
        if not op.counted:
            setattr(op.report, what, getattr(op.report, what) + 1)


def _removed(record: Any, matches: list[Any], depth: int) -> Any:
    """The record without what ``matches`` found in it; DROP when one is the record itself
    (``stream[*]``, whose match is the record, at its index in the stream)."""
    if any(len(m.path) == depth for m in matches):
        return DROP
    return _remove_inside(record, matches)


def _remove_inside(record: Any, gone: list[Any]) -> Any:
    """Delete matched locations inside one record (list elements last-first)."""
    for match in sorted(gone, key=lambda m: -m.key if isinstance(m.key, int) else 0):
        del match.container[match.key]
    return record
