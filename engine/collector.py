"""The collector: a project's ``.tapps-agents/`` folder into one collected document.

``collect(project)`` reads every source named in ``SOURCE_PATHS`` and returns the document
that docs/tapps-agents-formats.md ("The collected document") describes. It copies records
exactly as they are on disk; it does not clean. It is read-only, refuses symlinks that lead
out of the project, and survives hostile files: a bad record is skipped and recorded as a
problem, a bad file is ``unreadable``, a missing one ``missing``; only a folder without
``.tapps-agents/`` is an error. Source names, problem messages and limits:
docs/collected-document.md.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from learnexport.errors import InputError, Location
from learnexport.streams import ArrayReader, RecordStream, fast_loads, gc_paused, materialize

__all__ = ["FIELDS", "MAX_LINE_BYTES", "SOURCE_PATHS", "check_record", "collect", "iter_json_array",
           "iter_jsonl"]

MIB = 1024 * 1024
MAX_LINE_BYTES = 8 * MIB  # a longer JSON line is skipped, never read whole
MAX_JSON_BYTES = 1024 * MIB  # a whole-JSON file larger than this is not read
MAX_CONFIG_BYTES = 1 * MIB
MAX_PROBLEMS_PER_FILE = 100  # further problems are counted in one last line
HINT_NO_PROJECT = "run it from a project folder, or name one: learnexport collect PATH"

SOURCE_PATHS: dict[str, str] = {
    "capabilities": ".tapps-agents/capabilities/capabilities.json",
    "patterns": ".tapps-agents/learning/patterns.json",
    "memory": ".tapps-agents/memory/memories.json",
    "analytics_agents": ".tapps-agents/analytics/history/agents-*.jsonl",
    "analytics_workflows": ".tapps-agents/analytics/history/workflows-*.jsonl",
    "outcomes": ".tapps-agents/learning/outcomes.jsonl",
    "expert_performance": ".tapps-agents/learning/expert_performance.jsonl",
    "weight_adjustments": ".tapps-agents/learning/weight_adjustments.jsonl",
    "config": ".tapps-agents/config.yaml",
}

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


def _json_name(value: object) -> str:
    if type(value) is _Poison:
        return f"invalid: {value.reason}"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _expected(allowed: tuple[type, ...]) -> str:
    names = ["an integer" if t is int and float not in allowed else _JSON_NAMES[t] for t in allowed]
    return " or ".join(dict.fromkeys(names))


def check_record(record: object, fields: Mapping[str, tuple[type, ...]]) -> str | None:
    """Why ``record`` does not fit its documented fields, or None when it does."""
    if type(record) is not dict:
        return f"not an object ({_json_name(record)})"
    for name, allowed in fields.items():
        value = record.get(name, allowed)  # ``allowed`` itself stands for "absent"
        if value is not allowed and type(value) not in allowed:
            return f'field "{name}" is {_json_name(value)}, expected {_expected(allowed)}'
    return None


# ---- strict JSON ---------------------------------------------------------------------------


class _Poison:
    """Stands in for a value that is not acceptable JSON, so a whole file still parses and
    only the record holding it is skipped."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _StrictJSON:
    """json with duplicate keys, NaN, Infinity and out-of-range numbers refused."""

    def __init__(self) -> None:
        self.poisoned = False
        self._memo: dict[str, str] = {}  # one copy of each key and short string: 1/2 the memory
        self._decoder = json.JSONDecoder(
            object_pairs_hook=self._object, parse_constant=self._constant, parse_float=self._float
        )

    def loads(self, text: str) -> Any:
        self.poisoned = False
        return self._decoder.decode(text)

    def _poison(self, reason: str) -> _Poison:
        self.poisoned = True
        return _Poison(reason)

    def _object(self, pairs: list[tuple[str, Any]]) -> dict | _Poison:
        same = self._memo.setdefault
        obj = {same(k, k): same(v, v) if type(v) is str and len(v) <= 16 else v for k, v in pairs}
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return self._poison(f'duplicate key "{dup}"')

    def _constant(self, name: str) -> _Poison:
        return self._poison(f"not JSON ({name} is not a JSON number)")

    def _float(self, text: str) -> float | _Poison:
        value = float(text)
        if value - value == 0.0:
            return value
        return self._poison(f"not JSON (number {text[:40]} is out of range)")


def _poison_in(value: object) -> str | None:
    """The reason of the first _Poison inside ``value`` (iterative: no recursion limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is _Poison:
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


def _open_source(path: Path, root: Path | None) -> BinaryIO:
    """Open a regular file for reading; InputError (with the reason) when it must not be read."""
    real = os.path.realpath(path)
    if root is not None and not Path(real).is_relative_to(root):
        raise InputError("symlink points outside the project, not followed")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(real, flags | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise InputError(_os_problem(exc)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError("not a regular file")
    return os.fdopen(fd, "rb", buffering=MIB)


def _size(paths: list[Path]) -> int:
    """The bytes in ``paths`` now (0 for one that cannot be read): a stream's weight."""
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def _present(path: str | os.PathLike[str]) -> bool:
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


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return (exc.strerror or str(exc)).lower()


class _Notes:
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


def _parse_line(decoder: _StrictJSON, raw: bytes, first: bool) -> tuple[Any, str | None]:
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
    try:
        record = decoder.loads(text)
    except (ValueError, RecursionError) as exc:
        problem = _decode_problem(exc)
        return None, problem if raw.endswith(b"\n") else f"{problem}, truncated last line"
    if decoder.poisoned:
        return None, _poison_in(record)
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
    notes, decoder = _Notes(problems, Path(path).name), _StrictJSON()
    with _open_source(Path(path), root) as fh:
        readline, number = fh.readline, 0
        try:
            while raw := readline(MAX_LINE_BYTES + 1):  # a longer line is never read whole
                number += 1
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    _skip_rest(fh)
                    notes.add(f" line {number}", f"longer than {MAX_LINE_BYTES // MIB} MiB")
                    continue
                if raw.isspace():
                    continue
                record = fast_loads(raw)
                problem = None
                if record is None:
                    record, problem = _parse_line(decoder, raw, number == 1)
                if problem is None:
                    problem = check_record(record, fields or {})
                if problem is None:
                    yield record
                else:
                    notes.add(f" line {number}", problem)
        except OSError as exc:
            notes.add("", f"read failed: {_os_problem(exc)}")
    notes.close()


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
    notes, strict = _Notes(problems, f"{name} "), _StrictJSON()
    try:
        fh = _open_source(Path(path), root)
    except InputError as exc:
        raise InputError(f"{name}: {exc.message}") from None
    with fh:
        index = -1
        try:
            for value, where, problem in ArrayReader(fh, MAX_LINE_BYTES).elements():
                index += 1
                if value is None:
                    text = f"{name}{' ' if where else ''}{where}: {problem}"
                    if index == 0:
                        raise InputError(text)
                    problems.append(f"{text}; the records after it were skipped")
                    break
                if problem == "strict":
                    value, problem = _parse_line(strict, value.encode("utf-8"), False)
                problem = problem or check_record(value, fields)
                if problem is None:
                    yield value
                else:
                    notes.add(f"[{index}]", problem)
        except OSError as exc:
            problems.append(f"{name}: read failed: {_os_problem(exc)}")
    notes.close()


def _read_json_file(path: Path, root: Path, decoder: _StrictJSON, limit: int) -> tuple[Any, str]:
    """(value, "") or (None, problem as "<file>[ line L column C]: <why>").
    Raises InputError when the file cannot be opened."""
    name = path.name
    try:
        with _open_source(path, root) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"read failed: {_os_problem(exc)}") from None
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


# ---- the collector -------------------------------------------------------------------------


class _Run:
    """One collection: the project root, the progress callback, and each source's status."""

    def __init__(self, root: Path, progress: Callable[[str, int], None] | None) -> None:
        self.root, self.progress = root, progress
        self.sources: dict[str, dict[str, Any]] = {}
        self.decoder = _StrictJSON()

    def source(self, name: str) -> dict[str, Any]:
        entry = {"path": SOURCE_PATHS[name], "status": "ok", "records": 0, "problems": []}
        self.sources[name] = entry
        return entry

    def path(self, name: str) -> Path:
        return self.root / SOURCE_PATHS[name]

    def done(self, name: str, records: int) -> None:
        self.sources[name]["records"] = records
        if self.progress is not None:
            self.progress(name, records)

    def whole_json(self, name: str) -> tuple[Any, dict[str, Any]]:
        """A whole-JSON source's value (None when missing or unreadable) and its entry."""
        entry, path = self.source(name), self.path(name)
        if not _present(path):
            entry["status"] = "missing"
            return None, entry
        try:
            value, problem = _read_json_file(path, self.root, self.decoder, MAX_JSON_BYTES)
        except InputError as exc:
            value, problem = None, f"{path.name}: {exc.message}"
        if problem:
            entry["problems"].append(problem)
            entry["status"] = "ok" if problem.endswith(": empty file") else "unreadable"
        if type(value) is _Poison:  # a duplicate key or NaN at the top level
            entry["problems"].append(f"{path.name}: {value.reason}")
            entry["status"], value = "unreadable", None
        return value, entry

    def keep(self, name: str, items: list, entry: dict[str, Any], label: str) -> list:
        """The items that fit FIELDS[name]; each one skipped is a problem ``<label>[i]``."""
        notes, fields, kept = _Notes(entry["problems"], label), FIELDS[name], []
        poisoned = self.decoder.poisoned
        for index, item in enumerate(items):
            problem = (_poison_in(item) if poisoned else None) or check_record(item, fields)
            if problem is None:
                kept.append(item)
            else:
                notes.add(f"[{index}]", problem)
        notes.close()
        self.done(name, len(kept))
        return kept

    def capabilities(self) -> dict[str, Any]:
        value, entry = self.whole_json("capabilities")
        empty: dict[str, Any] = {"version": None, "hardware_profile": None, "metrics": []}
        if value is None:
            return empty
        if type(value) is not dict:
            entry["status"] = "unreadable"
            entry["problems"].append(f"capabilities.json: not a JSON object ({_json_name(value)})")
            return empty
        result = {key: value.get(key) for key in empty}
        for key, allowed in (("version", _S + _NULL), ("hardware_profile", _S + _NULL)):
            if type(result[key]) not in allowed:
                entry["problems"].append(
                    f'capabilities.json: "{key}" is {_json_name(result[key])}, expected a string'
                )
                result[key] = None
        metrics = value.get("metrics", [])
        if type(metrics) is not list:
            entry["problems"].append(
                f'capabilities.json: "metrics" is {_json_name(metrics)}, expected an array'
            )
            metrics = []
        result["metrics"] = self.keep("capabilities", metrics, entry, "capabilities.json metrics")
        return result

    def json_array(self, name: str) -> RecordStream | list:
        """A JSON-array source as a stream (an empty list when the file is missing)."""
        entry, path = self.source(name), self.path(name)
        if not _present(path):
            entry["status"] = "missing"
            return []

        def read() -> Iterator[dict]:
            entry["problems"], entry["status"] = [], "ok"
            try:
                yield from iter_json_array(path, entry["problems"], fields=FIELDS[name],
                                           root=self.root)
            except InputError as exc:
                entry["problems"].append(exc.message)
                entry["status"] = "ok" if exc.message.endswith(": empty file") else "unreadable"

        return RecordStream(name, entry, read, self.progress, _size([path]))

    def jsonl(self, name: str) -> RecordStream | list:
        entry, path = self.source(name), self.path(name)
        if not _present(path):
            entry["status"] = "missing"
            return []
        return self._stream(name, [path], entry)

    def _stream(self, name: str, paths: list[Path], entry: dict[str, Any],
                listing: tuple[str, ...] = ()) -> RecordStream:
        """A stream over the JSON-lines ``paths`` in order; unreadable when none opens.
        ``listing``: problems found when the files were listed, kept for every pass."""

        def read() -> Iterator[dict]:
            entry["problems"], entry["status"] = list(listing), "ok"
            failed = 0
            for path in paths:
                try:
                    yield from iter_jsonl(path, entry["problems"], fields=FIELDS[name],
                                          root=self.root)
                except InputError as exc:
                    entry["problems"].append(f"{path.name}: {exc.message}")
                    failed += 1
            if failed == len(paths):
                entry["status"] = "unreadable"

        return RecordStream(name, entry, read, self.progress, _size(paths))

    def history(self, name: str, prefix: str) -> RecordStream | list:
        """All ``<prefix>-YYYY-MM-DD.jsonl`` files in date order, records concatenated."""
        entry = self.source(name)
        folder = self.root / ".tapps-agents" / "analytics" / "history"
        paths, status = _history_files(folder, prefix, self.root, entry["problems"])
        if status != "ok":
            entry["status"] = status
            return []
        return self._stream(name, paths, entry, listing=tuple(entry["problems"]))

    def framework_version(self) -> str | None:
        entry, path = self.source("config"), self.path("config")
        if not _present(path):
            entry["status"] = "missing"
            return None
        data, problem = _read_config(path, self.root)
        if problem:
            entry["status"] = "unreadable"
            entry["problems"].append(problem)
            return None
        self.done("config", 1)
        version = data.get("framework_version")
        if type(version) is str and _VERSION.match(version):
            return version
        entry["problems"].append(  # never the value: it goes into every export's metadata
            "config.yaml: no framework_version" if version is None else
            "config.yaml: framework_version is not a version number like 3.6.3; left out"
            if type(version) is str else
            f"config.yaml: framework_version is {_json_name(version)}, expected a string (quote it)"
        )  # fmt: skip
        return None


# A release number (3.6.3, 3.7.0rc1, 3.6.3.post1): the one raw value an export carries, so
# free text (a user, customer or host name someone typed there) is refused.
_VERSION = re.compile(r"\d+(?:\.\d+){1,2}(?:(?:a|b|rc|\.post|\.dev)\d+)*\Z")
_HISTORY_NAME = re.compile(r"(agents|workflows)-(\d{4}-\d{2}-\d{2})\.jsonl\Z")


def _history_files(
    folder: Path, prefix: str, root: Path, problems: list[str]
) -> tuple[list[Path], str]:
    """The day files of one kind sorted by the date in their name, and the source status."""
    if not _present(folder):
        return [], "missing"
    real = Path(os.path.realpath(folder))
    if not real.is_relative_to(root):
        problems.append("history: symlink points outside the project, not followed")
        return [], "unreadable"
    try:
        names = sorted(entry.name for entry in os.scandir(real))
    except OSError as exc:
        problems.append(f"history: {_os_problem(exc)}")
        return [], "unreadable"
    dated = []
    for name in names:
        match = _HISTORY_NAME.match(name)
        if match and match[1] == prefix:
            dated.append((match[2], name))
        elif name.startswith(f"{prefix}-") and name.endswith(".jsonl"):
            problems.append(f"{name}: no YYYY-MM-DD date in the file name, not read")
    return [folder / name for _, name in sorted(dated)], "ok" if dated else "missing"


def _read_config(path: Path, root: Path) -> tuple[dict, str]:
    """(the config mapping, "") or ({}, problem)."""
    try:
        with _open_source(path, root) as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except (InputError, OSError) as exc:
        return (
            {},
            f"config.yaml: {exc.message if isinstance(exc, InputError) else _os_problem(exc)}",
        )
    if len(data) > MAX_CONFIG_BYTES:
        return {}, f"config.yaml: larger than {MAX_CONFIG_BYTES // MIB} MiB, not read"
    try:
        value = yaml.safe_load(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return {}, f"config.yaml: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        return {}, f"config.yaml{where}: not YAML ({exc.problem})"
    except RecursionError:
        return {}, "config.yaml: not YAML (nested too deeply)"
    except yaml.YAMLError as exc:
        return {}, f"config.yaml: not YAML ({exc})"
    if type(value) is not dict:
        return {}, f"config.yaml: not a mapping ({_json_name(value)})"
    return value, ""


def _project_root(project: Path | str) -> Path:
    given = Path(project)
    root = Path(os.path.realpath(given))
    if not root.is_dir():
        raise InputError(
            f"{given} is not a folder", location=Location(str(given)), hint=HINT_NO_PROJECT
        )
    if not (root / ".tapps-agents").is_dir():
        raise InputError(
            f"no .tapps-agents folder in {root}",
            location=Location(str(given)),
            hint=HINT_NO_PROJECT,
        )
    return root


def warnings(sources: dict[str, dict[str, Any]]) -> list[str]:
    """``collection.warnings``: a line for each source missing, unreadable or with
    problems (once a lazy document's streams were read, from its sources)."""
    out = []
    for name, entry in sources.items():
        problems = entry["problems"]
        if entry["status"] == "missing":
            out.append(f"{name}: {entry['path']} not found")
        elif entry["status"] == "unreadable":
            out.append(
                f"{name}: {entry['path']} could not be read: {problems[0] if problems else '?'}"
            )
        elif problems:
            out.append(f"{name}: {len(problems)} problem(s), {entry['records']} records collected; "
                       f"see collection.sources.{name}.problems")  # fmt: skip
    return out


def collect(
    project: Path | str = ".", *, progress: Callable[[str, int], None] | None = None,
    lazy: bool = False,
) -> dict:
    """The collected document of ``project`` (a folder holding ``.tapps-agents/``).

    ``progress(source_name, records_so_far)`` is called every 10,000 records and at the end
    of each source. With ``lazy``, the record sources (patterns, memory, analytics and the
    learning logs) are ``RecordStream``s read only when iterated, and each source's counts
    and problems are filled in as the streams are read (``collection.warnings`` stays
    empty: ``warnings(sources)`` makes it once they were). Raises
    InputError when ``project`` is not a folder with ``.tapps-agents/``.
    """
    root = _project_root(project)
    run = _Run(root, progress)
    document = _document(root, run)
    sources = {name: run.sources[name] for name in SOURCE_PATHS}
    document["collection"] = {
        "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sources": sources,
        "warnings": [],
    }
    if not lazy:
        with gc_paused():
            materialize(document)
        document["collection"]["warnings"] = warnings(sources)
    return document


def _document(root: Path, run: _Run) -> dict[str, Any]:
    version = run.framework_version()
    return {
        "project": {"root": str(root), "name": root.name, "framework_version": version},
        "capabilities": run.capabilities(),
        "patterns": run.json_array("patterns"),
        "memory": run.json_array("memory"),
        "analytics": {"agents": run.history("analytics_agents", "agents"),
                      "workflows": run.history("analytics_workflows", "workflows")},
        "learning": {name: run.jsonl(name)
                     for name in ("outcomes", "expert_performance", "weight_adjustments")},
    }  # fmt: skip
