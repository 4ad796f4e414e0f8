"""The aggregate's inputs: files and folders → one ``Item`` per project.

A folder stands for every export and package in it (recursively). A package is opened and
checked against its manifest. Each export counts for its project once: exports carrying the
same ``hash_key_id`` (the fingerprint of the project's own key) are one project, of which
only the newest export (by ``export_timestamp``) is used, so that resubmitting can never
lift a figure over the K threshold. An export without a key id is its own project, and
byte-identical copies of it count once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p))
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
                  (stamp if isinstance(stamp, str) else "", digest))


def newest_per_project(loaded: Sequence[Loaded]) -> tuple[list[Item], int]:
    """One Item per project (its newest export), in input order; and how many were left."""
    best: dict[str, Loaded] = {}
    for entry in loaded:
        current = best.get(entry.project)
        if current is None or entry.rank > current.rank:
            best[entry.project] = entry
    items = sorted((entry.item for entry in best.values()), key=lambda item: item.position)
    return items, len(loaded) - len(items)
