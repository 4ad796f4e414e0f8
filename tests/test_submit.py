"""``submit`` and ``verify``: checks re-run, consent asked, a package written atomically,
and every kind of damage to a package reported as a clear error."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from learnexport import (
    __version__,
    cli_base,
    cli_fleet,  # noqa: F401  (registers submit on the app)
    docio,
    submission,
)
from learnexport.cli_base import app
from learnexport.errors import InputError
from sharing_fixtures import ROOT, documented_shape, keys, make_export, run_cli
from typer.testing import CliRunner, Result

WHEN = dt.datetime(2026, 2, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_export(tmp_path_factory.mktemp("submit"), 201)


@pytest.fixture
def export_file(exported: Path, tmp_path: Path) -> Path:
    """A copy of the export in a folder of this test's own."""
    path = tmp_path / "learning-export.json"
    path.write_bytes(exported.read_bytes())
    return path


def _members(package: Path) -> dict[str, bytes]:
    with tarfile.open(package, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _repack(package: Path, members: dict[str, bytes], *, kinds: dict[str, bytes] | None = None
            ) -> Path:
    """Write ``members`` (name -> bytes) as a .tar.gz at ``package``; ``kinds`` maps a name to
    a tar type (symlink, ...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if kinds and name in kinds:
                info.type, info.size, info.linkname = kinds[name], 0, "/etc/passwd"
                tar.addfile(info)
            else:
                tar.addfile(info, io.BytesIO(data))
    package.write_bytes(gzip.compress(buffer.getvalue()))
    return package


def invoke(*args: object) -> Result:
    """The command in this process (stdin is not a terminal)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def _submit(export_file: Path, *extra: str) -> Path:
    done = invoke("submit", export_file, "--yes", *extra)
    assert done.exit_code == 0, done.output
    written = sorted(export_file.parent.glob("learning-submission-*.tar.gz"))
    assert len(written) == 1 and f"wrote {written[0]}" in done.stdout
    return written[0]


def test_a_package_holds_the_export_a_manifest_and_a_readme(export_file: Path) -> None:
    done = run_cli("submit", export_file, "--yes", "--note", "team alpha, weekly",
                   cwd=export_file.parent)  # the installed command, end to end
    assert done.returncode == 0, done.stderr
    package = next(export_file.parent.glob("learning-submission-*.tar.gz"))
    assert done.stdout == f"wrote {package} ({package.stat().st_size} bytes); check it with: " \
        f"learnexport verify {package}\n"
    document = json.loads(export_file.read_text("utf-8"))
    members = _members(package)
    folder = package.name.removesuffix(".tar.gz")
    assert sorted(members) == [f"{folder}/{n}" for n in ("README.md", "export.json",
                                                         "manifest.json")]
    manifest = json.loads(members[f"{folder}/manifest.json"])
    meta = document["export_metadata"]
    assert manifest["format"] == "learnexport-submission" and manifest["format_version"] == 1
    assert manifest["learnexport_version"] == __version__
    assert manifest["policy"] == meta["policy"]  # id, version and sha256
    assert manifest["export"]["schema_version"] == meta["schema_version"] == "1.0"
    assert manifest["export"]["export_version"] == meta["export_version"]
    assert manifest["note"] == "team alpha, weekly"
    for name in ("export.json", "README.md"):
        data = members[f"{folder}/{name}"]
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(),
                                           "bytes": len(data)}
    assert json.loads(members[f"{folder}/export.json"]) == document
    readme = members[f"{folder}/README.md"].decode("utf-8")
    assert f"learnexport verify {package.name}" in readme and "team alpha, weekly" in readme
    assert package.name == f"learning-submission-{meta['export_timestamp'][:10].replace('-', '')}" \
        f"-{manifest['package_id']}.tar.gz"
    assert [p.name for p in export_file.parent.iterdir() if p.name.startswith(".")] == []


def test_the_same_export_at_the_same_time_packs_to_the_same_bytes(export_file: Path) -> None:
    checked = submission.check_export(str(export_file))
    assert submission.build(checked, "n", WHEN) == submission.build(checked, "n", WHEN)


def test_without_a_terminal_and_without_yes_nothing_is_written(export_file: Path) -> None:
    done = run_cli("submit", export_file, cwd=export_file.parent)
    assert done.returncode == 2
    assert done.stderr == ("learnexport: refusing to write a submission package without "
                           "consent: nothing was written. Run it on a terminal to review what "
                           "will be shared and confirm, or pass --yes to consent\n")
    assert list(export_file.parent.glob("*.tar.gz")) == []


@pytest.mark.parametrize(("answer", "code"), [("n\n", 2), ("y\n", 0)])
def test_on_a_terminal_it_shows_what_will_be_shared_and_asks(
        export_file: Path, monkeypatch: pytest.MonkeyPatch, answer: str, code: int) -> None:
    monkeypatch.setattr(cli_base, "can_ask", lambda: True)  # as on a terminal
    done = CliRunner().invoke(app, ["submit", str(export_file), "--note", "hello"],
                              input=answer)
    assert done.exit_code == code, done.output
    meta = json.loads(export_file.read_text("utf-8"))["export_metadata"]
    for shown in ("This submission package will be written:",
                  f"  export {export_file}: schema 1.0, exported {meta['export_timestamp']}",
                  f"  policy default 1.0.0 (sha256 {meta['policy']['sha256'][:12]})",
                  f"  hash key id {meta['hash_key_id']}", "  section capability_metrics: ",
                  "  note: hello", f"  privacy notice: {meta['privacy_notice']}",
                  "Nothing is sent anywhere", "Write it? [y/N]"):
        assert shown in done.output
    written = list(export_file.parent.glob("*.tar.gz"))
    assert len(written) == (1 if code == 0 else 0)
    if code:
        assert "declined; nothing was written" in done.output


def test_a_schema_failure_exits_3_and_a_leak_exits_4(export_file: Path) -> None:
    doc = json.loads(export_file.read_text("utf-8"))
    doc["pattern_statistics"]["summary"]["patterns"] = -1
    export_file.write_bytes(docio.encode_json(doc))
    done = invoke("submit", export_file, "--yes")
    assert done.exit_code == 3
    assert "pattern_statistics.summary.patterns: must be at least 0, not -1" in done.stderr
    doc["pattern_statistics"]["summary"]["patterns"] = 3
    doc["export_metadata"]["warnings"] = ["read /home/alice.nakamura/work/acme/src/app.py"]
    export_file.write_bytes(docio.encode_json(doc))
    done = invoke("submit", export_file, "--yes")
    assert done.exit_code == 4 and "export_metadata.warnings[*]: detector path" in done.stderr
    assert "alice.nakamura" not in done.stderr
    assert list(export_file.parent.glob("*.tar.gz")) == []


@pytest.mark.parametrize(("note", "code", "message"), [
    ("ping me at carol.rossi@globex.example", 4, "the note would share a sensitive value"),
    ("x" * 501, 1, "the note is 501 characters; at most 500 fit"),
])  # fmt: skip
def test_a_note_is_checked_too(export_file: Path, note: str, code: int, message: str) -> None:
    done = invoke("submit", export_file, "--yes", "--note", note)
    assert done.exit_code == code and message in done.stderr
    assert "carol.rossi" not in done.stderr


def test_a_package_already_there_is_not_replaced(export_file: Path) -> None:
    """The same export packed again the same day has the same name: it silently replaced
    the first package and its note."""
    first = _submit(export_file, "--note", "team alpha, first")
    before = first.read_bytes()
    again = invoke("submit", export_file, "--yes", "--note", "another note")
    assert again.exit_code == 1
    assert f"{first}: a package of this export is already there; not overwritten" in again.stderr
    assert first.read_bytes() == before


def test_a_missing_out_folder_is_an_error(export_file: Path) -> None:
    done = invoke("submit", export_file, "--yes", "--out", export_file.parent / "nowhere")
    assert done.exit_code == 1 and "nowhere: no such folder" in done.stderr


def test_verify_accepts_a_fresh_package(export_file: Path) -> None:
    package = _submit(export_file)
    done = run_cli("verify", package, cwd=export_file.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{package}: valid submission package ")
    assert "README.md, export.json match the manifest; export schema 1.0, policy default " \
        "1.0.0, leak check passed" in done.stdout
    # several at once, as a shell glob gives them (maintainers.md shows that use)
    copy = package.with_name("copy-" + package.name)
    copy.write_bytes(package.read_bytes())
    both = run_cli("verify", package, copy, cwd=export_file.parent)
    assert both.returncode == 0, both.stderr
    assert [line.split(":")[0] for line in both.stdout.splitlines()] == [str(package),
                                                                         str(copy)]
    copy.unlink()


def _damaged(package: Path, how: str) -> Path:
    members = _members(package)
    folder = next(iter(members)).split("/")[0]
    export_name, manifest_name = f"{folder}/export.json", f"{folder}/manifest.json"
    if how == "tampered":
        doc = json.loads(members[export_name])
        doc["capability_metrics"]["summary"]["total_usage"] += 1
        members[export_name] = docio.encode_json(doc)
    elif how == "missing":
        del members[f"{folder}/README.md"]
    elif how == "extra":
        members[f"{folder}/notes.txt"] = b"hello"
    elif how == "bad manifest":
        manifest = json.loads(members[manifest_name])
        manifest["format_version"] = 7
        del manifest["files"]
        members[manifest_name] = docio.encode_json(manifest)
    elif how == "manifest not JSON":
        members[manifest_name] = b"{not json"
    elif how == "no manifest":
        del members[manifest_name]
    elif how == "outside the folder":
        members["../evil.txt"] = b"x"
    elif how == "symlink":
        return _repack(package, {**members, f"{folder}/link": b""},
                       kinds={f"{folder}/link": tarfile.SYMTYPE})
    return _repack(package, members)


@pytest.mark.parametrize(("how", "message"), [
    ("tampered", "the package does not match its manifest: export.json does not match its "
                 "SHA-256 in the manifest (changed after packing)"),
    ("missing", "the package does not match its manifest: README.md is missing"),
    ("extra", "the package does not match its manifest: notes.txt is not listed in the "
              "manifest"),
    ("bad manifest", "manifest.json is not a valid manifest: files: missing required key "
                     "'files'; add it; format_version: 7 is not allowed"),
    ("manifest not JSON", "manifest.json:1:2: not valid JSON"),
    ("no manifest", "has no manifest.json"),
    ("outside the folder", "its files are not all in one folder"),
    ("symlink", "is not a regular file (a link or device); a package holds only files"),
])  # fmt: skip
def test_verify_reports_each_kind_of_damage(export_file: Path, how: str, message: str) -> None:
    package = _damaged(_submit(export_file), how)
    done = invoke("verify", package)
    assert done.exit_code == 1, done.stdout
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_verify_rechecks_the_export_inside(export_file: Path) -> None:
    package = _submit(export_file)
    members = _members(package)
    folder = next(iter(members)).split("/")[0]
    doc = json.loads(members[f"{folder}/export.json"])
    doc["capability_metrics"]["summary"]["capabilities"] = "many"
    data = docio.encode_json(doc)
    manifest = json.loads(members[f"{folder}/manifest.json"])
    manifest["files"]["export.json"] = {"sha256": hashlib.sha256(data).hexdigest(),
                                        "bytes": len(data)}
    members.update({f"{folder}/export.json": data,
                    f"{folder}/manifest.json": docio.encode_json(manifest)})
    done = invoke("verify", _repack(package, members))
    assert done.exit_code == 3
    assert "capability_metrics.summary.capabilities: must be an integer" in done.stderr


@pytest.mark.parametrize("content", [b"", b"plain text, not a package", gzip.compress(b"x")])
def test_verify_refuses_what_is_not_a_package(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "thing.tar.gz"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a readable .tar.gz submission package"):
        submission.verify(path)


def _manifest_of(package: Path) -> dict[str, Any]:
    members = _members(package)
    return json.loads(next(v for k, v in members.items() if k.endswith("/manifest.json")))


def test_the_manifest_records_the_learnexport_version(export_file: Path) -> None:
    assert _manifest_of(_submit(export_file))["learnexport_version"] == __version__


def test_the_documented_manifest_is_the_real_one(export_file: Path) -> None:
    documented = documented_shape((ROOT / "docs" / "maintainers.md").read_text("utf-8"),
                                  "manifest")
    real = _manifest_of(_submit(export_file, "--note", "hi"))
    assert keys(real) == keys(documented)
    assert set(real["files"]) == {"README.md", "export.json"}


def test_a_name_no_default_policy_writes_is_never_packed(export_file: Path) -> None:
    """A user's own policy may keep a custom capability, agent or workflow name, which
    can be a customer's; the schema checks only its shape and the aggregate folds it
    away, but a package reaches the maintainers whole: submit and verify refuse it."""
    from learnexport import submission
    from learnexport.fleet.names import unpublished

    doc = json.loads(export_file.read_text("utf-8"))
    assert list(unpublished(doc)) == []  # the default policy's export passes
    stand_in = copy.deepcopy(doc)  # 'custom' is a stand-in for capabilities too
    stand_in["capability_metrics"]["capabilities"][1]["capability_id"] = "custom"
    assert list(unpublished(stand_in)) == []
    doc["capability_metrics"]["capabilities"][1]["capability_id"] = "acme_corp_invoices"
    doc["usage_patterns"]["agents"][0]["agent_name"] = "globex-billing-bot"
    doc["usage_patterns"]["workflows"][0]["workflow_name"] = "initech-release"
    raw = export_file.with_name("raw-names.json")
    raw.write_text(json.dumps(doc), "utf-8")
    done = invoke("submit", raw, "--yes")
    assert done.exit_code == 4, done.output
    assert "3 name(s) are neither a framework name nor hashed; nothing was packed" in done.stderr
    assert "capability_metrics.capabilities[1].capability_id: acme…" in done.stderr
    assert "acme_corp" not in done.stderr and "globex-billing" not in done.stderr
    assert not list(export_file.parent.glob("learning-submission-*"))
    # a package packed by other means is refused by verify the same way
    checked = submission.Checked(str(raw), doc, "1.0", docio.encode_json(doc, pretty=True))
    package = export_file.parent / "forged.tar.gz"
    package.write_bytes(submission.build(checked, None))
    refused = invoke("verify", package)
    assert refused.exit_code == 4 and "name(s) are neither a framework name" in refused.stderr


def test_a_missing_out_folder_is_refused_before_consent_is_asked(export_file: Path) -> None:
    """From a review: submit showed its summary and asked "Write it?", and only after a yes
    said the --out folder does not exist."""
    checked = submission.check_export(str(export_file))
    with pytest.raises(InputError, match="no such folder"):
        submission.target_path(checked, export_file.parent / "nodir")
