"""Export schema versions: a registry, and migrations between neighbouring versions.

Each version names its cerberus schema (``schemas/export-<version>.yaml``); a migration
turns a valid export of one version into a valid export of the next. ``migrate`` chains
them; going back to an older version is refused (it would lose data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import choices, schemacheck
from .errors import InputError, Location, SchemaCheckError, did_you_mean
from .paths import json_copy

Migration = Callable[[dict[str, Any]], dict[str, Any]]

VERSIONS: tuple[str, ...] = choices.VERSIONS
LATEST = VERSIONS[-1]


def schema_name(version: str) -> str:
    return f"export-{version}"


def _to_1_1(doc: dict[str, Any]) -> dict[str, Any]:
    """1.1 adds ``task_outcomes`` (outcome counts and quality by agent, from task memory).
    A 1.0 export never read them, so a migrated export says so with ``null``."""
    doc["task_outcomes"] = None
    notes = doc["export_metadata"].setdefault("warnings", [])
    notes.append("migrated from schema 1.0: task_outcomes not available")
    return doc


MIGRATIONS: dict[str, tuple[str, Migration]] = {"1.0": ("1.1", _to_1_1)}


def declared_version(doc: Any, shown: str) -> str:
    """The schema version an export declares in export_metadata.schema_version."""
    meta = doc.get("export_metadata") if isinstance(doc, dict) else None
    version = meta.get("schema_version") if isinstance(meta, dict) else None
    if not isinstance(version, str):
        raise InputError(f"{shown}: not a learning export (no export_metadata.schema_version)",
                         hint="validate checks files written by learnexport export")
    if version not in VERSIONS:
        raise InputError(f"{shown}: unknown schema version {version!r}"
                         f"{did_you_mean(version, VERSIONS)}",
                         hint=f"known versions: {', '.join(VERSIONS)}; a newer learnexport "
                         "may know it")
    return version


def validate(doc: Any, shown: str) -> str:
    """Check ``doc`` against the schema it declares; returns the version. A failure names
    the file and speaks of the file (the engine's wording is about a policy's result)."""
    version = declared_version(doc, shown)
    try:
        schemacheck.check(doc, schema_name(version))
    except SchemaCheckError as exc:
        count = exc.count
        raise SchemaCheckError(
            f"does not pass schema {schema_name(version)}, the version it declares "
            f"({count} problem{'s' * (count != 1)})", exc.problems, count,
            location=Location(shown),
            hint="it was edited or damaged after export, or not written by learnexport "
            "export; export it again") from None
    return version


def migrate(doc: dict[str, Any], target: str, shown: str) -> dict[str, Any]:
    """A copy of a valid export, migrated to ``target`` (and checked against it)."""
    version = validate(doc, shown)
    if target not in VERSIONS:
        raise InputError(f"unknown target version {target!r}{did_you_mean(target, VERSIONS)}",
                         hint=f"known versions: {', '.join(VERSIONS)}")
    if VERSIONS.index(target) < VERSIONS.index(version):
        raise InputError(f"{shown} is version {version}; migrating back to {target} would "
                         "lose data", hint="keep the newer file; older readers should upgrade")
    out = json_copy(doc)
    while version != target:
        version, step = MIGRATIONS[version]
        out = step(out)
        out["export_metadata"]["schema_version"] = version
        out["export_metadata"]["export_version"] = version
    schemacheck.check(out, schema_name(target))
    return out
