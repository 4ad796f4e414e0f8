"""The run's metadata (``export_metadata``): where an export came from and what was done.

Built after the rules ran, from the policy, the collected document's ``project`` and
``collection`` sections (read before the policy removed them), the report and the key id.
The privacy notice states what this run actually did, in counts taken from the report;
it is never fixed text. Nothing here copies a value from the data: source names,
statuses and counts only (the collector's own problem texts stay in the local report).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import __version__, choices
from .applier import Report
from .errors import UsageError, did_you_mean
from .keys import HashKey
from .policy import Policy

_TREATED = {
    "hash": "hashed", "generalize": "generalized", "round": "rounded", "redact": "redacted",
    "mask": "masked", "replace": "replaced",
}


def day(value: str | None, option: str) -> str | None:
    """A ``since``/``until`` value as YYYY-MM-DD, or a usage error naming ``option``."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise UsageError(f"{option} {value!r} is not a date",
                         hint="write it as YYYY-MM-DD, e.g. 2026-01-31") from None


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the export to (values that may name things are counted)."""

    capabilities: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    exclude: tuple[str, ...] = ()

    @classmethod
    def checked(cls, capabilities: Iterable[str] = (), agents: Iterable[str] = (),
                since: str | None = None, until: str | None = None,
                exclude: Iterable[str] = (), *, prefix: str = "") -> Filters:
        """Filters from what a user gave (the command's options, the API's keywords,
        ``prefix`` "--" for the command), or a ``UsageError`` saying what is wrong."""
        singular = ("capability", "agent") if prefix else ("capabilities", "agents")
        lists = dict(zip((*singular, "exclude"), (capabilities, agents, exclude), strict=True))
        for name, given in lists.items():
            if isinstance(given, str):
                raise UsageError(f"{prefix}{name} takes a list of names, not the text "
                                 f"{given!r}", hint=f"write [{given!r}]")
        excluded = tuple(exclude)
        for section in excluded:
            if section not in choices.SECTIONS:
                raise UsageError(f"{prefix}exclude {section!r} is not a section"
                                 f"{did_you_mean(section, choices.SECTIONS)}",
                                 hint=f"sections: {', '.join(choices.SECTIONS)}")
        first, last = day(since, f"{prefix}since"), day(until, f"{prefix}until")
        if first and last and first > last:
            raise UsageError(f"{prefix}since {first} is after {prefix}until {last}",
                             hint="swap them")
        return cls(tuple(capabilities), tuple(agents), first, last, excluded)

    def to_metadata(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until,
                "capabilities": len(self.capabilities), "agents": len(self.agents),
                "excluded_sections": list(self.exclude)}


@dataclass
class Stamp:
    policy: Policy
    source: Any
    key: HashKey | None
    filters: Filters = field(default_factory=Filters)
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    def __call__(self, report: Report, result: Any = None) -> dict[str, Any]:
        schema_version = (self.policy.schema or "").removeprefix("export-") or None
        project = _section(self.source, "project")
        sources = _sources(_section(self.source, "collection").get("sources"))
        return {
            "export_timestamp": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "export_version": schema_version,
            "schema_version": schema_version,
            "learnexport_version": __version__,
            "framework_version": project.get("framework_version"),
            "policy": {"id": self.policy.id, "version": self.policy.version,
                       "sha256": self.policy.sha256},
            "hash_key_id": self.key.id if self.key else None,
            "sources": sources,
            "filters": self.filters.to_metadata(),
            "warnings": warnings(sources, report),
            "privacy_notice": privacy_notice(self.policy, report, result),
        }


def _section(doc: Any, name: str) -> dict[str, Any]:
    value = doc.get(name) if isinstance(doc, dict) else None
    return value if isinstance(value, dict) else {}


def _sources(raw: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, entry in (raw or {}).items():
        if isinstance(entry, dict):
            problems = entry.get("problems")
            out[str(name)] = {"status": entry.get("status", "missing"),
                              "records": int(entry.get("records") or 0),
                              "problems": len(problems) if isinstance(problems, list) else 0}
    return out


def warnings(sources: dict[str, dict[str, Any]], report: Report) -> list[str]:
    out = []
    for name, entry in sources.items():
        if entry["status"] in ("missing", "unreadable"):
            out.append(f"source {name} is {entry['status']}: its figures are absent")
        elif entry["problems"]:
            out.append(f"source {name}: {entry['problems']} unreadable record(s) skipped")
    for rule in report.rules:
        if rule.notes.get("suppressed_groups"):
            out.append(f"rule {rule.id}: {rule.notes['suppressed_groups']} group(s) below "
                       "the minimum size suppressed")
    return out


def _rows_at(result: Any, path: tuple[str, ...]) -> int:
    """How many summary rows the written result holds at an aggregate's ``into``."""
    node = result
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return len(node) if isinstance(node, list) else int(node is not None)


def privacy_notice(policy: Policy, report: Report, result: Any = None,
                   extra: Sequence[str] = ()) -> str:
    """What this run did, in counts: never a fixed text. Summary rows are counted in the
    ``result`` as written (sections left out with --exclude do not count)."""
    treated: dict[str, int] = {}
    aggregated = records = dropped = 0
    for rule, done in zip(policy.rules, report.rules, strict=True):
        if done.action in _TREATED and done.changed:
            word = _TREATED[done.action]
            treated[word] = treated.get(word, 0) + done.changed
        if done.action == "aggregate":
            rows = done.notes.get("groups", 0)
            if result is not None:
                rows = _rows_at(result, rule.params["into_path"])
            aggregated += rows
            records += done.notes.get("records", 0) if rows else 0
        dropped += done.dropped if done.action == "drop" else 0
    uncovered = sum(report.uncovered.values())
    parts = [f"Anonymized by policy {policy.id} {policy.version} (sha256 {policy.sha256[:12]})."]
    if records:
        parts.append(f"{records} records were folded into {aggregated} summary rows.")
    if treated:
        parts.append("Values " + ", ".join(f"{word}: {n}" for word, n in sorted(treated.items()))
                     + ".")
    if dropped:
        parts.append(f"{dropped} locations were dropped by rule.")
    if report.unmatched == "drop":
        parts.append(f"{uncovered} fields no rule named were dropped (unmatched: drop).")
    else:
        verb = {"keep": "kept", "error": "refused"}[report.unmatched]
        parts.append(f"{uncovered} fields no rule named were {verb} "
                     f"(unmatched: {report.unmatched}).")
    parts.append("Hashes are keyed (HMAC-SHA256); the key stays with the project.")
    parts.extend(extra)
    return " ".join(parts)
