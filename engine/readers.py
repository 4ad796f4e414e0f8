"""Reading the framework's files strictly and safely: JSON lines and JSON arrays record
by record, whole JSON files under a size limit, each record's documented fields checked.

Nothing here writes. A bad record or line never stops reading: its problem is recorded
(with its line number, at most ``MAX_PROBLEMS_PER_FILE`` a file) and reading goes on; a
file that cannot be opened or read raises ``InputError``, which the collector records as
the source's problem. Symlinks that lead out of the project are refused, over-long lines
skipped unread.
The collector (``collector``) assembles the collected document from these readers.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from learnexport.columns import RECORD_DEPTH, Column, deeper_than_allowed
from learnexport.errors import InputError
from learnexport.streams import ArrayReader, fast_loads, loads_lines, objects_agree, trusted

MIB = 1024 * 1024
MAX_LINE_BYTES = 8 * MIB  # a longer JSON line is skipped, never read whole
MAX_JSON_BYTES = 1024 * MIB  # a whole-JSON file larger than this is not read
MAX_CONFIG_BYTES = 1 * MIB
MAX_PROBLEMS_PER_FILE = 100  # further problems are counted in one last line
# JSON lines read together (iter_jsonl) and checked together (a C pass each check), in
# blocks of at most BLOCK_LINES: 1 MiB of ``{}`` lines read as one block took 60 MiB
BLOCK_BYTES = 64 * 1024
BLOCK_LINES = 1024

_S, _N, _I, _B, _L, _D, _NULL = (
    (str,),
    (int, float),
    (int,),
    (bool,),
    (list,),
    (dict,),
    (type(None),),
)
# The documented fields of each record and the JSON types they may hold (checked with
# ``type(v) in allowed``, so a boolean is never a number). Absent fields and unknown extra
# fields are fine. Nullable where the framework writes None (Optional fields).
FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "capabilities": {"capability_id": _S, "agent_id": _S, "success_rate": _N,
                     "average_duration": _N, "quality_score": _N, "usage_count": _I,
                     "last_improved": _S + _NULL, "refinement_history": _L, "metadata": _D},
    "patterns": {"pattern_id": _S, "pattern_type": _S, "code_snippet": _S, "context": _S,
                 "quality_score": _N, "usage_count": _I, "success_rate": _N, "learned_from": _L,
                 "metadata": _D, "security_score": _N, "is_anti_pattern": _B,
                 "failure_reasons": _L, "rejection_count": _I},
    "memory": {"task_id": _S, "agent_id": _S, "command": _S, "timestamp": _S, "outcome": _S,
               "quality_score": _N, "key_learnings": _L, "patterns_used": _L,
               "similar_tasks": _L, "context": _D, "metadata": _D},
    "analytics_agents": {"agent_id": _S, "agent_name": _S, "duration": _N, "success": _B,
                         "timestamp": _S},
    "analytics_workflows": {"workflow_id": _S, "workflow_name": _S, "duration": _N,
                            "steps": _I, "success": _B, "timestamp": _S},
    # expert_consultations: an int in the formats doc, a list of expert ids in the framework.
    "outcomes": {"workflow_id": _S, "file_path": _S, "initial_scores": _D, "final_scores": _D,
                 "iterations": _I, "expert_consultations": _I + _L,
                 "time_to_correctness": _N, "first_pass_success": _B, "timestamp": _S,
                 "agent_id": _S + _NULL, "prompt_hash": _S + _NULL},
    "expert_performance": {"expert_id": _S, "domain": _S, "confidence": _N,
                           "query": _S + _NULL, "timestamp": _S},
    "weight_adjustments": {"expert_id": _S, "old_weight": _N, "new_weight": _N, "reason": _S,
                           "timestamp": _S},
}  # fmt: skip

_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", int: "a number",
               float: "a number", bool: "a boolean", type(None): "null"}  # fmt: skip


def json_name(value: object) -> str:
    if type(value) is Poison:
        return f"invalid: {value.reason}"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _expected(allowed: tuple[type, ...]) -> str:
    names = ["an integer" if t is int and float not in allowed else _JSON_NAMES[t] for t in allowed]
    return " or ".join(dict.fromkeys(names))


def fields_agree(table: list[Column], fields: Mapping[str, tuple[type, ...]]) -> bool:
    """Whether ``check_record`` passes each of the objects whose columns are ``table``:
    every documented field present has a type it allows, checked a column at a time."""
    return all(types <= set(fields[key]) for key, _, types in table if key in fields)


def check_record(record: object, fields: Mapping[str, tuple[type, ...]]) -> str | None:
    """Why ``record`` does not fit its documented fields, or None when it does."""
    if type(record) is not dict:
        return f"not an object ({json_name(record)})"
    for name, allowed in fields.items():
        value = record.get(name, allowed)  # ``allowed`` itself stands for "absent"
        if value is not allowed and type(value) not in allowed:
            return f'field "{name}" is {json_name(value)}, expected {_expected(allowed)}'
    return None


# ---- strict JSON ---------------------------------------------------------------------------


class Poison:
    """Stands in for a value that is not acceptable JSON, so a whole file still parses and
    only the record holding it is skipped."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class StrictJSON:
    """json with duplicate keys, NaN, Infinity, out-of-range numbers and nesting deeper
    than ``RECORD_DEPTH`` refused (what it reads goes into the collected document, a few
    levels down, which apply reads up to ``MAX_DEPTH``)."""

    def __init__(self) -> None:
        self.poisoned = False
        self._memo: dict[str, str] = {}  # one copy of each key and short string: 1/2 the memory
        self._decoder = json.JSONDecoder(
            object_pairs_hook=self._object, parse_constant=self._constant, parse_float=self._float
        )

    def loads(self, text: str) -> Any:
        """The value of ``text``; RecursionError when it nests deeper than ``RECORD_DEPTH``
        (json itself stops only near Python's recursion limit, which later steps reach)."""
        self.poisoned = False
        value = self._decoder.decode(text)
        if deeper_than_allowed(value, RECORD_DEPTH):
            raise RecursionError
        return value

    def _poison(self, reason: str) -> Poison:
        self.poisoned = True
        return Poison(reason)

    def _object(self, pairs: list[tuple[str, Any]]) -> dict | Poison:
        same = self._memo.setdefault
        obj = {same(k, k): same(v, v) if type(v) is str and len(v) <= 16 else v for k, v in pairs}
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return self._poison(f'duplicate key "{dup}"')

    def _constant(self, name: str) -> Poison:
        return self._poison(f"not JSON ({name} is not a JSON number)")

    def _float(self, text: str) -> float | Poison:
        value = float(text)
        if value - value == 0.0:
            return value
        return self._poison(f"not JSON (number {text[:40]} is out of range)")


def poison_in(value: object) -> str | None:
    """The reason of the first Poison inside ``value`` (iterative: no recursion limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is Poison:
            return item.reason
        if type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return None


def _decode_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        at = "" if exc.msg.endswith(" at") else " at"
        return f"not JSON ({exc.msg}{at} column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"not JSON ({exc})"


# ---- reading files -------------------------------------------------------------------------


def open_source(path: Path, root: Path | None) -> io.BufferedReader:
    """Open a regular file for reading; InputError (with the reason) when it must not be read."""
    real = os.path.realpath(path)
    if root is not None and not Path(real).is_relative_to(root):
        raise InputError("symlink points outside the project, not followed")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(real, flags | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise InputError(os_problem(exc)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError("not a regular file")
    # O_NONBLOCK kept a FIFO from blocking the open; for reading a file it must go: where
    # a file system honours it, a read with no data ready would look like the end
    os.set_blocking(fd, True)
    return io.BufferedReader(io.FileIO(fd, "rb"), MIB)  # (iter_jsonl reads with read1)


def total_size(paths: list[Path]) -> int:
    """The bytes in ``paths`` now (0 for one that cannot be read): a stream's weight."""
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def present(path: str | os.PathLike[str]) -> bool:
    """False only when nothing is there. A path that cannot even be looked at (a folder on
    the way is unreadable) counts as present, so that reading it reports "permission
    denied" (unreadable) instead of "not found" (``os.path.lexists`` says False for both)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return True


def os_problem(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return (exc.strerror or str(exc)).lower()


class Notes:
    """Problems of one file, prefixed with its name; after the first 100, only counted."""

    def __init__(self, problems: list[str], file: str) -> None:
        self.problems, self.file, self.count = problems, file, 0

    def add(self, where: str, message: str) -> None:
        self.count += 1
        if self.count <= MAX_PROBLEMS_PER_FILE:
            self.problems.append(f"{self.file}{where}: {message}")

    def close(self) -> None:
        if self.count > MAX_PROBLEMS_PER_FILE:
            extra = self.count - MAX_PROBLEMS_PER_FILE
            self.problems.append(f"{self.file}: {extra} more problems not listed")


def _skip_rest(fh: BinaryIO) -> None:
    """Skip what is left of a line over MAX_LINE_BYTES, in 1 MiB chunks, never held."""
    while (rest := fh.readline(MIB)) and not rest.endswith(b"\n"):
        pass


def _parse_line(decoder: StrictJSON, raw: bytes, first: bool) -> tuple[Any, str | None]:
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
    return _parse_text(decoder, text, cut=not raw.endswith(b"\n"))


def _parse_text(decoder: StrictJSON, text: str, cut: bool = False) -> tuple[Any, str | None]:
    """(record, None), or (None, why) when the strict decoder refuses ``text``; ``cut``:
    the text is a last line without its end, which may explain a decoding error."""
    try:
        record = decoder.loads(text)
    except (ValueError, RecursionError) as exc:
        problem = _decode_problem(exc)
        return None, f"{problem}, truncated last line" if cut else problem
    if decoder.poisoned:
        return None, poison_in(record)
    return record, None


def iter_jsonl(
    path: Path,
    problems: list[str],
    *,
    fields: Mapping[str, tuple[type, ...]] | None = None,
    root: Path | None = None,
) -> Iterator[dict]:
    """Yield the records of a JSON-lines file, one at a time; append a problem for each
    line skipped (``"<file> line N: <why>"``). Blank lines are skipped silently.

    A line that is not an object is skipped; ``fields`` also checks the documented field
    types (``check_record``). With ``root`` (a resolved folder) a file whose real path is
    outside it is refused. Raises InputError when the file cannot be opened.
    """
    notes, decoder = Notes(problems, Path(path).name), StrictJSON()
    fields = fields or {}
    with open_source(Path(path), root) as fh:
        try:
            for block in _blocks(fh, notes):
                yield from _settle(block, fields, decoder, notes)
        except OSError as exc:
            notes.add("", f"read failed: {os_problem(exc)}")
    notes.close()


class _Block(NamedTuple):
    """Lines of a JSON-lines file read together (without their line ends)."""

    first: int  # the number of the first line
    lines: list[bytes]
    ended: bool  # whether the last line has its end (not so only at the end of a file)


def _blocks(fh: io.BufferedReader, notes: Notes) -> Iterator[_Block]:
    """The lines of ``fh`` in blocks (``BLOCK_BYTES`` read at a time, split in C). A line
    longer than ``MAX_LINE_BYTES`` is noted (after the lines before it are settled) and
    skipped, never held whole: at most ``MAX_LINE_BYTES`` and a read of it are held.
    Each read is one read of the file (``read1``), so when one fails, every line that
    the reads before it brought has been settled (``read`` would lose what it had read
    of its chunk, as a bad sector of a disk makes a read stop short, then fail)."""
    long = f"longer than {MAX_LINE_BYTES // MIB} MiB"
    number, size = 0, 0  # lines passed; the bytes of the line not ended yet
    pending: list[bytes] = []  # that line's start, in the pieces read
    while chunk := fh.read1(BLOCK_BYTES):
        if b"\n" in chunk:
            lines = chunk.split(b"\n")
            if pending:
                lines[0] = b"".join((*pending, lines[0]))
            tail = lines.pop()  # what follows the last line end
            pending, size = ([tail], len(tail)) if tail else ([], 0)
            start = 0
            if max(map(len, lines)) > MAX_LINE_BYTES:  # (a line begun in an earlier read)
                for index in [i for i, line in enumerate(lines) if len(line) > MAX_LINE_BYTES]:
                    yield from _split(number + start + 1, lines[start:index])
                    notes.add(f" line {number + index + 1}", long)
                    start = index + 1
            yield from _split(number + start + 1, lines[start:] if start else lines)
            number += len(lines)
        else:  # the line goes on
            pending.append(chunk)
            size += len(chunk)
        if size > MAX_LINE_BYTES:
            _skip_rest(fh)
            number += 1
            notes.add(f" line {number}", long)
            pending, size = [], 0
    if pending:
        yield _Block(number + 1, [b"".join(pending)], False)


def _split(first: int, lines: list[bytes]) -> Iterator[_Block]:
    """``lines`` (ended, the first numbered ``first``) in blocks of ``BLOCK_LINES``."""
    for start in range(0, len(lines), BLOCK_LINES):
        part = lines[start:start + BLOCK_LINES] if len(lines) > BLOCK_LINES else lines
        yield _Block(first + start, part, True)


def _settle(block: _Block, fields: Mapping[str, tuple[type, ...]], decoder: StrictJSON,
            notes: Notes) -> Iterator[dict]:
    """The records of a block of JSON lines, with a problem noted for each line skipped.
    The usual block (every line an object that orjson reads, no key lost, every documented
    field of the right type) is checked at once; any other is read a line at a time, so
    each problem (and each blank line) is found and named as when every line was read on
    its own."""
    records = loads_lines(block.lines)
    if records is not None:
        table = objects_agree(block.lines, records, RECORD_DEPTH)
        if table is not None and fields_agree(table, fields):
            yield from records
            return
    last = len(block.lines) - 1
    for index, line in enumerate(block.lines):
        raw = line + b"\n" if block.ended or index < last else line
        if raw.isspace():
            continue
        number = block.first + index
        record = fast_loads(raw, RECORD_DEPTH) if records is None else \
            trusted(raw, records[index], RECORD_DEPTH)  # (parsed once, checked on its own)
        problem = None
        if record is None:
            record, problem = _parse_line(decoder, raw, number == 1)
        if problem is None:
            problem = check_record(record, fields)
        if problem is None:
            yield record
        else:
            notes.add(f" line {number}", problem)


def iter_json_array(
    path: Path,
    problems: list[str],
    *,
    fields: Mapping[str, tuple[type, ...]],
    root: Path | None = None,
) -> Iterator[dict]:
    """Yield the elements of a file holding one JSON array, one at a time, without reading
    the file whole. A bad element is skipped (``"<file> [i]: <why>"``); damage to the JSON
    itself stops the file there (``"<file> line L column C: not JSON (...)"``), keeping the
    records before it. Raises InputError, its message naming the file, when the file
    cannot be opened, holds no array, or is damaged before its first element."""
    name = Path(path).name
    notes, strict = Notes(problems, f"{name} "), StrictJSON()
    try:
        fh = open_source(Path(path), root)
    except InputError as exc:
        raise InputError(f"{name}: {exc.message}") from None
    with fh:
        index = -1
        try:
            for value, where, problem in ArrayReader(fh, MAX_LINE_BYTES).elements():
                index += 1
                if value is None and problem is not None:  # damage (null is an element)
                    text = f"{name}{' ' if where else ''}{where}: {problem}"
                    if index == 0:
                        raise InputError(text)
                    problems.append(f"{text}; the records after it were skipped")
                    break
                if problem == "strict":
                    value, problem = _parse_text(strict, value)
                problem = problem or check_record(value, fields)
                if problem is None:
                    yield value
                else:
                    notes.add(f"[{index}]", problem)
        except OSError as exc:
            problems.append(f"{name}: read failed: {os_problem(exc)}")
    notes.close()


def read_json_file(path: Path, root: Path, decoder: StrictJSON, limit: int) -> tuple[Any, str]:
    """(value, "") or (None, problem as "<file>[ line L column C]: <why>").
    Raises InputError when the file cannot be opened."""
    name = path.name
    try:
        with open_source(path, root) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"read failed: {os_problem(exc)}") from None
    if len(data) > limit:
        return None, f"{name}: larger than {limit // MIB} MiB, not read"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"{name}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
    del data  # the text alone is enough; halves the peak for a large file
    if not text.strip():
        return None, f"{name}: empty file"
    try:
        return decoder.loads(text), ""
    except json.JSONDecodeError as exc:
        return None, f"{name} line {exc.lineno} column {exc.colno}: not JSON ({exc.msg})"
    except (ValueError, RecursionError) as exc:
        return None, f"{name}: {_decode_problem(exc)}"
