"""The hash key (engine/keys.py): private from birth, refused when others can read it,
never written anywhere, and its rotation visible through the key id.

Commands run as subprocesses with umask 000, so a file is private only because learnexport
made it so. File modes are checked by their bits, which hold for root too.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from learnexport.errors import InputError
from learnexport.keys import PROJECT_KEY, key_id, read_key_file
from learnexport.sample import generate

COMMAND = str(Path(sys.executable).parent / "learnexport")


def _run(*args: object, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")}
    return subprocess.run([COMMAND, *map(str, args)], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=120, preexec_fn=lambda: os.umask(0))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("key") / "project", "small", 31).root


def _fresh(project: Path, tmp_path: Path) -> Path:
    """A copy of the module's sample without its key."""
    import shutil

    copy = tmp_path / "project"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("exports"))
    return copy


def _custom_ids(export: dict) -> set[str]:
    return {row["capability_id"] for row in export["capability_metrics"]["capabilities"]
            if row["capability_id"].startswith("custom_")}


# ---- created private ----------------------------------------------------------------------


def test_key_new_creates_a_0600_file_even_with_umask_000(tmp_path: Path) -> None:
    result = _run("key", "new", "keys/k", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "keys" / "k"
    assert _mode(path) == 0o600
    text = path.read_text("ascii")
    assert re.fullmatch(r"[0-9a-f]{64}\n", text)
    secret = text.strip()
    assert result.stdout == (f"created keys/k (key id {key_id(secret.encode())}); "
                             "keep it out of version control\n")
    assert secret not in result.stdout + result.stderr


def test_key_new_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("old key that must stay the same\n")
    result = _run("key", "new", "k", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ("learnexport: k: a key file is already there; not overwritten. "
                             "Delete it first to rotate the key (old hashes will not match)\n")
    assert (tmp_path / "k").read_text() == "old key that must stay the same\n"
    (tmp_path / "keys").mkdir()
    folder = _run("key", "new", "keys", cwd=tmp_path)  # not "a key file is already there"
    assert folder.returncode == 1
    assert folder.stderr == ("learnexport: keys: is a folder; no key was written. Name the key "
                             "file itself, e.g. keys/hash.key\n")
    assert list((tmp_path / "keys").iterdir()) == []


def test_the_project_key_is_created_0600_by_the_first_export(project: Path,
                                                             tmp_path: Path) -> None:
    fresh = _fresh(project, tmp_path)
    result = _run("export", fresh, "--yes", "-o", tmp_path / "x.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    key = fresh / PROJECT_KEY
    assert _mode(key) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n", key.read_text("ascii"))
    export = json.loads((tmp_path / "x.json").read_text("utf-8"))
    assert export["export_metadata"]["hash_key_id"] == key_id(key.read_text().strip().encode())


# ---- refused when others can read it ----------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604, 0o620, 0o660, 0o700, 0o601])
def test_any_group_or_other_bit_refuses_a_key_file(tmp_path: Path, mode: int) -> None:
    key = tmp_path / "k"
    key.write_text("f" * 64 + "\n")
    key.chmod(mode)
    if mode & 0o077 == 0:
        assert read_key_file(key).secret == b"f" * 64
        return
    with pytest.raises(InputError) as caught:
        read_key_file(key)
    assert caught.value.render() == (
        f"{key}: the hash key file can be read by others (mode {mode:04o}). "
        f"Make it private: chmod 600 {key}")


@pytest.mark.parametrize("mode", [0o640, 0o644])
def test_a_key_file_others_can_read_is_refused_with_the_chmod(tmp_path: Path, mode: int,
                                                              project: Path) -> None:
    key = tmp_path / "k"
    key.write_text("f" * 64 + "\n")
    key.chmod(mode)
    result = _run("export", project, "--yes", "-o", tmp_path / "x.json",
                  "--hash-key-file", key, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"learnexport: {key}: the hash key file can be read by others (mode {mode:04o}). "
        f"Make it private: chmod 600 {key}\n")
    assert not (tmp_path / "x.json").exists()


def test_a_readable_project_key_is_refused_and_kept(project: Path, tmp_path: Path) -> None:
    fresh = _fresh(project, tmp_path)
    key = fresh / PROJECT_KEY
    key.parent.mkdir(parents=True)
    key.write_text("a" * 64 + "\n")
    key.chmod(0o644)
    result = _run("export", fresh, "--yes", "-o", tmp_path / "x.json", cwd=tmp_path)
    assert result.returncode == 1
    assert f"chmod 600 {key}" in result.stderr and "a" * 16 not in result.stderr
    assert key.read_text() == "a" * 64 + "\n" and _mode(key) == 0o644  # not "fixed" silently


def test_a_policy_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("b" * 64)
    (tmp_path / "k").chmod(0o640)
    (tmp_path / "p.yaml").write_text("policy: t\nversion: 1.0.0\nhash: {key: 'file:k'}\n"
                                     "rules:\n  - {id: h, select: 'a', action: hash}\n")
    (tmp_path / "d.json").write_text('{"a": "x"}')
    result = _run("apply", "-p", "p.yaml", "d.json", cwd=tmp_path)
    assert result.returncode == 1
    assert f"chmod 600 {tmp_path / 'k'}" in result.stderr


# ---- never written anywhere ----------------------------------------------------------------


def test_the_key_is_in_no_output_report_or_message(project: Path, tmp_path: Path) -> None:
    fresh = _fresh(project, tmp_path)
    runs = [_run("export", fresh, "--yes", cwd=tmp_path),
            _run("export", fresh, "--yes", "--format", "yaml", "-o", "e.yaml", cwd=tmp_path),
            _run("collect", fresh, "-o", "raw.json", cwd=tmp_path)]
    secret = (fresh / PROJECT_KEY).read_text().strip()
    (tmp_path / "k").write_text(secret)
    (tmp_path / "k").chmod(0o600)
    (tmp_path / "p.yaml").write_text(
        "policy: t\nversion: 1.0.0\nrules:\n"
        "  - {id: h, select: 'memory[*].task_id', action: hash}\n"
        "  - {id: o, select: 'memory[*].outcome', action: keep}\n")
    runs += [_run("apply", "-p", "p.yaml", "raw.json", "--hash-key-file", "k", "-o", "a.json",
                  "--report", "r.json", cwd=tmp_path),
             _run("apply", "-p", "p.yaml", "raw.json", "--hash-key-file", "k", "--dry-run",
                  cwd=tmp_path),
             _run("key", "id", "k", cwd=tmp_path)]
    for result in runs:
        assert result.returncode == 0, result.stderr
        assert secret not in result.stdout + result.stderr
    assert runs[-1].stdout == f"{key_id(secret.encode())}\n"
    written = [*tmp_path.glob("*.json"), tmp_path / "e.yaml",
               *(fresh / ".tapps-agents" / "exports").glob("learning-export-*")]
    assert len(written) == 5
    for path in written:
        text = path.read_text("utf-8")
        assert secret not in text and secret[:16] not in text, path


def test_the_leak_check_refuses_an_output_holding_the_key(tmp_path: Path) -> None:
    secret = "c0ffee" * 8
    (tmp_path / "k").write_text(secret)
    (tmp_path / "k").chmod(0o600)
    (tmp_path / "p.yaml").write_text("policy: t\nversion: 1.0.0\nunmatched: keep\nrules:\n"
                                     "  - {id: h, select: 'id', action: hash}\n")
    (tmp_path / "d.json").write_text(json.dumps({"id": "x", "note": f"key is {secret}"}))
    result = _run("apply", "-p", "p.yaml", "d.json", "--hash-key-file", "k", "-o", "o.json",
                  cwd=tmp_path)
    assert result.returncode == 4
    assert "  - note: the hash key (…(48 chars))" in result.stderr
    assert "c0ff" not in result.stderr and not (tmp_path / "o.json").exists()


# ---- rotation ---------------------------------------------------------------------------


def test_rotation_changes_the_key_id_and_the_custom_hashes(project: Path,
                                                           tmp_path: Path) -> None:
    fresh = _fresh(project, tmp_path)
    for name in ("one", "two"):
        assert _run("key", "new", name, cwd=tmp_path).returncode == 0
    exports = {}
    for name, key in (("a", "one"), ("b", "one"), ("c", "two")):
        result = _run("export", fresh, "--yes", "-o", f"{name}.json", "--hash-key-file", key,
                      cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        exports[name] = json.loads((tmp_path / f"{name}.json").read_text("utf-8"))
    ids = {n: e["export_metadata"]["hash_key_id"] for n, e in exports.items()}
    assert ids["a"] == ids["b"] != ids["c"]
    assert ids["c"] == _run("key", "id", "two", cwd=tmp_path).stdout.strip()
    assert _custom_ids(exports["a"]) == _custom_ids(exports["b"])
    assert _custom_ids(exports["a"]) and not _custom_ids(exports["a"]) & _custom_ids(
        exports["c"])
    # deleting the project key rotates it too: the next export makes a new one
    _run("export", fresh, "--yes", "-o", "d.json", cwd=tmp_path)
    (fresh / PROJECT_KEY).unlink()
    _run("export", fresh, "--yes", "-o", "e.json", cwd=tmp_path)
    d, e = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "de")
    assert d["export_metadata"]["hash_key_id"] != e["export_metadata"]["hash_key_id"]
    assert not _custom_ids(d) & _custom_ids(e)


def test_the_key_id_is_not_part_of_the_key() -> None:
    secret = "0123456789abcdef" * 4
    assert key_id(secret.encode()) not in secret
    assert len(key_id(secret.encode())) == 12


def test_a_file_where_the_exports_folder_should_be_is_said_so(tmp_path: Path) -> None:
    from learnexport.errors import OutputError
    from learnexport.keys import project_key

    (tmp_path / ".tapps-agents").mkdir()
    (tmp_path / ".tapps-agents" / "exports").write_text("not a folder")
    with pytest.raises(OutputError, match="exports: is a file, not a folder"):
        project_key(tmp_path)


def test_the_file_that_blocks_a_key_folder_is_the_one_named(tmp_path: Path) -> None:
    """From a review: for kk/file/a/b/hash.key, with kk/file a file, the error named
    kk/file/a/b, which does not exist."""
    from learnexport.errors import OutputError
    from learnexport.keys import create_key_file

    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError) as caught:
        create_key_file(tmp_path / "file" / "a" / "b" / "hash.key")
    assert caught.value.message == f"{tmp_path / 'file'}: is a file, not a folder; no key " \
        "was written"
