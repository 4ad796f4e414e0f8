"""The aggregate's inputs: files and folders → one ``Item`` per project.

A folder stands for every export and package in it (recursively). A package is opened and
checked against its manifest. Each export counts for its project once: exports carrying the
same ``hash_key_id`` (the fingerprint of the project's own key) are one project, of which
only the newest export (by ``export_timestamp``) is used, so that resubmitting can never
lift a figure over the K threshold. Then the exports that count and have the same
*figures* (``content_id``: the metadata left out, every hashed value set aside) count
once: that is what a project that lost or replaced its key and exported again sends,
even under a newer framework or policy version; without this, one project re-keyed
counted as two and its own figures passed a threshold of 2. (A project that re-keys
*and* gathers new data in between cannot be told from a new project: the exports share
nothing that identifies it.) An export without a key id is its own project unless its
figures match another's.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import docio, submission
from ..actions.base import compact_json
from ..errors import InputError, Location, UsageError
from .combine import Item

EXPORT_SUFFIXES = (".json", ".json.gz", ".yaml", ".yml", ".yaml.gz", ".yml.gz")
PACKAGE_SUFFIXES = (".tar.gz", ".tgz")


def is_package(path: Path) -> bool:
    return path.name.endswith(PACKAGE_SUFFIXES)


def _wanted(path: Path) -> bool:
    return not path.name.startswith(".") and path.name.endswith(
        EXPORT_SUFFIXES + PACKAGE_SUFFIXES)


def _exports_in(folder: Path) -> list[Path]:
    """The exports and packages under ``folder``, sorted. Hidden files and folders (.git,
    an editor's .backup) are not read, nor walked into."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        found.extend(path for name in files
                     if _wanted(path := Path(root, name)) and path.is_file())
    return sorted(found)


def expand(inputs: Iterable[str | Path]) -> list[Path]:
    """Every input file, folders expanded (sorted), each file once."""
    seen: set[str] = set()
    out: list[Path] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            found = _exports_in(path)
            if not found:
                raise InputError("no exports or packages in this folder",
                                 location=Location(str(path)),
                                 hint="exports end in .json or .yaml (.gz), packages in "
                                 ".tar.gz; hidden folders (a project's .tapps-agents/exports) "
                                 "are not searched: name them")
        elif path.exists():
            found = [path]
        else:
            raise InputError("no such file or folder", location=Location(str(path)),
                             hint="check the path")
        for file in found:
            real = os.path.realpath(file)
            if real not in seen:
                seen.add(real)
                out.append(file)
    if not out:
        raise UsageError("no exports to aggregate", hint="name export files, packages or "
                         "folders holding them")
    return out


@dataclass(frozen=True)
class Loaded:
    item: Item
    project: str  # the export's hash_key_id, or "sha256:<digest>" when it has none
    rank: tuple[str, str]  # (export_timestamp, digest): the greatest is the newest
    content: str  # content_id: equal for the same figures under another key


_HASHED = re.compile(r"[0-9a-f]{8,64}")  # a keyed digest (hash's output, after any prefix)
_NOT_FIGURES = ("export_metadata", "task_outcomes")


def content_id(document: dict[str, Any]) -> str:
    """A digest of an export's figures, apart from the key they were hashed with: the
    sections of schema 1.0 only (not ``export_metadata``, whose versions, policy and
    notice change with a new framework or policy, nor 1.1's ``task_outcomes``), every run
    of 8+ lowercase hex digits (what ``hash`` writes, which changes with the key)
    replaced, and every list taken as a set (rows sorted by hashed ids may come in another
    order under another key)."""
    def norm(value: Any) -> Any:
        if isinstance(value, str):
            return _HASHED.sub("#", value)
        if isinstance(value, dict):
            return {norm(k): norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return sorted((norm(v) for v in value), key=compact_json)
        return value

    figures = {k: v for k, v in document.items() if k not in _NOT_FIGURES}
    text = compact_json(norm(figures))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def load(position: int, path: Path) -> Loaded:
    """Read one input (export or package) into an Item, with its project and rank."""
    if is_package(path):
        package = submission.open_package(path)
        name, document = package.export_name, package.document()
    else:
        name, document = str(path), docio.read_document(str(path))
    meta = document.get("export_metadata") if isinstance(document, dict) else None
    if not isinstance(meta, dict):
        raise InputError(f"{name}: not a learning export (no export_metadata)",
                         hint="aggregate reads files written by learnexport export or submit")
    data = docio.encode_json(document, pretty=False)
    digest = hashlib.sha256(data).hexdigest()
    key_id, stamp = meta.get("hash_key_id"), meta.get("export_timestamp")
    project = key_id if isinstance(key_id, str) and key_id else f"sha256:{digest}"
    return Loaded(Item(position, name, data), project,
                  (stamp if isinstance(stamp, str) else "", digest), content_id(document))


def newest_per_project(loaded: Sequence[Loaded]) -> tuple[list[Item], int]:
    """Every Item, in input order, the newest of each project marked as counting (the
    others ``counts=False``); and how many do not count. A project is first
    its key id (its newest export counts); then the newest exports whose figures are the
    same (``content_id``: one project under two keys) count once, the newest of them.
    Only the exports that count are compared: two projects whose early exports matched
    (both empty, say) are not joined by them."""
    by_key: dict[str, Loaded] = {}
    for entry in loaded:
        current = by_key.get(entry.project)
        if current is None or entry.rank > current.rank:
            by_key[entry.project] = entry
    by_content: dict[str, Loaded] = {}
    for entry in by_key.values():
        current = by_content.get(entry.content)
        if current is None or entry.rank > current.rank:
            by_content[entry.content] = entry
    counting = {entry.item.position for entry in by_content.values()}
    items = [entry.item if entry.item.position in counting else replace(entry.item, counts=False)
             for entry in sorted(loaded, key=lambda entry: entry.item.position)]
    return items, len(loaded) - len(counting)
