"""``learnexport apply`` and ``learnexport key`` through the installed command."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from learnexport import schemacheck
from learnexport.errors import SchemaCheckError
from learnexport.keys import key_id
from learnexport.paths import leaves

REPO = Path(__file__).resolve().parent.parent
_VENV_COMMAND = REPO / ".venv" / "bin" / "learnexport"
COMMAND = str(_VENV_COMMAND) if _VENV_COMMAND.exists() else shutil.which("learnexport")
POLICIES = REPO / "policies"

POLICY = """\
policy: cli-test
version: 1.2.3
unmatched: drop
rules:
  - id: ids
    select: memory[*].task_id
    action: hash
  - id: day
    select: memory[*].timestamp
    action: round
    to: day
  - id: outcome
    select: memory[*].outcome
    action: keep
"""
DOC: dict[str, Any] = {
    "memory": [
        {"task_id": "task_1", "timestamp": "2025-12-18T21:34:06+00:00", "outcome": "success",
         "command": "review /home/ann/acme/x.py"},
        {"task_id": "task_2", "timestamp": "2025-12-19T09:02:11", "outcome": "failure",
         "command": "mail ann@acme.io"},
    ],
    "project": {"root": "/home/ann/acme"},
}
KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"


def digest(text: str) -> str:
    return hmac.new(KEY.encode(), text.encode(), hashlib.sha256).hexdigest()[:16]


EXPECTED = {
    "memory": [
        {"task_id": digest("task_1"), "timestamp": "2025-12-18", "outcome": "success"},
        {"task_id": digest("task_2"), "timestamp": "2025-12-19", "outcome": "failure"},
    ]
}


def run(folder: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert COMMAND, "the learnexport command is not installed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")}
    return subprocess.run([COMMAND, *args], cwd=folder, env=env, input=stdin,
                          capture_output=True, timeout=60)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "d.json").write_text(json.dumps(DOC), encoding="utf-8")
    key = tmp_path / "k.key"
    key.write_text(KEY + "\n", encoding="ascii")
    key.chmod(0o600)
    return tmp_path


APPLY = ("apply", "--policy", "p.yaml", "--hash-key-file", "k.key")
PRETTY = (json.dumps(EXPECTED, indent=2, ensure_ascii=False) + "\n").encode()


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ---- where the result goes ----------------------------------------------------------------

def test_apply_to_stdout(work: Path) -> None:
    done = run(work, *APPLY, "d.json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert json.loads(done.stdout) == EXPECTED
    assert done.stdout == PRETTY


def test_apply_to_a_file_writes_the_same_bytes_atomically(work: Path) -> None:
    done = run(work, *APPLY, "d.json", "-o", "out.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert (work / "out.json").read_bytes() == PRETTY
    assert listing(work) == {"p.yaml", "d.json", "k.key", "out.json"}  # no .part left


STARTUP_PROBE = """
import sys
from learnexport.entry import main
sys.argv = ["learnexport", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    assert not done.code, done.code
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_apply_starts_without_libraries_it_does_not_use(work: Path) -> None:
    """Every command pays for what it imports at each start, and a policy author runs
    apply in a loop: typer 0.29 and later import pydantic (0.2 s a start, hence the cap in
    pyproject.toml); dask is the fleet's, rich the terminal's (apply writes to a file)."""
    python = Path(COMMAND).parent / "python" if COMMAND else None
    assert python is not None and python.exists(), "the venv's python is needed"
    done = subprocess.run([str(python), "-c", STARTUP_PROBE, *APPLY, "d.json", "-o", "out.json"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert {"learnexport", "orjson", "typer", "cerberus"} <= loaded  # it did run
    assert loaded.isdisjoint({"pydantic", "dask", "distributed", "rich"}), loaded
    assert (work / "out.json").read_bytes() == PRETTY


def test_dash_as_output_is_stdout_and_a_file_option_refuses_it(work: Path) -> None:
    """``-`` is stdin as an INPUT, so ``-o -`` is stdout (it wrote a file named '-');
    an option that can only name a file refuses it rather than create '-'."""
    done = run(work, *APPLY, "d.json", "-o", "-")
    assert done.returncode == 0, done.stderr
    assert done.stdout == PRETTY
    for refused in ((*APPLY, "d.json", "--report", "-"), ("key", "new", "-"),
                    ("sample", "-"), ("submit", "d.json", "--out", "-")):
        bad = run(work, *refused)
        assert bad.returncode == 2, bad.stderr
        assert b"'-' (stdout) is not taken here: name a path" in bad.stderr
    assert listing(work) == {"p.yaml", "d.json", "k.key"}  # no file named '-'
    upper = run(work, *APPLY, "d.json", "-o", "OUT.JSON.GZ")  # a .GZ is gzip too
    assert upper.returncode == 0 and gzip.decompress((work / "OUT.JSON.GZ").read_bytes()) \
        == PRETTY
    (work / "OUT.JSON.GZ").unlink()
    yaml_named = run(work, *APPLY, "d.json", "-o", "out.yaml")  # apply writes JSON only
    assert yaml_named.returncode == 2
    assert yaml_named.stderr.startswith(b"learnexport: out.yaml: the name says YAML, but this "
                                        b"writes JSON; nothing was written")
    assert listing(work) == {"p.yaml", "d.json", "k.key"}


def test_a_rule_whose_section_is_absent_is_warned_about(work: Path) -> None:
    """A typo in a selector's first key matched nothing and, with unmatched: drop, left
    '{}' without a word; apply now warns (the run itself is unchanged)."""
    (work / "typo.yaml").write_text(POLICY.replace("memory[*].task_id", "memroy[*].task_id"),
                                    encoding="utf-8")
    done = run(work, "apply", "--policy", "typo.yaml", "--hash-key-file", "k.key", "d.json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().splitlines() == [
        "learnexport: warning: typo.yaml:5:5: rule \"ids\" matched nothing: the input has "
        "no 'memroy' (did you mean 'memory'?)"]
    assert run(work, *APPLY, "d.json").stderr == b""  # no warning for the right name


def test_the_absent_section_warning_comes_in_every_mode_and_before_a_leak(work: Path) -> None:
    """From a review: only apply's document mode warned; --jsonl and export wrote '{}'
    lines without a word, and a leak error (unmatched: keep) came before the warning."""
    typo = POLICY.replace("memory[*].task_id", "memroy[*].task_id")
    (work / "typo.yaml").write_text(typo, encoding="utf-8")
    (work / "d.jsonl").write_text("".join(json.dumps(DOC) + "\n" for _ in range(3)), "utf-8")
    warning = ("learnexport: warning: typo.yaml:5:5: rule \"ids\" matched nothing: the input "
               "has no 'memroy' (did you mean 'memory'?)")
    lines = run(work, "apply", "--policy", "typo.yaml", "--hash-key-file", "k.key", "--jsonl",
                "d.jsonl")
    assert lines.returncode == 0, lines.stderr
    assert lines.stderr.decode().splitlines() == [warning]  # once, not once a line
    (work / "keep.yaml").write_text(typo.replace("unmatched: drop", "unmatched: keep"), "utf-8")
    leak = run(work, "apply", "--policy", "keep.yaml", "--hash-key-file", "k.key", "d.json")
    assert leak.returncode == 4
    assert leak.stderr.decode().splitlines()[0] == warning.replace("typo.yaml", "keep.yaml")


def test_a_report_is_not_left_behind_when_the_output_cannot_be_written(work: Path) -> None:
    """From a review: apply wrote --report, then failed to write its output ("nothing was
    written"), and the report stayed."""
    done = run(work, *APPLY, "d.json", "-o", "/proc/learnexport-out.json", "--report", "r.json")
    assert done.returncode == 1 and b"nothing was written" in done.stderr
    assert listing(work) == {"p.yaml", "d.json", "k.key"}
    bad_report = run(work, *APPLY, "d.json", "-o", "out.json", "--report", "/proc/r.json")
    assert bad_report.returncode == 1
    assert listing(work) == {"p.yaml", "d.json", "k.key"}  # nor an output without its report


@pytest.mark.parametrize("jsonl", [False, True])
def test_damaged_gzip_data_is_an_input_error_not_a_bug(work: Path, jsonl: bool) -> None:
    """From a review: damaged compressed data raised zlib.error: 'internal error'."""
    packed = bytearray(gzip.compress(json.dumps(DOC).encode() * 50))
    packed[20:30] = b"\xff" * 10  # inside the deflate stream: the header stays valid
    name = "bad.jsonl.gz" if jsonl else "bad.json.gz"
    (work / name).write_bytes(bytes(packed))
    done = run(work, *APPLY, *(["--jsonl"] if jsonl else []), name)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(b"learnexport: bad.json") and b"internal error" not in done.stderr


def test_apply_replaces_an_existing_output_whole(work: Path) -> None:
    (work / "out.json").write_text("x" * 100_000, encoding="utf-8")
    assert run(work, *APPLY, "d.json", "-o", "out.json").returncode == 0
    assert json.loads((work / "out.json").read_text("utf-8")) == EXPECTED


def test_a_failed_run_leaves_an_existing_output_untouched(work: Path) -> None:
    (work / "out.json").write_text('{"old": true}\n', encoding="utf-8")
    (work / "bad.yaml").write_text(POLICY.replace("to: day", "digits: 2"), encoding="utf-8")
    done = run(work, "apply", "--policy", "bad.yaml", "--hash-key-file", "k.key", "d.json",
               "-o", "out.json")
    assert done.returncode == 1
    assert (work / "out.json").read_text("utf-8") == '{"old": true}\n'
    assert listing(work) == {"p.yaml", "d.json", "k.key", "out.json", "bad.yaml"}


def test_gzip_output_when_the_name_ends_in_gz(work: Path) -> None:
    done = run(work, *APPLY, "d.json", "-o", "out.json.gz")
    assert done.returncode == 0, done.stderr
    packed = (work / "out.json.gz").read_bytes()
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == PRETTY


def test_compact_output_is_one_line(work: Path) -> None:
    done = run(work, *APPLY, "--compact", "d.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(b"\n") == 1 and done.stdout.endswith(b"\n")
    assert json.loads(done.stdout) == EXPECTED


# ---- where the input comes from -----------------------------------------------------------

def test_yaml_input(work: Path) -> None:
    import yaml

    (work / "d.yaml").write_text(yaml.safe_dump(DOC), encoding="utf-8")
    done = run(work, *APPLY, "d.yaml")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED


def test_gzip_input(work: Path) -> None:
    (work / "d.json.gz").write_bytes(gzip.compress(json.dumps(DOC).encode()))
    done = run(work, *APPLY, "d.json.gz")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED


def test_stdin_input_json_and_yaml(work: Path) -> None:
    done = run(work, *APPLY, "-", stdin=json.dumps(DOC).encode())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED
    import yaml

    done = run(work, *APPLY, "-", stdin=yaml.safe_dump(DOC).encode())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED


def test_empty_stdin_is_refused(work: Path) -> None:
    done = run(work, *APPLY, "-", "-o", "out.json", stdin=b"")
    assert done.returncode == 1
    assert done.stderr.decode() == (
        "learnexport: <stdin>: is empty. Give a JSON or YAML document\n")
    assert not (work / "out.json").exists()


def test_the_input_file_is_never_changed(work: Path) -> None:
    source = work / "d.json"
    before = hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns
    assert run(work, *APPLY, "d.json", "-o", "out.json").returncode == 0
    assert (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns) == before


# ---- report and dry run -------------------------------------------------------------------

def _input_texts() -> set[str]:
    return {value for _, value in leaves(DOC) if isinstance(value, str)}


def test_report_lists_rules_and_uncovered_paths_and_no_value(work: Path) -> None:
    done = run(work, *APPLY, "d.json", "-o", "out.json", "--report", "report.json")
    assert done.returncode == 0, done.stderr
    text = (work / "report.json").read_text("utf-8")
    report = json.loads(text)
    counts = {r["id"]: (r["action"], r["matched"], r["changed"], r["dropped"], r["paths"])
              for r in report["rules"]}
    assert counts == {
        "ids": ("hash", 2, 2, 0, {"memory[*].task_id": 2}),
        "day": ("round", 2, 2, 0, {"memory[*].timestamp": 2}),
        "outcome": ("keep", 2, 0, 0, {"memory[*].outcome": 2}),
    }
    assert [r["id"] for r in report["rules"]] == ["ids", "day", "outcome"]
    assert report["unmatched"] == {"action": "drop",
                                   "paths": {"memory[*].command": 2, "project.root": 1}}
    assert report["policy"]["id"] == "cli-test" and report["policy"]["version"] == "1.2.3"
    policy_sha = hashlib.sha256((work / "p.yaml").read_bytes()).hexdigest()
    assert report["policy"]["sha256"] == policy_sha
    assert report["hash_key_id"] == key_id(KEY.encode())
    # paths and counts only: no value of the input, no output hash, never the key
    for value in _input_texts() | {digest("task_1"), KEY}:
        assert value not in text, value


def test_dry_run_shows_counts_and_paths_and_writes_nothing(work: Path) -> None:
    done = run(work, *APPLY, "d.json", "--dry-run", "-o", "out.json", "--report", "r.json")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    lines = text.splitlines()
    assert lines[0] == "dry run of policy cli-test 1.2.3 (p.yaml); nothing written"
    for line in [
        "  ids: hash 'memory[*].task_id': 2 matched, 2 changed",
        "      memory[*].task_id  (2)",
        "  day: round 'memory[*].timestamp': 2 matched, 2 changed",
        "      memory[*].timestamp  (2)",
        "  outcome: keep 'memory[*].outcome': 2 matched",
        "      memory[*].outcome  (2)",
        "  uncovered (dropped, unmatched: drop):",
        "      memory[*].command  (2)",
        "      project.root  (1)",
    ]:
        assert line in lines, line
    for value in _input_texts() | {digest("task_1"), digest("task_2"), "2025-12-18"}:
        assert value not in text, value
    assert listing(work) == {"p.yaml", "d.json", "k.key"}


# ---- exit codes ---------------------------------------------------------------------------

def test_exit_1_for_a_bad_policy(work: Path) -> None:
    (work / "bad.yaml").write_text("policy: [\n", encoding="utf-8")
    done = run(work, "apply", "--policy", "bad.yaml", "d.json")
    assert done.returncode == 1
    assert done.stderr.decode().startswith("learnexport: bad.yaml:2:1: not valid YAML: ")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("apply", "d.json"), "Missing option '--policy'"),
        (("apply", "--policy", "p.yaml"), "Missing argument 'INPUT'"),
        (("apply", "--policy", "p.yaml", "d.json", "--bogus"), "No such option: --bogus"),
    ],
)
def test_exit_2_for_usage_errors(work: Path, args: tuple[str, ...], says: str) -> None:
    done = run(work, *args)
    assert done.returncode == 2, done.stderr
    assert says in (done.stderr + done.stdout).decode()
    assert b"Traceback" not in done.stderr
    assert listing(work) == {"p.yaml", "d.json", "k.key"}


def test_exit_3_when_the_result_fails_a_shipped_schema(work: Path) -> None:
    # policy-1 is a shipped schema (the policy format's own); a memory document is no policy
    (work / "s.yaml").write_text(
        "policy: s\nversion: 1.0.0\nschema: policy-1\nunmatched: keep\nrules:\n"
        "  - {id: outcome, select: 'memory[*].outcome', action: keep}\n", encoding="utf-8")
    (work / "m.json").write_text(json.dumps({"memory": [{"outcome": "success"}]}),
                                 encoding="utf-8")
    done = run(work, "apply", "--policy", "s.yaml", "m.json", "-o", "out.json")
    assert done.returncode == 3, done.stderr
    lines = done.stderr.decode().splitlines()
    assert lines[0].startswith("learnexport: the result does not pass schema policy-1 (")
    assert "  - policy: missing required key 'policy'; add it" in lines
    assert "  - rules: missing required key 'rules'; add it" in lines
    assert not (work / "out.json").exists()


def test_exit_3_in_process() -> None:
    with pytest.raises(SchemaCheckError) as caught:
        schemacheck.check({"policy": "x", "version": "one", "rules": []}, "policy-1")
    error = caught.value
    assert error.exit_code == 3
    assert error.problems == ["version: 'one' is not a semantic version; write MAJOR.MINOR."
                              'PATCH in quotes, e.g. "1.0.0"']
    assert error.message == "the result does not pass schema policy-1 (1 problem)"
    schemacheck.check({"policy": "x", "version": "1.0.0", "rules": []}, "policy-1")


def test_exit_4_when_the_leak_check_finds_a_kept_path(work: Path) -> None:
    (work / "leak.yaml").write_text(
        "policy: leak\nversion: 1.0.0\nunmatched: drop\nrules:\n"
        "  - {id: commands, select: 'memory[*].command', action: keep}\n", encoding="utf-8")
    done = run(work, "apply", "--policy", "leak.yaml", "d.json", "-o", "out.json")
    assert done.returncode == 4, done.stderr
    stderr = done.stderr.decode()
    assert stderr.startswith("learnexport: ")
    assert "/home/ann/acme/x.py" not in stderr  # the finding is named, not printed whole
    assert not (work / "out.json").exists()


# ---- keys ---------------------------------------------------------------------------------

def test_key_new_creates_a_private_key_and_never_overwrites(tmp_path: Path) -> None:
    done = run(tmp_path, "key", "new", "sub/my.key")
    assert done.returncode == 0, done.stderr
    key = tmp_path / "sub" / "my.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = key.read_text("ascii").strip()
    assert len(secret) == 64 and int(secret, 16) >= 0
    shown_id = key_id(secret.encode())
    assert done.stdout.decode() == (
        f"created sub/my.key (key id {shown_id}); keep it out of version control\n")
    assert run(tmp_path, "key", "id", "sub/my.key").stdout.decode() == shown_id + "\n"
    assert secret not in done.stdout.decode()

    again = run(tmp_path, "key", "new", "sub/my.key")
    assert again.returncode == 1
    assert again.stderr.decode() == (
        "learnexport: sub/my.key: a key file is already there; not overwritten. Delete it "
        "first to rotate the key (old hashes will not match)\n")
    assert key.read_text("ascii").strip() == secret
    # a second key is another random key
    assert run(tmp_path, "key", "new", "other.key").returncode == 0
    assert (tmp_path / "other.key").read_text("ascii").strip() != secret


def test_a_readable_key_file_is_refused_with_the_chmod_hint(work: Path) -> None:
    (work / "k.key").chmod(0o644)
    done = run(work, *APPLY, "d.json", "-o", "out.json")
    assert done.returncode == 1
    assert done.stderr.decode() == (
        "learnexport: k.key: the hash key file can be read by others (mode 0644). Make it "
        "private: chmod 600 k.key\n")
    assert not (work / "out.json").exists()


def test_the_key_comes_from_the_policy_when_no_file_is_given(work: Path) -> None:
    (work / "pk.yaml").write_text(
        POLICY.replace("unmatched: drop\n", "unmatched: drop\nhash: {key: 'file:k.key'}\n"),
        encoding="utf-8")
    done = run(work, "apply", "--policy", "pk.yaml", "d.json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED
    env_policy = POLICY.replace("unmatched: drop\n",
                                "unmatched: drop\nhash: {key: 'env:LEARNEXPORT_TEST_KEY'}\n")
    (work / "pe.yaml").write_text(env_policy, encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")},
           "LEARNEXPORT_TEST_KEY": KEY}
    done = subprocess.run([str(COMMAND), "apply", "--policy", "pe.yaml", "d.json"], cwd=work,
                          env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == EXPECTED


def test_jsonl_applies_the_policy_to_each_line_and_sums_the_report(tmp_path: Path) -> None:
    """apply --jsonl: one document per line, written line by line (gzip on .gz), the
    reports summed; a bad line stops the run naming its number, and nothing is written."""
    import gzip
    import json
    import subprocess
    import sys

    lines = [{"id": i, "email": f"u{i}@example.com", "ssn": "123-45-6789"} for i in range(5)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines) + "\n")
    (tmp_path / "p.yaml").write_text(
        "policy: t\nversion: 1.0.0\nunmatched: keep\nrules:\n"
        "  - {id: e, select: email, action: replace, value: '<email>'}\n"
        "  - {id: s, select: ssn, action: drop}\n")
    command = [str(Path(sys.executable).with_name("learnexport")), "apply", "--jsonl",
               "--policy", "p.yaml", "in.jsonl"]
    plain = subprocess.run([*command, "-o", "out.jsonl"], cwd=tmp_path, capture_output=True,
                           text=True)
    assert plain.returncode == 0, plain.stderr
    assert [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()] == [
        {"id": i, "email": "<email>"} for i in range(5)]
    done = subprocess.run([*command, "-o", "out.jsonl.gz", "--report", "r.json"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    written = [json.loads(x) for x in gzip.decompress((tmp_path / "out.jsonl.gz")
                                                      .read_bytes()).splitlines()]
    assert written == [{"id": i, "email": "<email>"} for i in range(5)]
    upper = subprocess.run([*command, "-o", "OUT.JSONL.GZ"], cwd=tmp_path,
                           capture_output=True, text=True)  # .GZ is gzip too (docio.gzipped)
    assert upper.returncode == 0 and gzip.decompress(
        (tmp_path / "OUT.JSONL.GZ").read_bytes()).splitlines() == [
        json.dumps(x, separators=(",", ":")).encode() for x in written]
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(r["id"], r["matched"], r["dropped"]) for r in report["rules"]] == [
        ("e", 5, 0), ("s", 5, 5)]
    assert report["unmatched"]["paths"] == {"id": 5}
    source.write_text(json.dumps(lines[0]) + "\n{not json\n")
    bad = subprocess.run([*command, "-o", "bad.jsonl"], cwd=tmp_path, capture_output=True,
                         text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("learnexport: in.jsonl:2:"), bad.stderr
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "bad.jsonl").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    # to stdout too, all or nothing: a pipe never gets the lines before the failing one
    piped = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert piped.returncode == 1 and piped.stdout == "", piped.stdout
    assert piped.stderr.startswith("learnexport: in.jsonl:2:")
    # a report that cannot be written leaves no output either (it was written after it)
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    for where in ((), ("-o", "late.jsonl")):
        late = subprocess.run([*command, *where, "--report", "no/such/r.json"], cwd=tmp_path,
                              capture_output=True, text=True)
        assert late.returncode == 1 and late.stdout == "", late.stdout
        assert "no/such/r.json: the folder does not exist" in late.stderr
    assert not (tmp_path / "late.jsonl").exists()
    # an error placed in the policy names the input line too
    source.write_text(json.dumps({"score": 1.5}) + "\n\n" + json.dumps({"score": ["x"]}) + "\n")
    (tmp_path / "p2.yaml").write_text(
        "policy: t\nversion: 1.0.0\nunmatched: keep\nrules:\n"
        "  - {id: e, select: score, action: round, step: 1}\n")
    rule_failed = subprocess.run([*command[:-2], "p2.yaml", "in.jsonl"], cwd=tmp_path,
                                 capture_output=True, text=True)
    assert rule_failed.returncode == 1 and rule_failed.stdout == ""
    assert rule_failed.stderr.startswith('learnexport: p2.yaml:5:5: rule "e": at score: ')
    assert "(in line 3 of in.jsonl)" in rule_failed.stderr, rule_failed.stderr  # (a blank 2)


def test_a_stamping_policy_stamps_what_was_collected_and_leaves_the_input_alone(
        tmp_path: Path) -> None:
    """The engine works on the parsed input in place only when no stamp must read the
    input's project and collection sections after the rules removed them."""
    project = tmp_path / "proj"
    assert run(tmp_path, "sample", str(project), "--size", "small").returncode == 0
    collected = run(tmp_path, "collect", str(project), "-o", "doc.json")
    assert collected.returncode == 0, collected.stderr
    # the raw collected document is for its owner only (it was 0644 like an export)
    assert stat.S_IMODE((tmp_path / "doc.json").stat().st_mode) == 0o600
    assert run(tmp_path, "key", "new", "k.key").returncode == 0
    before = (tmp_path / "doc.json").read_bytes()
    done = run(tmp_path, "apply", "--policy", str(POLICIES / "default.yaml"), "doc.json",
               "--hash-key-file", "k.key", "-o", "out.json")
    assert done.returncode == 0, done.stderr
    metadata = json.loads((tmp_path / "out.json").read_bytes())["export_metadata"]
    source = json.loads(before)
    assert metadata["framework_version"] == source["project"]["framework_version"]
    assert metadata["sources"]["memory"]["records"] == len(source["memory"]) > 0
    assert (tmp_path / "doc.json").read_bytes() == before


def test_jsonl_writes_like_apply_and_blames_a_damaged_input_on_the_input(tmp_path: Path) -> None:
    """apply --jsonl writes through the same atomic output as apply (the usual file mode,
    a pipe refused, never replaced); a damaged .gz input is an input error naming it."""
    import gzip

    (tmp_path / "p.yaml").write_text(
        "policy: t\nversion: 1.0.0\nunmatched: keep\nrules:\n"
        "  - {id: k, select: a, action: keep}\n")
    (tmp_path / "in.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    base = ["apply", "--jsonl", "--policy", "p.yaml"]
    done = run(tmp_path, *base, "in.jsonl", "-o", "out.jsonl")
    assert done.returncode == 0, done.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == 0o644 & ~umask  # was 0600
    os.mkfifo(tmp_path / "pipe")
    refused = run(tmp_path, *base, "in.jsonl", "-o", "pipe")
    assert refused.returncode == 1 and b"is not a regular file" in refused.stderr
    assert stat.S_ISFIFO((tmp_path / "pipe").lstat().st_mode)
    whole = gzip.compress(b'{"a": 1}\n' * 2000)
    for name, data in (("cut.jsonl.gz", whole[: len(whole) // 2]), ("fake.jsonl.gz", b"no")):
        (tmp_path / name).write_bytes(data)
        bad = run(tmp_path, *base, name, "-o", "x.jsonl")
        assert bad.returncode == 1, bad.stderr
        assert bad.stderr.startswith(f"learnexport: {name}: cannot be read".encode())
        assert b"Traceback" not in bad.stderr and not (tmp_path / "x.jsonl").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
