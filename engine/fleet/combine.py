"""Aggregating exports: the pure functions that both engines run.

    Item ──contribute──▶ Partial ──merge_all──▶ Partial ──publish──▶ the aggregate

``contribute`` checks one export against the schema it declares, migrates it to the
latest version and reads its figures into a ``Partial``: for each group (a capability, a
pattern type, a tag, an agent, ...) and figure, a ``Stat`` of three integers. ``merge_all``
adds partials. ``publish`` turns the sum into figures, suppressing every group and every
figure that fewer than K projects contributed to, and shows only public names (names.py).

All arithmetic is on integers: a value is held in fixed point (``SCALE``), a mean as a
numerator and a denominator. Integer addition is exact and order-free, so every split into
chunks or partitions, on any engine, gives the same result, to the byte.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import __version__, docio, versions
from ..errors import InputError, LeakError, LearnexportError, SchemaCheckError
from . import extract
from .extract import SCALE, Stat

DIGITS = 4
MAX_FAILURES = 20
FORMAT_VERSION = 1

TOTAL, MEAN = "total", "mean"  # a total shows the numerator; a mean numerator/denominator

# section -> (the name of its key, its figures in output order). Single-row sections
# ("custom_capabilities", "patterns") publish one object instead of a list.
SECTIONS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "capabilities": ("capability_id", (("usage", TOTAL), ("success_rate", MEAN),
                     ("quality_score", MEAN), ("average_duration", MEAN),
                     ("refinements", TOTAL))),
    "custom_capabilities": ("", (("capabilities", TOTAL), ("usage", TOTAL),
                            ("success_rate", MEAN), ("quality_score", MEAN))),
    "patterns": ("", (("patterns", TOTAL), ("anti_patterns", TOTAL),
                 ("anti_pattern_rate", MEAN), ("mean_quality", MEAN),
                 ("mean_security_score", MEAN), ("rejections", TOTAL))),
    "pattern_types": ("pattern_type", (("patterns", TOTAL), ("anti_patterns", TOTAL),
                      ("anti_pattern_rate", MEAN), ("mean_quality", MEAN),
                      ("mean_success_rate", MEAN), ("mean_security_score", MEAN))),
    "vulnerabilities": ("tag", (("patterns", TOTAL),)),
    "agents": ("agent_name", (("runs", TOTAL), ("success_rate", MEAN))),
    "workflows": ("workflow_name", (("runs", TOTAL), ("success_rate", MEAN),
                  ("mean_steps", MEAN))),
    "refinements": ("improvement_type", (("refinements", TOTAL), ("mean_improvement", MEAN))),
    "task_outcomes": ("outcome", (("tasks", TOTAL), ("mean_quality", MEAN))),
}  # fmt: skip
SINGLE = ("custom_capabilities", "patterns")


@dataclass(frozen=True)
class Item:
    """One export to aggregate: its place in the input order, its name, its JSON bytes;
    ``counts``: False for an older copy of a project's export, which is checked like any
    input (a broken or tampered copy stops the run) but adds no figures."""

    position: int
    name: str
    data: bytes
    counts: bool = True


@dataclass(frozen=True)
class Failure:
    position: int
    name: str
    message: str  # the error's paragraph, without its list of problems
    exit_code: int
    details: tuple[str, ...] = ()  # its schema problems or leak findings


@dataclass(frozen=True)
class Partial:
    """Summed figures of some exports; ``groups[(section, key)][figure]`` is a Stat."""

    groups: Mapping[tuple[str, str], Mapping[str, Stat]]
    exports: int = 0
    migrated: int = 0
    failed: int = 0
    failures: tuple[Failure, ...] = ()  # the first MAX_FAILURES, by input position


# ---- one export -> Partial -------------------------------------------------------------------


def contribute(item: Item) -> Partial:
    """One export's figures: checked against its schema, migrated to the latest version."""
    try:
        document = docio.parse_json(item.data, item.name)
        version = versions.declared_version(document, item.name)
        if version == versions.LATEST:
            versions.validate(document, item.name)
        else:
            document = versions.migrate(document, versions.LATEST, item.name)
    except LearnexportError as exc:
        text = LearnexportError(exc.message, location=exc.location, rule=exc.rule,
                                path=exc.path).render()  # without its hint: not the user's
        text = text if text.startswith(item.name) else f"{item.name}: {text}"
        details = getattr(exc, "problems", None) or getattr(exc, "findings", None) or ()
        failure = Failure(item.position, item.name, text, exc.exit_code, tuple(details))
        return Partial({}, failed=1, failures=(failure,))
    if not item.counts:
        return Partial({})
    return Partial(extract.figures(document), exports=1, migrated=int(version != versions.LATEST))


def contribute_all(items: Iterable[Item]) -> Partial:
    """The merged figures of several exports (one chunk or partition)."""
    return merge_all(contribute(item) for item in items)


# ---- Partial + Partial -----------------------------------------------------------------------


def merge_all(partials: Iterable[Partial]) -> Partial:
    """The sum of ``partials`` (in any order: the result is the same)."""
    groups: dict[tuple[str, str], dict[str, Stat]] = {}
    exports = migrated = failed = 0
    failures: list[Failure] = []
    for part in partials:
        exports, migrated, failed = (exports + part.exports, migrated + part.migrated,
                                     failed + part.failed)
        failures.extend(part.failures)
        for group, figures in part.groups.items():
            mine = groups.get(group)
            if mine is None:
                groups[group] = dict(figures)
                continue
            for figure, (num, den, n) in figures.items():
                old = mine.get(figure)
                mine[figure] = (num, den, n) if old is None else (
                    old[0] + num, old[1] + den, old[2] + n)
    failures.sort(key=lambda f: f.position)
    return Partial(groups, exports, migrated, failed, tuple(failures[:MAX_FAILURES]))


def raise_failures(partial: Partial) -> None:
    """Raise the error of the first input (in input order) that failed, if any did."""
    if not partial.failed:
        return
    first = partial.failures[0]
    more = partial.failed - 1
    text = first.message + (f" ({more} more input(s) failed too)" if more else "")
    hint = f"fix or remove {'them' if more else 'it'}: the aggregate counts only valid exports"
    if first.exit_code == SchemaCheckError.exit_code:
        raise SchemaCheckError(text, problems=first.details, hint=hint)
    if first.exit_code == LeakError.exit_code:
        raise LeakError(text, findings=first.details, hint=hint)
    raise InputError(text, hint=hint)


# ---- Partial -> the aggregate ------------------------------------------------------------------


def _figure(stat: Stat | None, kind: str, min_projects: int) -> int | float | None:
    if stat is None or stat[2] < min_projects:
        return None
    num, den, _ = stat
    if kind == TOTAL:
        return num
    return round(num / (den * SCALE), DIGITS) if den else None


def _order(key_name: str, row: dict[str, Any]) -> tuple[int, str]:
    """Most projects first, then by name."""
    return -row["projects"], row[key_name] if key_name else ""


def publish(partial: Partial, min_projects: int, *, inputs: int, duplicates: int
            ) -> dict[str, Any]:
    """The aggregate document: public names only, nothing from fewer than K projects."""
    rows: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
    suppressed = dict.fromkeys(SECTIONS, 0)
    for (section, key), figures in partial.groups.items():
        projects = figures["projects"][0]
        if projects < min_projects:
            suppressed[section] += 1
            continue
        key_name, spec = SECTIONS[section]
        row: dict[str, Any] = {key_name: key} if key_name else {}
        row["projects"] = projects
        row.update((fig, _figure(figures.get(fig), kind, min_projects)) for fig, kind in spec)
        rows[section].append(row)
    for section, (key_name, _) in SECTIONS.items():
        rows[section].sort(key=functools.partial(_order, key_name))
    out: dict[str, Any] = {"aggregate": {
        "format_version": FORMAT_VERSION, "schema_version": versions.LATEST,
        "learnexport_version": __version__, "min_projects": min_projects, "inputs": inputs,
        "projects": partial.exports, "duplicates": duplicates, "migrated": partial.migrated,
        "suppressed": suppressed}}  # fmt: skip
    for section in SECTIONS:
        out[section] = (rows[section][0] if rows[section] else None) if section in SINGLE \
            else rows[section]
    patterns = out["patterns"]
    for row in out["vulnerabilities"]:
        row["share_of_projects"] = (round(row["projects"] / patterns["projects"], DIGITS)
                                    if patterns else None)
    return out
