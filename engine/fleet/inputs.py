"""The aggregate's inputs: files and folders → one ``Item`` per project.

A folder stands for every export and package in it (recursively). A package is opened and
checked against its manifest. Each export counts for its project once: exports carrying the
same ``hash_key_id`` (the fingerprint of the project's own key) are one project, of which
only the newest export (by ``export_timestamp``) is used, so that resubmitting can never
lift a figure over the K threshold. So are exports with the same *content*: the same
figures once the export's time, key id and every hashed value are set aside
(``content_id``), which is what a project that lost or replaced its key and exported
again sends; without this, one project re-keyed counted as two and its own figures
passed a threshold of 2. (A project that re-keys *and* gathers new data in between
cannot be told from a new project: the exports share nothing that identifies it.) An
export without a key id is its own project unless its content matches another's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import docio, submission
from ..errors import InputError, Location, UsageError
from .combine import Item

EXPORT_SUFFIXES = (".json", ".json.gz", ".yaml", ".yml", ".yaml.gz", ".yml.gz")
PACKAGE_SUFFIXES = (".tar.gz", ".tgz")


def is_package(path: Path) -> bool:
    return path.name.endswith(PACKAGE_SUFFIXES)


def _wanted(path: Path) -> bool:
    return not path.name.startswith(".") and path.name.endswith(
        EXPORT_SUFFIXES + PACKAGE_SUFFIXES)


def expand(inputs: Iterable[str | Path]) -> list[Path]:
    """Every input file, folders expanded (sorted), each file once."""
    seen: set[str] = set()
    out: list[Path] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():  # hidden files and folders (.git, an editor's .backup) are not read
            found = sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p)
                           and not any(part.startswith(".")
                                       for part in p.relative_to(path).parts[:-1]))
            if not found:
                raise InputError("no exports or packages in this folder",
                                 location=Location(str(path)),
                                 hint="exports end in .json or .yaml (.gz), packages in .tar.gz")
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
    content: str = ""  # content_id: equal for the same figures under another key


_HASHED = re.compile(r"[0-9a-f]{8,64}")  # a keyed digest (hash's output, after any prefix)
_PER_RUN = ("export_timestamp", "hash_key_id")


def content_id(document: dict[str, Any]) -> str:
    """A digest of what an export says apart from when and under which key it was made:
    the metadata's time and key id left out, every run of 8+ lowercase hex digits (what
    ``hash`` writes, which changes with the key) replaced, and every list taken as a
    set (rows sorted by hashed ids may come in another order under another key)."""
    def norm(value: Any) -> Any:
        if isinstance(value, str):
            return _HASHED.sub("#", value)
        if isinstance(value, dict):
            return {norm(k): norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return sorted((norm(v) for v in value), key=_canonical)
        return value

    meta = {k: v for k, v in document["export_metadata"].items() if k not in _PER_RUN}
    return hashlib.sha256(_canonical(norm({**document, "export_metadata": meta}))
                          .encode()).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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
    """One Item per project (its newest export), in input order; and how many were left.
    Exports that share a key id or a content id are one project (joined transitively)."""
    group = list(range(len(loaded)))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    first: dict[str, int] = {}
    for index, entry in enumerate(loaded):
        labels = [f"key:{entry.project}"] + ([f"content:{entry.content}"] if entry.content
                                             else [])
        for label in labels:
            other = first.setdefault(label, index)
            group[root(index)] = root(other)
    best: dict[int, Loaded] = {}
    for index, entry in enumerate(loaded):
        current = best.get(root(index))
        if current is None or entry.rank > current.rank:
            best[root(index)] = entry
    items = sorted((entry.item for entry in best.values()), key=lambda item: item.position)
    return items, len(loaded) - len(items)
