"""The Python API: the same pipeline as the commands, for the framework's own code.

    import learnexport
    doc = learnexport.collect("path/to/project")
    result = learnexport.apply("my-policy.yaml", doc, key=b"a key of 16+ bytes")
    export = learnexport.export("path/to/project", since="2026-01-01")

Calling ``export`` is consenting: it writes without asking (the command asks). Errors are
the ``learnexport.errors`` classes, each with ``render()`` for a one-paragraph message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import exporter as _export
from .collector import collect as _collect
from .keys import HashKey, read_key_file, resolve
from .pipeline import RunResult, run
from .policy import Policy, load_policy
from .provenance import Filters, Stamp


def collect(project: str | Path = ".") -> dict[str, Any]:
    """The collected document of a project (raw: for local use)."""
    return _collect(project)


def apply(policy: str | Path | Policy, document: Any, *,
          key: bytes | str | Path | None = None) -> RunResult:
    """Apply a policy (a path or a loaded ``Policy``) to a document, with the schema and
    leak checks (and, for a policy with ``stamp:``, its metadata). ``key``: the secret
    itself (bytes), or the path of a key file; default: the policy's ``hash.key``.
    Returns the result document, the report and the key used."""
    loaded = policy if isinstance(policy, Policy) else load_policy(policy)
    hash_key = _key(loaded, key)
    return run(loaded, document, key=hash_key, stamp=Stamp(loaded, document, hash_key))


def _key(policy: Policy, key: bytes | str | Path | None) -> HashKey | None:
    if isinstance(key, bytes):
        return HashKey(key, "api")
    if key is not None:
        return read_key_file(Path(key))
    return resolve(policy.hash.key, policy.base_dir, where=policy.where.get("hash.key"))


@dataclass(frozen=True)
class ExportResult:
    path: Path | None
    document: dict[str, Any]
    report: dict[str, Any]


def export(project: str | Path = ".", *, policy: str | Path | None = None,
           output: str | Path | None = None, format: str = "json", compress: bool = False,
           capabilities: Iterable[str] = (), agents: Iterable[str] = (),
           since: str | None = None, until: str | None = None,
           exclude: Iterable[str] = (), hash_key_file: str | Path | None = None,
           write: bool = True) -> ExportResult:
    """Export a project (the command's filters as keywords). ``write=False`` runs every
    stage and check but writes nothing (a preview)."""
    filters = Filters.checked(capabilities, agents, since, until, exclude)
    prepared = _export.prepare(
        project, policy=Path(policy) if policy else None,
        output=Path(output) if output else None, fmt=format, compress=compress,
        filters=filters, hash_key_file=Path(hash_key_file) if hash_key_file else None)
    path = _export.write(prepared) if write else None
    return ExportResult(path, prepared.result.document, prepared.result.report.to_dict())


class LearningDataExporter:
    """The facade the original design named, for framework code that used it:
    ``LearningDataExporter(project_root).export(output_path)``."""

    def __init__(self, project_root: str | Path = ".", policy: str | Path | None = None):
        self.project_root = Path(project_root)
        self.policy = policy

    def collect(self) -> dict[str, Any]:
        return collect(self.project_root)

    def preview(self, **filters: Any) -> dict[str, Any]:
        """The export document, fully checked, without writing it."""
        return export(self.project_root, policy=self.policy, write=False, **filters).document

    def export(self, output_path: str | Path | None = None, *, format: str = "json",
               compress: bool = False, **filters: Any) -> Path:
        result = export(self.project_root, policy=self.policy, output=output_path,
                        format=format, compress=compress, **filters)
        assert result.path is not None
        return result.path
