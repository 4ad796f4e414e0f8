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

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from learnexport.errors import InputError, Location
from learnexport.streams import RecordStream, gc_paused, materialize

from .readers import (
    FIELDS,
    MAX_CONFIG_BYTES,
    MAX_JSON_BYTES,
    MAX_LINE_BYTES,
    MIB,
    Notes,
    Poison,
    StrictJSON,
    check_record,
    iter_json_array,
    iter_jsonl,
    json_name,
    open_source,
    os_problem,
    poison_in,
    present,
    read_json_file,
    total_size,
)

__all__ = ["FIELDS", "MAX_LINE_BYTES", "SOURCE_PATHS", "check_record", "collect", "iter_json_array",
           "iter_jsonl", "warnings"]

HINT_NO_PROJECT = "run it from a project folder (one holding .tapps-agents/), or name one"

_TEXT_OR_NULL = (str, type(None))

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

# ---- the collector -------------------------------------------------------------------------


class _Run:
    """One collection: the project root, the progress callback, and each source's status."""

    def __init__(self, root: Path, progress: Callable[[str, int], None] | None) -> None:
        self.root, self.progress = root, progress
        self.sources: dict[str, dict[str, Any]] = {}
        self.decoder = StrictJSON()

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
        if not present(path):
            entry["status"] = "missing"
            return None, entry
        try:
            value, problem = read_json_file(path, self.root, self.decoder, MAX_JSON_BYTES)
        except InputError as exc:
            value, problem = None, f"{path.name}: {exc.message}"
        if problem:
            entry["problems"].append(problem)
            entry["status"] = "ok" if problem.endswith(": empty file") else "unreadable"
        if type(value) is Poison:  # a duplicate key or NaN at the top level
            entry["problems"].append(f"{path.name}: {value.reason}")
            entry["status"], value = "unreadable", None
        return value, entry

    def keep(self, name: str, items: list, entry: dict[str, Any], label: str) -> list:
        """The items that fit FIELDS[name]; each one skipped is a problem ``<label>[i]``."""
        notes, fields, kept = Notes(entry["problems"], label), FIELDS[name], []
        poisoned = self.decoder.poisoned
        for index, item in enumerate(items):
            problem = (poison_in(item) if poisoned else None) or check_record(item, fields)
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
            entry["problems"].append(f"capabilities.json: not a JSON object ({json_name(value)})")
            return empty
        result = {key: value.get(key) for key in empty}
        for key, allowed in (("version", _TEXT_OR_NULL), ("hardware_profile", _TEXT_OR_NULL)):
            if type(result[key]) not in allowed:
                entry["problems"].append(
                    f'capabilities.json: "{key}" is {json_name(result[key])}, expected a string'
                )
                result[key] = None
        metrics = value.get("metrics", [])
        if type(metrics) is not list:
            entry["problems"].append(
                f'capabilities.json: "metrics" is {json_name(metrics)}, expected an array'
            )
            metrics = []
        result["metrics"] = self.keep("capabilities", metrics, entry, "capabilities.json metrics")
        return result

    def json_array(self, name: str) -> RecordStream | list:
        """A JSON-array source as a stream (an empty list when the file is missing)."""
        entry, path = self.source(name), self.path(name)
        if not present(path):
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

        return RecordStream(name, entry, read, self.progress, total_size([path]))

    def jsonl(self, name: str) -> RecordStream | list:
        entry, path = self.source(name), self.path(name)
        if not present(path):
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

        return RecordStream(name, entry, read, self.progress, total_size(paths))

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
        if not present(path):
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
            f"config.yaml: framework_version is {json_name(version)}, expected a string (quote it)"
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
    if not present(folder):
        return [], "missing"
    real = Path(os.path.realpath(folder))
    if not real.is_relative_to(root):
        problems.append("history: symlink points outside the project, not followed")
        return [], "unreadable"
    try:
        names = sorted(entry.name for entry in os.scandir(real))
    except OSError as exc:
        problems.append(f"history: {os_problem(exc)}")
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
        with open_source(path, root) as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except (InputError, OSError) as exc:
        return (
            {},
            f"config.yaml: {exc.message if isinstance(exc, InputError) else os_problem(exc)}",
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
        return {}, f"config.yaml: not a mapping ({json_name(value)})"
    return value, ""


def _project_root(project: Path | str) -> Path:
    given = Path(project)
    root = Path(os.path.realpath(given))
    if not root.is_dir():
        raise InputError(
            "is not a folder", location=Location(str(given)), hint=HINT_NO_PROJECT
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
        read_streams(document)
    return document


def read_streams(document: dict[str, Any], limit: int | None = None,
                 cut: list[int] | None = None) -> dict[str, Any]:
    """A lazily collected document made whole: its streams read into lists (with
    ``limit``, their first records only: ``streams.materialize``) and its warnings made."""
    with gc_paused():
        materialize(document, limit, cut)
    document["collection"]["warnings"] = warnings(document["collection"]["sources"])
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
