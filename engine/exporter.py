"""``export``: a project's learning data → one anonymized, checked export file.

collect → narrow by the user's filters → apply the policy (default: the shipped
``policies/default.yaml``) with its metadata stamp → leave out excluded sections →
schema check → leak check → (consent, asked by the caller) → write atomically.
``prepare`` does everything but the write, so a caller can show what will be shared
before anything exists on disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from . import choices, docio
from .collector import collect
from .errors import OutputError, UsageError, did_you_mean
from .keys import resolve
from .pipeline import RunResult, run
from .policy import Policy, load_policy
from .provenance import Filters, Stamp
from .streams import RecordStream

SECTIONS = choices.SECTIONS
EXPORTS = Path(".tapps-agents") / "exports"


def default_policy_path() -> Path:
    return Path(str(resources.files("learnexport.policies").joinpath("default.yaml")))


@dataclass
class Prepared:
    project: Path
    policy: Policy
    result: RunResult
    output: Path
    data: bytes
    sources: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """What will be shared: sections with their row counts, sources, policy, key id."""
        doc = self.result.document
        lines = [f"policy {self.policy.id} {self.policy.version} ({self.policy.source})",
                 f"hash key id {self.result.key.id if self.result.key else 'none'}"]
        for name in SECTIONS:
            if name in doc:
                lines.append(f"section {name}: {section_rows(doc[name])} rows")
        for name, entry in self.sources.items():
            lines.append(f"read {name}: {entry.get('records', 0)} records ({entry.get('status')})")
        lines.append(f"to {self.output} ({len(self.data)} bytes)")
        return lines


def section_rows(section: Any) -> int:
    """How many summary rows an export section holds (for what-will-be-shared lists)."""
    if isinstance(section, list):
        return len(section)
    if isinstance(section, dict):
        return sum(len(v) if isinstance(v, list) else 1 for v in section.values())
    return 0


def prepare(project: Path | str = ".", *, policy: Path | None = None,
            output: Path | None = None, fmt: str = "json", compress: bool = False,
            filters: Filters | None = None, hash_key_file: Path | None = None,
            progress: Callable[[str, int], None] | None = None,
            now: Callable[[], dt.datetime] | None = None,
            warn: Callable[[str], None] | None = None) -> Prepared:
    """Everything an export does except writing it; ``warn`` hears of a rule that matched
    nothing for want of its section (``pipeline.run``)."""
    filters = filters or Filters()
    loaded = load_policy(policy or default_policy_path())
    document = collect(project, progress=progress, lazy=True)
    root = Path(document["project"]["root"])
    narrow(document, filters)
    key = resolve(loaded.hash.key, loaded.base_dir, hash_key_file, root,
                  where=loaded.where.get("hash.key"))
    stamp = Stamp(loaded, document, key, filters)
    if now is not None:
        stamp.now = now
    result = run(loaded, document, key=key, stamp=stamp, without=filters.exclude, warn=warn)
    target = output or default_output(root, fmt, compress, (now or stamp.now)())
    if compress and not docio.gzipped(target.name):
        target = target.with_name(target.name + ".gz")
    data = encode(result.document, fmt)
    return Prepared(root, loaded, result, target, data,
                    document["collection"]["sources"])


def format_warning(policy: Policy) -> str | None:
    """Why what ``policy`` writes is not a learning export, or None. An export is that
    format when its policy names the schema it is checked against and stamps
    ``export_metadata`` (whose ``schema_version`` validate and submit read); another
    policy still runs, checked for leaks, but its file is refused by validate and submit."""
    missing = [text for text, ok in (("'schema:'", bool(policy.schema)),
                                     ("'stamp: export_metadata'",
                                      policy.stamp == "export_metadata")) if not ok]
    if not missing:
        return None
    return (f"policy {policy.id} has no {' and no '.join(missing)}: this file is not a "
            "learning export, and validate and submit will refuse it (for other policies, "
            "use learnexport apply)")


def write(prepared: Prepared) -> Path:
    folder = prepared.output.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder for the export "
                          f"({exc.strerror or exc}); nothing was written",
                          hint="choose a folder you can write to with -o") from None
    docio.write_atomic(prepared.output, prepared.data)
    return prepared.output


def encode(document: Any, fmt: str) -> bytes:
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")
    return docio.encode_json(document, pretty=True)


def default_output(root: Path, fmt: str, compress: bool, when: dt.datetime) -> Path:
    name = f"learning-export-{when:%Y%m%d}.{'yaml' if fmt == 'yaml' else 'json'}"
    return root / EXPORTS / (name + (".gz" if compress else ""))


def narrow(document: dict[str, Any], filters: Filters) -> None:
    """Keep only the records the filters name (in place, on the collected copy)."""
    caps, agents = set(filters.capabilities), set(filters.agents)
    metrics = document["capabilities"].get("metrics")
    if caps:  # a name that matches nothing is a typo more often than not: say so
        known = sorted({m["capability_id"] for m in metrics or ()
                        if isinstance(m, dict) and isinstance(m.get("capability_id"), str)})
        for name in filters.capabilities:
            if name not in known:
                raise UsageError(f"--capability {name}: no such capability in this project"
                                 f"{did_you_mean(name, known)}",
                                 hint=f"known: {', '.join(known) or 'none'}")
    if isinstance(metrics, list):
        document["capabilities"]["metrics"] = [
            m for m in metrics if (not caps or m.get("capability_id") in caps)
            and (not agents or m.get("agent_id") in agents)]
    if not (agents or filters.since or filters.until):
        return
    for holder, name in _record_lists(document):
        records = holder[name]
        if isinstance(records, RecordStream):
            holder[name] = _filtered(records, agents, filters)
        else:
            holder[name] = [r for r in records if _wanted(r, agents, filters)]


def _filtered(stream: RecordStream, agents: set[str], filters: Filters) -> RecordStream:
    """The stream's records that the filters want (the source still counts all it read)."""
    return RecordStream(stream.name, {}, lambda: (r for r in stream if _wanted(r, agents,
                                                                                filters)),
                        size=stream.size, source=stream)


def _record_lists(document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    out: list[tuple[dict[str, Any], str]] = [(document, "memory")]
    out += [(document["analytics"], name) for name in ("agents", "workflows")]
    out += [(document["learning"], name) for name in document["learning"]]
    return [(holder, name) for holder, name in out
            if isinstance(holder.get(name), list | RecordStream)]


def _wanted(record: Any, agents: set[str], filters: Filters) -> bool:
    if not isinstance(record, dict):
        return False
    if agents and ("agent_id" in record or "agent_name" in record) and (
            record.get("agent_id") not in agents and record.get("agent_name") not in agents):
        return False
    if filters.since or filters.until:
        stamp = record.get("timestamp")
        day = stamp[:10] if isinstance(stamp, str) else None
        if day is None:
            return False
        if (filters.since and day < filters.since) or (filters.until and day > filters.until):
            return False
    return True

