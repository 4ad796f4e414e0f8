"""Submission packages: an export, checked again, packed for manual upload, and verified.

``check_export`` re-runs the schema check and the leak check (detectors only: an export
on disk has no record of what its policy hid). ``build`` packs the export (as JSON), a
``manifest.json`` (SHA-256 and size of every other file, the export's schema version and
policy, the learnexport version) and a short ``README.md`` into one ``.tar.gz`` under a
single folder; ``write`` writes it atomically. ``open_package`` reads a package without
extracting it, refusing anything but regular files under that folder, and checks every
file against the manifest; ``verify`` also re-checks the export inside. Nothing here
touches the network. The manifest format: docs/maintainers.md.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, docio, leakcheck, schemacheck, versions
from .errors import InputError, LeakError, Location, OutputError
from .exporter import SECTIONS, section_rows

FORMAT = "learnexport-submission"
FORMAT_VERSION = 1
EXPORT, MANIFEST, README = "export.json", "manifest.json", "README.md"
MAX_NOTE = 500
MAX_MEMBERS = 16
MAX_MEMBER_BYTES = 512 * 1024**2

_SHA = {"type": "string", "required": True, "regex": "[0-9a-f]{64}"}
MANIFEST_SCHEMA: dict[str, Any] = {
    "format": {"type": "string", "required": True, "allowed": [FORMAT]},
    "format_version": {"type": "integer", "required": True, "allowed": [FORMAT_VERSION]},
    "package_id": {"type": "string", "required": True, "regex": "[0-9a-f]{12}"},
    "created_at": {"type": "string", "required": True},
    "learnexport_version": {"type": "string", "required": True},
    "export": {"type": "dict", "required": True, "allow_unknown": True, "schema": {
        "file": {"type": "string", "required": True, "allowed": [EXPORT]},
        "schema_version": {"type": "string", "required": True}}},
    "policy": {"type": "dict", "required": True, "nullable": True, "schema": {
        "id": {"type": "string", "required": True},
        "version": {"type": "string", "required": True}, "sha256": _SHA}},
    "note": {"type": "string", "required": True, "nullable": True, "maxlength": MAX_NOTE},
    "files": {"type": "dict", "required": True, "keysrules": {"type": "string"},
              "valuesrules": {"type": "dict", "schema": {
                  "sha256": _SHA, "bytes": {"type": "integer", "min": 0, "required": True}}}},
}  # fmt: skip


@dataclass(frozen=True)
class Checked:
    """An export that passed both checks, and its bytes as they will be packed."""

    source: str
    document: dict[str, Any]
    version: str
    data: bytes

    @property
    def meta(self) -> dict[str, Any]:
        return self.document["export_metadata"]

    @property
    def package_id(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:12]

    def package_name(self) -> str:
        day = str(self.meta.get("export_timestamp", ""))[:10].replace("-", "") or "undated"
        return f"learning-submission-{day}-{self.package_id}"


def check_export(source: str) -> Checked:
    """Read an export and re-run the schema check and the leak check on it."""
    document = docio.read_document(source)
    version = _checked(document, docio.shown(source))
    return Checked(source, document, version, docio.encode_json(document, pretty=True))


def _checked(document: Any, shown: str) -> str:
    """The checks an export passes before it is packed, and again when a package is
    verified: its schema (returns its version), the leak check, public names only."""
    version = versions.validate(document, shown)
    leakcheck.enforce(document, tainted=set(), stamp="export_metadata")
    _public_names_only(document, shown)
    return version


def _public_names_only(document: Any, shown: str) -> None:
    """Refuse an export that carries a name no default policy writes (a raw custom
    capability, agent or workflow name a user's own policy kept): the package reaches the
    maintainers whole, and such a name can be a customer's (exit 4, as a leak)."""
    from .detectors import mask_preview
    from .fleet.names import unpublished

    found = list(unpublished(document))
    if found:
        raise LeakError(
            f"{shown}: {len(found)} name(s) are neither a framework name nor hashed; "
            "nothing was packed",
            findings=[f"{path}: {mask_preview(name)}" for path, name in found[:20]],
            hint="export with a policy that hashes custom capability ids and generalizes "
            "other names, as policies/default.yaml does")


def check_note(note: str | None) -> str | None:
    """The note, refused when too long or when it holds a path, e-mail, secret or code."""
    if note is None:
        return None
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InputError(f"the note is {len(note)} characters; at most {MAX_NOTE} fit",
                         hint="keep it to a sentence or two")
    try:
        leakcheck.enforce({"note": note}, tainted=set())
    except LeakError as exc:
        raise LeakError("the note would share a sensitive value; nothing was written",
                        findings=exc.findings,
                        hint="write the note without paths, e-mails, tokens or code") from None
    return note or None


def summary(checked: Checked, note: str | None, target: Path) -> list[str]:
    """What the package will share, one line each (counts and ids, no values)."""
    meta = checked.meta
    policy = meta.get("policy") or {}
    lines = [f"export {checked.source}: schema {checked.version}, exported "
             f"{meta.get('export_timestamp')} by learnexport {meta.get('learnexport_version')}",
             f"policy {policy.get('id')} {policy.get('version')} "
             f"(sha256 {str(policy.get('sha256'))[:12]})",
             f"hash key id {meta.get('hash_key_id') or 'none'}"]
    for name in SECTIONS:
        if checked.document.get(name) is not None:
            lines.append(f"section {name}: {section_rows(checked.document[name])} rows")
    lines.append(f"note: {note}" if note else "note: none")
    lines.append(f"privacy notice: {meta.get('privacy_notice')}")
    lines.append(f"to {target}")
    return lines


def readme(checked: Checked, note: str | None) -> str:
    meta, policy = checked.meta, checked.meta.get("policy") or {}
    return "\n".join([
        f"# Learning data submission {checked.package_id}", "",
        "An anonymized TappsCodingAgents learning export, packed by learnexport for manual",
        "upload to the framework's maintainers. Nothing was sent anywhere: attach this file",
        "where the maintainers ask for submissions.", "",
        f"- `{EXPORT}`: the export (schema {checked.version}, policy {policy.get('id')} "
        f"{policy.get('version')}), checked against its schema and for leaks when packed.",
        f"- `{MANIFEST}`: the SHA-256 and size of every file here, the schema version, the",
        "  policy id, version and hash, and the learnexport version.",
        f"- `{README}`: this file.", "",
        f"Check it before and after upload: `learnexport verify {checked.package_name()}.tar.gz`",
        "", f"Note from the submitter: {note}" if note else "No note from the submitter.",
        "", f"Privacy notice of the export: {meta.get('privacy_notice')}", ""])


def build(checked: Checked, note: str | None, now: dt.datetime | None = None) -> bytes:
    """The package as gzip bytes (members sorted, owners and times fixed)."""
    when = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    files = {EXPORT: checked.data, README: readme(checked, note).encode("utf-8")}
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "package_id": checked.package_id,
        "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "learnexport_version": __version__,
        "export": {"file": EXPORT, "schema_version": checked.version,
                   "export_version": checked.meta.get("export_version"),
                   "export_timestamp": checked.meta.get("export_timestamp"),
                   "framework_version": checked.meta.get("framework_version"),
                   "hash_key_id": checked.meta.get("hash_key_id")},
        "policy": checked.meta.get("policy"), "note": note,
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                  for name, data in sorted(files.items())},
    }  # fmt: skip
    files[MANIFEST] = docio.encode_json(manifest, pretty=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(f"{checked.package_name()}/{name}")
            info.size, info.mode, info.mtime = len(files[name]), 0o644, int(when.timestamp())
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(buffer.getvalue(), mtime=0)


def target_path(checked: Checked, out_dir: Path | None) -> Path:
    """Where the package goes; refused when its folder is missing or a package is already
    there (checked before the consent is asked, and again when writing)."""
    folder = out_dir if out_dir is not None else Path(checked.source).parent
    return _free(folder / f"{checked.package_name()}.tar.gz")


def write(checked: Checked, note: str | None, target: Path) -> Path:
    docio.write_atomic(_free(target), build(checked, note), compress=False)
    return target


def _free(target: Path) -> Path:
    """``target`` when its folder is there and no file is: a package of the same export,
    the same day, may carry another note, which a new one would silently replace."""
    if not target.parent.is_dir():
        raise InputError(f"{target.parent}: no such folder", hint="create it, or name "
                         "another with --out")
    if target.exists():
        raise OutputError(f"{target}: a package of this export is already there; not "
                          "overwritten", hint="delete it to pack the export again (with "
                          "another note, say), or name another folder with --out")
    return target


# ---- reading a package back -----------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    path: str
    manifest: dict[str, Any]
    files: dict[str, bytes]  # by name inside the package folder (the manifest included)

    @property
    def export_name(self) -> str:
        return f"{self.path}!{EXPORT}"

    def document(self) -> Any:
        return docio.parse_json(self.files[EXPORT], self.export_name)


def _bad(path: str, message: str, hint: str | None = None) -> InputError:
    return InputError(message, location=Location(path), hint=hint or
                      "the package is damaged or was changed after it was written; "
                      "ask the submitter for a fresh one")


def _members(path: str) -> dict[str, bytes]:
    """name -> bytes of the regular files in the package (never written to disk)."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for count, member in enumerate(tar, 1):
                if count > MAX_MEMBERS:
                    raise _bad(path, f"holds more than {MAX_MEMBERS} entries")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise _bad(path, f"{member.name!r} is not a regular file (a link or "
                               "device); a package holds only files")
                if member.size > MAX_MEMBER_BYTES:
                    raise _bad(path, f"{member.name!r} is larger than 512 MiB")
                handle = tar.extractfile(member)
                found[member.name] = handle.read() if handle else b""
    except FileNotFoundError:
        raise InputError("no such file", location=Location(path), hint="check the path") \
            from None
    except IsADirectoryError:
        raise InputError("is a folder, not a package", location=Location(path)) from None
    except (tarfile.TarError, *docio.GZIP_ERRORS) as exc:
        raise _bad(path, f"not a readable .tar.gz submission package ({exc})",
                   "a package is the .tar.gz that learnexport submit wrote") from None
    return found


def _folder(path: str, members: dict[str, bytes]) -> dict[str, bytes]:
    """The members relative to the package's one folder; refuses any other layout."""
    folders = {name.split("/", 1)[0] for name in members}
    if len(folders) != 1 or any(name.count("/") != 1 for name in members):
        raise _bad(path, "its files are not all in one folder, as learnexport submit "
                   f"writes them (found: {', '.join(sorted(members)) or 'nothing'})")
    parts = [name.split("/", 1) for name in members]
    if any(rest in ("", ".", "..") or top in (".", "..") for top, rest in parts):
        raise _bad(path, "holds an entry with an unsafe name")
    return {rest: members[f"{top}/{rest}"] for top, rest in parts}


def _manifest(path: str, files: dict[str, bytes]) -> dict[str, Any]:
    if MANIFEST not in files:
        raise _bad(path, f"has no {MANIFEST}")
    manifest = docio.parse_json(files[MANIFEST], f"{path}!{MANIFEST}")
    checker = schemacheck.validator(MANIFEST_SCHEMA, allow_unknown=True)
    if not isinstance(manifest, dict) or not checker.validate(manifest):
        problems = ([p.render() for p in schemacheck.problems(checker)]
                    if isinstance(manifest, dict) else ["@: not an object"])
        raise _bad(path, f"{MANIFEST} is not a valid manifest: " + "; ".join(problems[:5]))
    return manifest


def open_package(path: str | Path) -> Package:
    """A package read back, every file checked against its manifest (InputError if not)."""
    shown = str(path)
    files = _folder(shown, _members(shown))
    manifest = _manifest(shown, files)
    listed = manifest["files"]
    problems = [f"{name} is missing" for name in sorted(listed) if name not in files]
    problems += [f"{name} is not listed in the manifest" for name in sorted(files)
                 if name not in listed and name != MANIFEST]
    for name in sorted(set(listed) & set(files)):
        data, entry = files[name], listed[name]
        if hashlib.sha256(data).hexdigest() != entry["sha256"] or len(data) != entry["bytes"]:
            problems.append(f"{name} does not match its SHA-256 in the manifest (changed "
                            "after packing)")
    if EXPORT not in listed:
        problems.append(f"the manifest lists no {EXPORT}")
    if problems:
        raise _bad(shown, "the package does not match its manifest: " + "; ".join(problems))
    return Package(shown, manifest, files)


def verify(path: str | Path) -> tuple[Package, str]:
    """Open a package and re-check the export inside: schema, leaks, and that the manifest
    describes it. Returns the package and the export's schema version."""
    package = open_package(path)
    document = package.document()
    version = _checked(document, package.export_name)
    meta, said = document["export_metadata"], package.manifest
    mismatches = [what for what, ok in (
        ("schema version", said["export"]["schema_version"] == version),
        ("policy", said["policy"] == meta.get("policy")),
        ("hash key id", said["export"].get("hash_key_id", meta.get("hash_key_id"))
         == meta.get("hash_key_id")),
    ) if not ok]  # fmt: skip
    if mismatches:
        raise _bad(package.path, f"the manifest does not describe {EXPORT}: its "
                   f"{', '.join(mismatches)} differ")
    return package, version
