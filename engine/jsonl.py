"""``apply --jsonl``: a policy applied to each line of a JSON-lines file, in constant memory.

Every line is one document: it is parsed, run through the whole pipeline (rules, schema
check, leak check) and written as one line before the next is read, so a file of any
length needs the memory of its longest line. The reports of all lines are summed into
one. The output is written to a temporary file beside the target and renamed into place
only when every line passed; the first failing line stops the run, naming its number.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from . import docio
from .errors import InputError, LearnexportError, Location
from .keys import HashKey
from .pipeline import RunResult, run
from .policy import Policy
from .report import Report, RuleReport


def _lines(source: str) -> Iterator[tuple[int, bytes]]:
    if source == "-":
        handle: IO[bytes] = sys.stdin.buffer
    else:
        try:
            handle = (gzip.open(source, "rb") if source.endswith(".gz")  # noqa: SIM115
                      else open(source, "rb"))  # noqa: SIM115  (closed by the with below)
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror or exc}",
                             location=Location(source)) from None
    with handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield number, line


def apply_lines(policy: Policy, source: str, target: Path | None, key: HashKey | None,
                write: bool = True) -> tuple[Report, int]:
    """Run every line of ``source``; returns the summed report and the number of lines."""
    shown = "<stdin>" if source == "-" else source
    total = Report(policy={"id": policy.id, "version": policy.version,
                           "sha256": policy.sha256}, unmatched=policy.unmatched, rules=[])
    out, raw_out, tmp_name = _open_output(target) if write else (None, None, None)
    count = 0
    try:
        for number, raw in _lines(source):
            try:
                result = run(policy, docio.parse_json(raw, shown), key=key, copy=False)
            except LearnexportError as exc:
                exc.location = exc.location or Location(shown, number)
                if exc.location.file == shown and exc.location.line in (None, 1):
                    exc.location = Location(shown, number, exc.location.column)
                raise
            _add(total, result)
            count += 1
            if out is not None:
                out.write(docio.encode_json(result.document, pretty=False))
        if out is not None and raw_out is not None and target is not None:
            if out is not raw_out:
                out.close()  # the gzip layer: writes its trailer into raw_out
            raw_out.flush()
            os.fsync(raw_out.fileno())
            raw_out.close()
            os.replace(tmp_name, target)  # type: ignore[arg-type]
            tmp_name = None
    except OSError as exc:
        raise docio.output_error(target or Path("<stdout>"), exc) from None
    finally:
        for stream in (out, raw_out) if target is not None else ():
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return total, count


def _open_output(target: Path | None) -> tuple[IO[bytes], IO[bytes] | None, str | None]:
    """(where lines go, the temporary file under it, its name); stdout has neither."""
    if target is None:
        return sys.stdout.buffer, None, None
    if target.is_dir():
        raise docio.output_error(target, IsADirectoryError(21, "Is a directory"))
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise docio.output_error(target, exc) from None
    raw = os.fdopen(fd, "wb")
    if target.name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="wb", mtime=0), raw, name
    return raw, raw, name


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
