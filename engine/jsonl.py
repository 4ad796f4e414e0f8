"""``apply --jsonl``: a policy applied to each line of a JSON-lines file, in constant memory.

Every line is one document: it is parsed, run through the whole pipeline (rules, schema
check, leak check) and written as one line before the next is read, so a file of any
length needs the memory of its longest line. The reports of all lines are summed into
one. The output is written to a temporary file beside the target and renamed into place
only when every line passed; to stdout, it is kept in an unnamed temporary file and
copied out only then, so a pipe never gets the first lines of a run that failed. The
first failing line stops the run, naming its number.
"""

from __future__ import annotations

import gzip
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from . import docio
from .errors import InputError, LearnexportError, Location
from .keys import HashKey
from .pipeline import RunResult, absent_sections, run
from .policy import Policy
from .report import Report, RuleReport

CHUNK = 1024 * 1024


def _lines(source: str) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of ``source`` with their numbers; a file that cannot be read
    (or a damaged gzip) is an ``InputError`` naming it, never an output error."""
    where = Location(docio.shown(source))
    try:
        handle: IO[bytes] = sys.stdin.buffer if source == "-" else (
            gzip.open(source, "rb") if docio.gzipped(source)  # noqa: SIM115
            else open(source, "rb"))  # noqa: SIM115  (closed by the with below)
        with handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield number, line
    except docio.GZIP_ERRORS as exc:
        message = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise InputError(f"cannot be read: {message}", location=where,
                         hint="check the file; a .gz name needs a whole gzip file") from None


def apply_lines(policy: Policy, source: str, target: Path | None, key: HashKey | None,
                write: bool = True, settle: Callable[[Report], None] | None = None,
                warn: Callable[[str], None] | None = None) -> Report:
    """Run every line of ``source`` and write each result as a line (all or nothing, to a
    file or stdout); returns the summed report. ``settle(report)`` runs once every line
    passed and before the output is let out (the command writes its --report there, so
    that a report it cannot write leaves no output either). ``warn`` hears of each rule
    that matched nothing because no line has its top-level section."""
    sections: set[str] = set()

    def done(total: Report) -> Report:
        if warn is not None:
            for warning in absent_sections(policy, total, list(sections)):
                warn(warning)
        if settle is not None:
            settle(total)
        return total

    if not write:
        return done(_run_lines(policy, source, key, None, sections))
    if target is None:
        with tempfile.TemporaryFile() as spool:  # on disk: the memory stays that of a line
            where = Path(f"{tempfile.gettempdir()} (spool of stdout)")  # named if it fills
            total = done(_run_lines(policy, source, key, spool, sections, where))
            spool.seek(0)
            shutil.copyfileobj(spool, sys.stdout.buffer, CHUNK)
            sys.stdout.buffer.flush()
        return total
    with docio.atomic_output(target) as raw:
        if not docio.gzipped(target.name):
            return done(_run_lines(policy, source, key, raw, sections, target))
        try:  # the header is written here, most of the data when it closes
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
                total = _run_lines(policy, source, key, packed, sections, target)
        except OSError as exc:
            raise docio.output_error(target, exc) from None
        return done(total)


def _run_lines(policy: Policy, source: str, key: HashKey | None, out: IO[bytes] | None,
               sections: set[str], target: Path | None = None) -> Report:
    """``apply_lines``' loop; ``sections`` gathers the top-level keys of every line."""
    shown = docio.shown(source)
    total = Report(policy={"id": policy.id, "version": policy.version,
                           "sha256": policy.sha256}, unmatched=policy.unmatched, rules=[])
    for number, raw in _lines(source):
        try:
            document = docio.parse_json(raw, shown)
            if type(document) is dict:
                sections.update(document)
            result = run(policy, document, key=key, copy=False)
        except LearnexportError as exc:
            exc.location = exc.location or Location(shown, number)
            if exc.location.file == shown and exc.location.line in (None, 1):
                exc.location = Location(shown, number, exc.location.column)
            elif exc.location.file != shown:  # the policy's place: say which line failed
                exc.message = f"{exc.message} (in line {number} of {shown})"
            raise
        _add(total, result)
        if out is not None:
            try:
                out.write(docio.encode_json(result.document, pretty=False))
            except OSError as exc:
                raise docio.output_error(target or Path("<stdout>"), exc) from None
    return total


def _add(total: Report, result: RunResult) -> None:
    if not total.rules:
        total.rules = [RuleReport(r.id, r.action, r.select) for r in result.report.rules]
    for summed, one in zip(total.rules, result.report.rules, strict=True):
        summed.matched += one.matched
        summed.changed += one.changed
        summed.dropped += one.dropped
        summed.paths.update(one.paths)
        for name, value in one.notes.items():
            summed.notes[name] = summed.notes.get(name, 0) + value
    total.uncovered.update(result.report.uncovered)
