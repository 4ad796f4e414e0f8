"""Realistic sample projects: a ``.tapps-agents/`` folder in the framework's real formats.

``generate(root, size, seed)`` writes every source the collector reads (see
docs/tapps-agents-formats.md) with the sensitive values real projects carry: absolute paths
with user names, e-mails, API keys and tokens, credentials in URLs, IP addresses, raw code,
customer names in custom capability ids. ``SampleInfo.planted`` holds every one of them as
the exact substring of a decoded JSON string value, so tests can assert none survives an
export. Same seed and size, same bytes: all randomness comes from ``random.Random(seed)``
and all times from a fixed base date. Sizes, contents and corruption: docs/sample.md.
The vocabulary and the planted values are in ``sampletext``, the record makers in
``samplerecords``; this module sizes a sample and writes its files.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from . import choices
from .samplerecords import (
    capability,
    config_yaml,
    expert_performance,
    memory,
    outcome,
    pattern,
    refinements,
    weight_adjustment,
)
from .sampletext import (
    AGENT_SHARE,
    AGENTS,
    BASE_DAY,
    BROKEN_OUTCOME_LINE,
    FRAMEWORK_VERSIONS,
    HARDWARE,
    TRUNCATED_AGENT_LINE,
    WORKFLOWS,
    Planter,
)

__all__ = ["SIZES", "SampleInfo", "SizeSpec", "generate"]


@dataclass(frozen=True)
class SizeSpec:
    """How many records of each kind a sample holds."""

    capabilities: int
    patterns: int
    memories: int
    analytics: int  # agents and workflows lines together
    days: int  # one agents and one workflows file a day
    outcomes: int
    expert_performance: int
    weight_adjustments: int
    pool: int  # distinct values of each kind of sensitive string


SIZES: dict[str, SizeSpec] = dict(zip(choices.SAMPLE_SIZES, (  # small, typical, large
    SizeSpec(8, 40, 60, 400, 10, 40, 40, 40, pool=6),
    SizeSpec(100, 1_000, 2_000, 20_000, 30, 1_000, 1_500, 300, pool=40),
    SizeSpec(1_000, 10_000, 100_000, 1_000_000, 90, 50_000, 100_000, 10_000, pool=400),
), strict=True))


@dataclass(frozen=True)
class SampleInfo:
    """What ``generate`` wrote: records per collector source, and every planted value."""

    root: Path
    size: str
    seed: int
    counts: dict[str, int] = field(hash=False)
    planted: frozenset[str]
    corruptions: tuple[str, ...] = ()  # "<file name> line N"; only with corrupt=True


# ---- writing -------------------------------------------------------------------------------


def generate(
    root: Path, size: str = "small", seed: int = 0, *, corrupt: bool = False
) -> SampleInfo:
    """Write ``root/.tapps-agents/`` for a sample project; return what was written.

    With ``corrupt=True`` the last agents-*.jsonl file also ends with a truncated line (no
    newline) and the middle of outcomes.jsonl holds one line that is not JSON; both are
    listed in ``SampleInfo.corruptions`` and neither is counted as a record. A failure
    (a full disk, Ctrl-C) removes the ``.tapps-agents/`` it was writing, if it made it.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    base = Path(root) / ".tapps-agents"
    fresh = not base.exists()
    try:
        return _generate(root, base, size, seed, corrupt)
    except BaseException:  # a full disk, Ctrl-C: no half-written sample is left behind
        if fresh:
            shutil.rmtree(base, ignore_errors=True)
        raise


def _generate(root: Path, base: Path, size: str, seed: int, corrupt: bool) -> SampleInfo:
    spec, rng = SIZES[size], random.Random(seed)
    p = Planter(rng, spec.pool, spec.days)
    for sub in ("capabilities", "learning", "memory", "analytics/history"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    patterns = [pattern(p, i) for i in range(spec.patterns)]
    pids = [x["pattern_id"] for x in patterns]
    counts["capabilities"] = _write_capabilities(base, p, spec.capabilities, pids)
    counts["patterns"] = _write_array(base / "learning" / "patterns.json", patterns)
    memories = (memory(p, i, spec.memories, pids) for i in range(spec.memories))
    counts["memory"] = _write_array(base / "memory" / "memories.json", memories)
    counts.update(_write_analytics(base / "analytics" / "history", rng, spec))
    corruptions = _write_learning(base / "learning", p, spec, counts, corrupt)
    if corrupt:
        corruptions.append(_truncate_last_agents_file(base / "analytics" / "history", spec))
    _write_text(base / "config.yaml", config_yaml(FRAMEWORK_VERSIONS[seed % 3]))
    counts["config"] = 1
    return SampleInfo(Path(root), size, seed, counts, frozenset(p.planted), tuple(corruptions))


def _write_text(path: Path, content: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(content)


def _write_capabilities(base: Path, p: Planter, n: int, pattern_ids: list[str]) -> int:
    caps = [capability(p, i, n) for i in range(n)]
    for cap in caps:
        cap["refinement_history"] = refinements(p, cap, pattern_ids)
    registry = {"version": "1.0", "hardware_profile": p.rng.choice(HARDWARE), "metrics": caps}
    _write_text(base / "capabilities" / "capabilities.json", json.dumps(registry, indent=2) + "\n")
    return n


def _write_array(path: Path, records: Iterable[dict]) -> int:
    """A JSON array, one record a line (the fast C encoder: no indent). Returns the count."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as fh:
        fh.write("[")
        for record in records:
            fh.write(",\n" if n else "\n")
            fh.write(json.dumps(record))
            n += 1
        fh.write("\n]\n")
    return n


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` spread unevenly (weights 0.5-1.5) over ``parts``; sums exactly to total."""
    weights = [0.5 + rng.random() for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    counts[-1] += total - sum(counts)
    return counts


def _day_times(rng: random.Random, day: date, n: int) -> list[str]:
    """``n`` sorted naive local times between 07:00 and 21:00 of ``day``."""
    prefix, out = day.isoformat() + "T", []
    for s in sorted(25_200 + 50_400 * rng.random() for _ in range(n)):
        sec = int(s)
        us = int((s - sec) * 1e6)
        out.append(f"{prefix}{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{us:06d}")
    return out


_AGENT_LINE = (
    '{"agent_id": "%s", "agent_name": "%s", "duration": %r, "success": %s, "timestamp": "%s"}\n'
)
_WORKFLOW_LINE = (
    '{"workflow_id": "%s", "workflow_name": "%s", "duration": %r, "steps": %d, '
    '"success": %s, "timestamp": "%s"}\n'
)


def _agent_lines(rng: random.Random, day: date, n: int) -> str:
    """One day of agents lines, formatted from a template (json.dumps would be 3x slower)."""
    pick, rand, lines = rng.randrange, rng.random, []
    for ts in _day_times(rng, day, n):
        agent = AGENTS[pick(len(AGENTS))]
        ok = "true" if rand() < 0.88 else "false"
        lines.append(_AGENT_LINE % (agent, agent, round(0.2 + 40 * rand() ** 2, 3), ok, ts))
    return "".join(lines)


def _workflow_lines(rng: random.Random, day: date, n: int) -> str:
    pick, rand, lines = rng.randrange, rng.random, []
    for ts in _day_times(rng, day, n):
        name = WORKFLOWS[pick(len(WORKFLOWS))]
        ok = "true" if rand() < 0.82 else "false"
        wid = f"{name}-{rng.getrandbits(32):08x}"
        lines.append(_WORKFLOW_LINE % (wid, name, round(20 + 1800 * rand() ** 2, 3),
                                       2 + pick(12), ok, ts))  # fmt: skip
    return "".join(lines)


def _write_analytics(folder: Path, rng: random.Random, spec: SizeSpec) -> dict[str, int]:
    n_agents = round(spec.analytics * AGENT_SHARE)
    per_day = zip(_split(rng, n_agents, spec.days),
                  _split(rng, spec.analytics - n_agents, spec.days), strict=True)  # fmt: skip
    for i, (agents, flows) in enumerate(per_day):
        day = BASE_DAY + timedelta(days=i)
        _write_text(folder / f"agents-{day.isoformat()}.jsonl", _agent_lines(rng, day, agents))
        _write_text(folder / f"workflows-{day.isoformat()}.jsonl", _workflow_lines(rng, day, flows))
    return {"analytics_agents": n_agents, "analytics_workflows": spec.analytics - n_agents}


def _write_lines(path: Path, make: Callable[[int], dict], n: int, bad_line: int | None) -> None:
    """JSON lines; with ``bad_line`` (1-based) that line is a half-written, non-JSON one."""
    with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as fh:
        for i in range(n):
            if i + 1 == bad_line:
                fh.write(BROKEN_OUTCOME_LINE + "\n")
            fh.write(json.dumps(make(i)) + "\n")


def _write_learning(
    folder: Path, p: Planter, spec: SizeSpec, counts: dict[str, int], corrupt: bool
) -> list[str]:
    bad = spec.outcomes // 2 + 1 if corrupt else None
    logs = (
        ("outcomes", outcome, spec.outcomes),
        ("expert_performance", expert_performance, spec.expert_performance),
        ("weight_adjustments", weight_adjustment, spec.weight_adjustments),
    )
    for name, make, n in logs:
        line = bad if name == "outcomes" else None
        _write_lines(folder / f"{name}.jsonl", lambda i, m=make, n=n: m(p, i, n), n, line)  # type: ignore[misc]
        counts[name] = n
    return [f"outcomes.jsonl line {bad}"] if bad is not None else []


def _truncate_last_agents_file(folder: Path, spec: SizeSpec) -> str:
    """Append half a record without newline, as when the framework is killed mid-write."""
    day = BASE_DAY + timedelta(days=spec.days - 1)
    path = folder / f"agents-{day.isoformat()}.jsonl"
    with open(path, "rb") as fh:
        n_lines = sum(1 for _ in fh)
    with open(path, "a", encoding="utf-8", newline="\n") as fh:
        fh.write(TRUNCATED_AGENT_LINE)
    return f"{path.name} line {n_lines + 1}"
