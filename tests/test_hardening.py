"""Bad input, nothing lost: the collector and the engine survive hostile projects, inputs
and outputs, with a clear one-paragraph error or a recorded problem, never a traceback,
never a partial output file, never a change to ``.tapps-agents/`` outside ``exports/``.

Permissions as root: CI runs as root, for whom file modes are not enforced (root holds
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH). The unreadable-file and read-only-folder cases
therefore run the command with those two capabilities dropped from its bounding set
(``prctl(PR_CAPBSET_DROP)`` before ``exec``): root then gets exactly the owner's mode
bits, like any user. Where that is not possible (no CAP_SETPCAP) they are skipped; as
another user plain ``chmod`` is enough. A full disk is simulated three ways: ``ENOSPC``
raised by ``fsync`` in-process, a real ``EFBIG`` from a file size limit
(``RLIMIT_FSIZE``), and a real ``ENOSPC`` from a 4 KiB tmpfs mounted in a private mount
namespace (``unshare -m``; skipped where namespaces are not allowed).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from learnexport import docio, exporter
from learnexport.errors import InputError, LearnexportError, OutputError
from learnexport.sample import generate

COMMAND = str(Path(sys.executable).parent / "learnexport")
T = ".tapps-agents"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")}


def _run(*args: object, cwd: Path, preexec: Callable[[], None] | None = None,
         prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, COMMAND, *map(str, args)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=120, preexec_fn=preexec)


def _tree(root: Path) -> dict[str, str]:
    """``.tapps-agents/`` outside ``exports/``: each entry's kind, mode and content."""
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root / T):
        here = Path(folder)
        if here == root / T:
            dirs[:] = [d for d in dirs if d != "exports"]
        for name in [*dirs, *files]:
            path = here / name
            info = path.lstat()
            if path.is_symlink():
                what = f"link:{os.readlink(path)}"
            elif stat.S_ISREG(info.st_mode):
                what = hashlib.sha256(path.read_bytes()).hexdigest() if info.st_mode & 0o444 \
                    else f"size:{info.st_size}"
            else:
                what = "other"
            out[str(path.relative_to(root))] = f"{stat.filemode(info.st_mode)} {what}"
    return out


def _partials(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.is_dir() for p in folder.rglob("*.part")]


def _clean_failure(result: subprocess.CompletedProcess[str], code: int) -> str:
    """Exit ``code`` with one paragraph (no traceback, no internal error); that text."""
    assert result.returncode == code, (result.returncode, result.stderr)
    err = result.stderr
    assert err.startswith("learnexport: ") and err.endswith("\n"), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.count("learnexport: ") == 1, err
    return err


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("hard") / "template", "small", 41).root


def _copy(template: Path, where: Path) -> Path:
    root = where / "project"
    shutil.copytree(template, root, symlinks=True, ignore=shutil.ignore_patterns("exports"))
    return root


def _agents(root: Path) -> Path:
    return sorted((root / T / "analytics" / "history").glob("agents-*.jsonl"))[0]


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _replace(root: Path, rel: str, old: str, new: str) -> None:
    path = root / T / rel
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def _link(root: Path, rel: str, target: str) -> None:
    path = root / T / rel
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    os.symlink(target, path)


def _fifo(root: Path, rel: str) -> None:
    (root / T / rel).unlink()
    os.mkfifo(root / T / rel)


def _folder(root: Path, rel: str) -> None:
    (root / T / rel).unlink()
    (root / T / rel).mkdir()


GARBAGE = random.Random(7).randbytes(4096)
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000

# name: (how the project is spoiled, the source, its status, a word of its problem)
SPOILED: dict[str, tuple[Callable[[Path], Any], str, str, str]] = {
    "truncated-jsonl-line": (lambda r: _append(_agents(r), '{"agent_id": "reviewer", "dura'),
                             "analytics_agents", "ok", "truncated last line"),
    "truncated-json-file": (lambda r: (r / T / "memory/memories.json").write_text(
        (r / T / "memory/memories.json").read_text()[:5000]), "memory", "ok", "not JSON"),
    "binary-jsonl": (lambda r: (r / T / "learning/outcomes.jsonl").write_bytes(GARBAGE),
                     "outcomes", "ok", "not UTF-8"),
    "binary-json": (lambda r: (r / T / "learning/patterns.json").write_bytes(GARBAGE),
                    "patterns", "unreadable", "not UTF-8"),
    "binary-yaml": (lambda r: (r / T / "config.yaml").write_bytes(GARBAGE),
                    "config", "unreadable", "not UTF-8"),
    "nan": (lambda r: _append(r / T / "learning/expert_performance.jsonl",
                              '{"expert_id": "e", "confidence": NaN}\n'),
            "expert_performance", "ok", "NaN"),
    "infinity": (lambda r: _replace(r, "memory/memories.json", '"quality_score": ',
                                    '"quality_score": Infinity, "x": '),
                 "memory", "ok", "Infinity"),
    "duplicate-keys-jsonl": (lambda r: _append(r / T / "learning/weight_adjustments.jsonl",
                                               '{"expert_id": "a", "expert_id": "b"}\n'),
                             "weight_adjustments", "ok", "duplicate key"),
    "duplicate-keys-json": (lambda r: _replace(r, "learning/patterns.json", '"pattern_id": ',
                                               '"usage_count": 1, "usage_count": '),
                            "patterns", "ok", "duplicate key"),
    "nested-100000-json-file": (lambda r: (r / T / "memory/memories.json").write_text(
        DEEP_ARRAY), "memory", "unreadable", "nested too deeply"),
    "nested-100000-jsonl-line": (lambda r: _append(r / T / "learning/outcomes.jsonl",
                                                   DEEP_OBJECT + "\n"),
                                 "outcomes", "ok", "nested too deeply"),
    "nested-100000-yaml": (lambda r: (r / T / "config.yaml").write_text(
        f"framework_version: {DEEP_ARRAY}\n"), "config", "unreadable", "nested too deeply"),
    "symlink-loop-self": (lambda r: _link(r, "learning/patterns.json", "patterns.json"),
                          "patterns", "unreadable", "symlink loop"),
    "symlink-loop-pair": (lambda r: (_link(r, "memory/memories.json", "other.json"),
                                     os.symlink("memories.json", r / T / "memory/other.json")),
                          "memory", "unreadable", "symlink loop"),
    "symlink-loop-folder": (lambda r: _link(r, "analytics/history", "history"),
                            "analytics_agents", "unreadable", "symlink loop"),
    "symlink-out-of-project": (lambda r: _link(r, "memory/memories.json", "/etc/hostname"),
                               "memory", "unreadable", "outside the project"),
    "fifo-for-file": (lambda r: _fifo(r, "memory/memories.json"),
                      "memory", "unreadable", "not a regular file"),
    "folder-for-file": (lambda r: _folder(r, "learning/weight_adjustments.jsonl"),
                        "weight_adjustments", "unreadable", "not a regular file"),
}


@pytest.mark.parametrize("case", sorted(SPOILED))
def test_a_spoiled_source_is_a_recorded_problem(case: str, template: Path,
                                                tmp_path: Path) -> None:
    spoil, source, status, word = SPOILED[case]
    root = _copy(template, tmp_path)
    spoil(root)
    before = _tree(root)
    prepared = exporter.prepare(root, output=tmp_path / "out.json")
    entry = prepared.sources[source]
    assert entry["status"] == status
    assert any(word in problem for problem in entry["problems"]), entry["problems"]
    metadata = prepared.result.document["export_metadata"]
    assert metadata["sources"][source]["problems"] >= 1
    assert any(source in warning for warning in metadata["warnings"])
    exporter.write(prepared)
    assert json.loads((tmp_path / "out.json").read_bytes()) == prepared.result.document
    assert _tree(root) == before
    assert _partials(tmp_path) == []


def test_every_spoiled_source_at_once_through_the_command(template: Path,
                                                          tmp_path: Path) -> None:
    root = _copy(template, tmp_path)
    spoiled = {"truncated-jsonl-line", "binary-json", "nan", "duplicate-keys-jsonl",
               "nested-100000-json-file", "nested-100000-yaml", "nested-100000-jsonl-line"}
    for case in sorted(spoiled):  # each spoils another file
        SPOILED[case][0](root)
    _fifo(root, "capabilities/capabilities.json")
    before = _tree(root)
    result = _run("export", root, "--yes", "-o", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert all(line.startswith("learnexport: warning: ")
               for line in result.stderr.splitlines()), result.stderr
    sources = json.loads((tmp_path / "out.json").read_text())["export_metadata"]["sources"]
    assert {name for name, s in sources.items() if s["problems"] or s["status"] != "ok"} == {
        "analytics_agents", "patterns", "expert_performance", "weight_adjustments", "memory",
        "config", "outcomes", "capabilities"}
    assert _tree(root) == before and _partials(tmp_path, root) == []


# ---- a 100 MB single line --------------------------------------------------------------------

RUSAGE = """\
import resource, subprocess, sys, time
start = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr)
sys.exit(done.returncode)
"""


def test_a_100_mb_line_is_skipped_without_being_held(template: Path, tmp_path: Path) -> None:
    root = _copy(template, tmp_path)
    agents = _agents(root)
    lines = agents.read_text().count("\n")
    with agents.open("ab") as handle:  # a few big writes: fast
        handle.write(b'{"agent_id": "reviewer", "agent_name": "reviewer", "note": "')
        block = b"A" * (1 << 20)
        for _ in range(100):
            handle.write(block)
        handle.write(b'", "duration": 1.0, "success": true, "timestamp": "2026-01-05T10:00:00"}\n')
        handle.write(b'{"agent_id": "tester", "agent_name": "tester", "duration": 2.0, '
                     b'"success": true, "timestamp": "2026-01-05T10:00:01"}\n')
    before = _tree(root)
    done = subprocess.run([sys.executable, "-c", RUSAGE, COMMAND, "export", str(root), "--yes",
                           "-o", str(tmp_path / "out.json")], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    seconds, max_rss_kib = done.stdout.split()
    assert float(seconds) < 20, seconds  # about 2 s on an idle machine
    assert int(max_rss_kib) < 300 * 1024, max_rss_kib
    source = json.loads((tmp_path / "out.json").read_text())["export_metadata"]["sources"][
        "analytics_agents"]
    assert source["problems"] == 1
    assert "longer than 8 MiB" in exporter.prepare(root).sources["analytics_agents"][
        "problems"][0]
    assert source["records"] > lines  # the line after the long one was read
    assert _tree(root) == before


# ---- every field with the wrong type --------------------------------------------------------

# The documented fields of each source (docs/tapps-agents-formats.md), each with a value
# of another JSON type.
WRONG: dict[str, dict[str, Any]] = {
    "capabilities": {"capability_id": 7, "agent_id": 7, "success_rate": "high",
                     "average_duration": True, "quality_score": "good", "usage_count": "many",
                     "last_improved": 7, "refinement_history": "none", "metadata": "x"},
    "patterns": {"pattern_id": 7, "pattern_type": 7, "code_snippet": 7, "context": 7,
                 "quality_score": "q", "usage_count": 1.5, "success_rate": "s",
                 "learned_from": "t", "metadata": [], "security_score": "s",
                 "is_anti_pattern": "yes", "failure_reasons": "r", "rejection_count": "r"},
    "memory": {"task_id": 7, "agent_id": 7, "command": 7, "timestamp": 7, "outcome": 7,
               "quality_score": "q", "key_learnings": "k", "patterns_used": "p",
               "similar_tasks": "s", "context": [], "metadata": []},
    "analytics_agents": {"agent_id": 7, "agent_name": 7, "duration": "d", "success": "yes",
                         "timestamp": 7},
    "analytics_workflows": {"workflow_id": 7, "workflow_name": 7, "duration": "d",
                            "steps": "s", "success": 1, "timestamp": 7},
    "outcomes": {"workflow_id": 7, "file_path": 7, "initial_scores": [], "final_scores": [],
                 "iterations": "i", "expert_consultations": "e", "time_to_correctness": "t",
                 "first_pass_success": "yes", "timestamp": 7, "agent_id": 7,
                 "prompt_hash": 7},
    "expert_performance": {"expert_id": 7, "domain": 7, "confidence": "c", "query": 7,
                           "timestamp": 7},
    "weight_adjustments": {"expert_id": 7, "old_weight": "o", "new_weight": "n",
                           "reason": 7, "timestamp": 7},
}
FILES = {"patterns": "learning/patterns.json", "memory": "memory/memories.json",
         "outcomes": "learning/outcomes.jsonl",
         "expert_performance": "learning/expert_performance.jsonl",
         "weight_adjustments": "learning/weight_adjustments.jsonl"}


def _records(path: Path) -> list[dict[str, Any]]:
    text = path.read_text("utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def _write_records(path: Path, records: list[dict[str, Any]]) -> None:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    else:
        path.write_text(json.dumps(records), "utf-8")


def _one_good_and_each_field_wrong(root: Path) -> None:
    """Each source: its first record, then one copy per field with that field wrong."""
    history = root / T / "analytics" / "history"
    paths = {name: root / T / rel for name, rel in FILES.items()}
    paths["analytics_agents"], paths["analytics_workflows"] = (
        sorted(history.glob(f"{kind}-*.jsonl"))[0] for kind in ("agents", "workflows"))
    for extra in sorted(history.glob("*.jsonl")):
        if extra not in paths.values():
            extra.unlink()
    caps_path = root / T / "capabilities" / "capabilities.json"
    caps = json.loads(caps_path.read_text())
    good = caps["metrics"][0]
    caps["metrics"] = [good, *({**good, f: v} for f, v in WRONG["capabilities"].items())]
    caps_path.write_text(json.dumps(caps))
    for name, path in paths.items():
        first = _records(path)[0]
        _write_records(path, [first, *({**first, f: v} for f, v in WRONG[name].items())])


def test_every_field_with_the_wrong_type_is_a_recorded_problem(template: Path,
                                                               tmp_path: Path) -> None:
    root = _copy(template, tmp_path)
    _one_good_and_each_field_wrong(root)
    before = _tree(root)
    prepared = exporter.prepare(root)
    for name, fields in WRONG.items():
        entry = prepared.sources[name]
        assert entry["records"] == 1, (name, entry)
        assert len(entry["problems"]) == len(fields), (name, entry["problems"])
        for problem, field in zip(entry["problems"], fields, strict=True):
            assert f'"{field}"' in problem, (name, problem)
    result = _run("export", root, "--yes", "-o", "out.json", cwd=tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert _tree(root) == before


@pytest.mark.parametrize(("rel", "content", "word"), [
    ("capabilities/capabilities.json", '{"version": 5, "metrics": {}}', '"version"'),
    ("capabilities/capabilities.json", "[1, 2]", "not a JSON object"),
    ("learning/patterns.json", '{"patterns": []}', "not a JSON array"),
    ("memory/memories.json", '"memories"', "not a JSON array"),
    ("memory/memories.json", "[1, null, [], true]", "not an object"),
    ("config.yaml", "framework_version: 3.6\n", "framework_version"),
])
def test_a_whole_file_of_the_wrong_shape_is_a_recorded_problem(
        template: Path, tmp_path: Path, rel: str, content: str, word: str) -> None:
    root = _copy(template, tmp_path)
    (root / T / rel).write_text(content)
    prepared = exporter.prepare(root)
    problems = [p for s in prepared.sources.values() for p in s["problems"]]
    assert any(word in p for p in problems), problems


# Values of the right JSON type that an action cannot treat: the run stops with an error
# naming the rule and the path (exit 1), nothing is written.
NESTED = {
    "timestamp-not-a-time": (
        "memory/memories.json", lambda r: [{**r[0], "timestamp": "yesterday"}, *r[1:]],
        'rule "memory-day": at memory[0].timestamp'),
    "refinement-percent-text": (
        "capabilities/capabilities.json",
        lambda c: {**c, "metrics": [{**c["metrics"][1], "refinement_history": [
            {"improvement_type": "feedback_loop", "improvement_percent": "high"}]}]},
        'rule "capability-rows"'),
    "vulnerability-tag-object": (
        "learning/patterns.json",
        lambda r: [{**r[0], "metadata": {"vulnerabilities": [{"cwe": 89}]}}, *r[1:]],
        'rule "vulnerability-tags": at patterns[0].metadata.vulnerabilities[0]'),
}


@pytest.mark.parametrize("case", sorted(NESTED))
def test_a_value_an_action_cannot_treat_is_a_clear_error(case: str, template: Path,
                                                         tmp_path: Path) -> None:
    rel, change, where = NESTED[case]
    root = _copy(template, tmp_path)
    path = root / T / rel
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    with pytest.raises(LearnexportError) as caught:
        exporter.prepare(root)
    assert where in caught.value.render()
    if case == "timestamp-not-a-time":
        result = _run("export", root, "--yes", "-o", "out.json", cwd=tmp_path)
        assert where in _clean_failure(result, 1)
        assert not (tmp_path / "out.json").exists()


# ---- documents given to apply ---------------------------------------------------------------


@pytest.mark.parametrize(("content", "word"), [
    ('{"a": NaN}', "NaN"), ('{"a": [Infinity]}', "Infinity"), ('{"a": 1, "a": 2}', "duplicate"),
    ('{"a": [1, 2', "not valid JSON"), (GARBAGE, "not UTF-8"),
    (DEEP_ARRAY, "nested too deeply"), (DEEP_OBJECT, "nested too deeply"),
])
def test_a_bad_document_is_refused_with_its_file(tmp_path: Path, content: str | bytes,
                                                 word: str) -> None:
    path = tmp_path / "d.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(InputError) as caught:
        docio.read_document(str(path))
    assert word in caught.value.render() and str(path) in caught.value.render()


def test_apply_refuses_json_nested_100000_deep(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("policy: t\nversion: 1.0.0\nrules:\n"
                                     "  - {id: k, select: a, action: keep}\n")
    (tmp_path / "d.json").write_text('{"a": ' + DEEP_OBJECT + "}")
    result = _run("apply", "-p", "p.yaml", "d.json", "-o", "out.json", cwd=tmp_path)
    assert "nested too deeply" in _clean_failure(result, 1)
    assert sorted(os.listdir(tmp_path)) == ["d.json", "p.yaml"]


# ---- permissions (unreadable files, read-only folders) ----------------------------------------

PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _drop_dac() -> None:
    """In the child, before exec: drop root's power to ignore file modes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture(scope="module")
def modes_enforced(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], None] | None:
    """The preexec that makes file modes bind the command (None when they already do);
    skips when modes cannot be enforced here."""
    probe = tmp_path_factory.mktemp("probe") / "secret"
    probe.write_text("x")
    probe.chmod(0)
    preexec = _drop_dac if os.geteuid() == 0 else None
    try:
        done = subprocess.run(["cat", str(probe)], capture_output=True, preexec_fn=preexec)
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop CAP_DAC_OVERRIDE here: {exc}")
    if done.returncode == 0:
        pytest.skip("file modes are not enforced for this user")
    return preexec


def test_unreadable_files_and_folders_are_recorded_problems(
        template: Path, tmp_path: Path, modes_enforced: Callable[[], None] | None) -> None:
    root = _copy(template, tmp_path)
    locked = [root / T / rel for rel in ("learning/patterns.json", "learning/outcomes.jsonl",
                                         "config.yaml", "memory", "analytics/history")]
    for path in locked:
        path.chmod(0)
    try:
        before = _tree(root)
        result = _run("export", root, "--yes", "-o", "out.json", cwd=tmp_path,
                      preexec=modes_enforced)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        sources = json.loads((tmp_path / "out.json").read_text())["export_metadata"]["sources"]
        for name in ("patterns", "outcomes", "config", "memory", "analytics_agents",
                     "analytics_workflows"):
            assert (sources[name]["status"], sources[name]["problems"]) == ("unreadable", 1)
        collected = _run("collect", root, "-o", "raw.json", cwd=tmp_path,
                         preexec=modes_enforced)
        assert collected.returncode == 0, collected.stderr
        raw = json.loads((tmp_path / "raw.json").read_text())["collection"]["sources"]
        for name in ("patterns", "outcomes", "config", "memory", "analytics_agents"):
            assert raw[name]["problems"][0].endswith(": permission denied"), raw[name]
        assert _tree(root) == before
    finally:
        for path in locked:
            path.chmod(0o755)


def test_an_unreadable_tapps_agents_folder_is_a_clear_error(
        template: Path, tmp_path: Path, modes_enforced: Callable[[], None] | None) -> None:
    root = _copy(template, tmp_path)
    (root / T).chmod(0)
    try:
        result = _run("export", root, "--yes", "-o", "out.json", cwd=tmp_path,
                      preexec=modes_enforced)
        assert "permission denied" in _clean_failure(result, 1).splitlines()[-1]
    finally:
        (root / T).chmod(0o755)
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("where", ["given", "default"])
def test_a_read_only_output_folder_writes_nothing(
        template: Path, tmp_path: Path, modes_enforced: Callable[[], None] | None,
        where: str) -> None:
    root = _copy(template, tmp_path)
    exports = root / T / "exports"
    assert _run("export", root, "--yes", "-o", "first.json", cwd=tmp_path).returncode == 0
    folder = tmp_path / "ro" if where == "given" else exports
    folder.mkdir(exist_ok=True)
    listing = sorted(os.listdir(folder))
    folder.chmod(0o555)
    try:
        args = ("-o", folder / "out.json") if where == "given" else ()
        result = _run("export", root, "--yes", *args, cwd=tmp_path, preexec=modes_enforced)
        err = _clean_failure(result, 1)
        assert "cannot write there (permission denied); nothing was written" in err
        assert sorted(os.listdir(folder)) == listing
    finally:
        folder.chmod(0o755)


def test_a_read_only_exports_folder_without_a_key_creates_no_key(
        template: Path, tmp_path: Path, modes_enforced: Callable[[], None] | None) -> None:
    root = _copy(template, tmp_path)
    exports = root / T / "exports"
    exports.mkdir()
    exports.chmod(0o555)
    try:
        result = _run("export", root, "--yes", "-o", "out.json", cwd=tmp_path,
                      preexec=modes_enforced)
        assert "cannot create the key file" in _clean_failure(result, 1)
    finally:
        exports.chmod(0o755)
    assert os.listdir(exports) == [] and not (tmp_path / "out.json").exists()


def test_an_output_folder_that_takes_no_files_writes_nothing(template: Path,
                                                             tmp_path: Path) -> None:
    # /proc refuses new files even to root: a read-only folder that needs no privileges
    # (ENOENT for root, EACCES for another user)
    result = _run("export", template, "--yes", "-o", "/proc/learnexport-export.json",
                  cwd=tmp_path)
    err = _clean_failure(result, 1)
    assert ("cannot create a file in that folder; nothing was written" in err
            or "cannot write there (permission denied); nothing was written" in err), err


@pytest.mark.parametrize("command", ["aggregate", "apply", "collect", "dashboard", "export",
                                     "migrate"])
def test_a_device_or_pipe_is_never_replaced(template: Path, tmp_path: Path,
                                            command: str) -> None:
    """Every command writes through the same atomic output: never into a device or pipe
    (renaming onto it as root would replace it)."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    (tmp_path / "p.yaml").write_text("policy: t\nversion: 1.0.0\nrules:\n"
                                     "  - {id: k, select: a, action: keep}\n")
    (tmp_path / "d.json").write_text('{"a": 1}')
    if command in ("aggregate", "migrate"):
        assert _run("export", template, "--yes", "-o", "e.json", cwd=tmp_path).returncode == 0
    args = {"apply": ["-p", "p.yaml", "d.json"], "collect": [str(template)],
            "dashboard": [str(template), "--format", "json"],
            "export": [str(template), "--yes"], "migrate": ["e.json", "--to", "1.1"],
            "aggregate": ["e.json", "--min-projects", "2"]}[command]
    result = _run(command, *args, "-o", "pipe", cwd=tmp_path)
    assert "is not a regular file" in _clean_failure(result, 1)
    assert stat.S_ISFIFO(pipe.lstat().st_mode) and _partials(tmp_path) == []


def test_a_file_where_the_output_folder_should_be_is_a_clear_error(template: Path,
                                                                   tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    result = _run("export", template, "--yes", "-o", "afile/out.json", cwd=tmp_path)
    _clean_failure(result, 1)


def test_a_new_folder_inside_a_read_only_one_is_a_clear_error(
        template: Path, tmp_path: Path, modes_enforced: Callable[[], None] | None) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        result = _run("export", template, "--yes", "-o", "ro/sub/out.json", cwd=tmp_path,
                      preexec=modes_enforced)
    finally:
        (tmp_path / "ro").chmod(0o755)
    _clean_failure(result, 1)


# ---- a full disk ------------------------------------------------------------------------------


def _enospc(*_: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_keeps_the_previous_export_whole(template: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = _copy(template, tmp_path)
    target = tmp_path / "out.json"
    target.write_bytes(b"the previous export\n")
    prepared = exporter.prepare(root, output=target)  # creates the project key first
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(OutputError) as caught:
        exporter.write(prepared)
    assert caught.value.render() == (f"{target}: the disk is full; nothing was written. "
                                     "Free some space, or write elsewhere")
    assert target.read_bytes() == b"the previous export\n"
    assert _partials(tmp_path) == []


def test_a_full_disk_while_creating_the_key_leaves_no_key(template: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    root = _copy(template, tmp_path)
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(OutputError) as caught:
        exporter.prepare(root)
    assert "cannot create the key file" in caught.value.render()
    assert os.listdir(root / T / "exports") == []  # no empty or partial key, no temp file


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_file_size_limit_mid_write_leaves_nothing(template: Path, tmp_path: Path) -> None:
    root = _copy(template, tmp_path)
    assert _run("key", "new", "k", cwd=tmp_path).returncode == 0
    result = _run("export", root, "--yes", "-o", "out.json", "--hash-key-file", "k",
                  cwd=tmp_path, preexec=_file_size_limit)
    assert "cannot write: File too large; nothing was written" in _clean_failure(result, 1)
    assert sorted(os.listdir(tmp_path)) == ["k", "project"]


def _namespace() -> tuple[str, ...]:
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    return ("unshare", "-m") if os.geteuid() == 0 else ("unshare", "-rm")


TMPFS = """\
mount -t tmpfs -o size=4k tmpfs "$1" || exit 99
"$2" export "$3" --yes -o "$1/out.json"; rc=$?
echo "left: $(ls -A "$1")"
exit $rc
"""


def test_a_really_full_disk_leaves_nothing(template: Path, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    root = _copy(template, tmp_path)
    done = subprocess.run([*_namespace(), "sh", "-c", TMPFS, "sh", str(tmp_path / "full"),
                           COMMAND, str(root)], capture_output=True, text=True, env=_env(),
                          timeout=120)
    if done.returncode == 99 or "unshare:" in done.stderr:
        pytest.skip(f"no private tmpfs here: {done.stderr.strip()}")
    assert done.stdout == "left: \n"
    assert "the disk is full; nothing was written" in _clean_failure(done, 1)


# ---- SIGINT ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def typical(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("typical") / "project", "typical", 3).root


def test_sigint_mid_export_exits_130_and_writes_nothing(typical: Path, tmp_path: Path) -> None:
    key = typical / T / "exports" / ".hash-key"
    assert not key.exists()
    before = _tree(typical)
    process = subprocess.Popen([COMMAND, "export", str(typical), "--yes", "-o", "out.json"],
                               cwd=tmp_path, env=_env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not key.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)  # the key is made after collecting, before the policy runs
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert (out, err) == ("", "learnexport: interrupted; nothing was written\n")
    assert sorted(os.listdir(tmp_path)) == []
    assert _partials(typical / T / "exports") == []
    assert _tree(typical) == before


def test_sigint_while_starting_is_no_traceback(tmp_path: Path) -> None:
    # What the console script (learnexport.entry:main) does, with Ctrl-C arriving while
    # typer is imported.
    script = textwrap.dedent("""\
        import sys
        class CtrlC:
            def find_spec(self, name, path=None, target=None):
                if name == "typer":
                    raise KeyboardInterrupt
        sys.meta_path.insert(0, CtrlC())
        sys.argv = ["learnexport", "--version"]
        from learnexport.entry import main
        sys.exit(main())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert "Traceback" not in done.stderr and done.returncode == 130, done.stderr


def test_a_lone_surrogate_escape_in_a_source_is_collected_and_exported(
        template: Path, tmp_path: Path) -> None:
    """JSON may escape half a surrogate pair (\\ud800); UTF-8 cannot hold it. The collected
    document then escapes non-ASCII text instead of failing, and reads back the same."""
    root = _copy(template, tmp_path)
    memories = root / T / "memory" / "memories.json"
    records = json.loads(memories.read_text())
    records[0]["context"] = {"note": "half a pair \ud800 and café"}
    memories.write_text(json.dumps(records), encoding="ascii")  # json writes the escapes
    collected = _run("collect", root, "-o", "doc.json", cwd=tmp_path)
    assert collected.returncode == 0, collected.stderr
    document = json.loads((tmp_path / "doc.json").read_bytes())
    assert document["memory"][0]["context"]["note"] == "half a pair \ud800 and café"
    exported = _run("export", root, "--yes", "-o", "out.json", cwd=tmp_path)
    assert exported.returncode == 0 and "Traceback" not in exported.stderr, exported.stderr


@pytest.mark.parametrize(("name", "content", "said"), [
    ("big.json", '{"a": 1e400}', "number 1e400 is out of range"),
    ("inf.yaml", "a: .inf\n", ".inf is not a finite number"),
])
def test_a_number_json_cannot_carry_is_refused_not_written_as_null(
        tmp_path: Path, name: str, content: str, said: str) -> None:
    (tmp_path / "p.yaml").write_text("policy: t\nversion: 1.0.0\nrules:\n"
                                     "  - {id: k, select: a, action: keep}\n")
    (tmp_path / name).write_text(content)
    result = _run("apply", "-p", "p.yaml", name, cwd=tmp_path)
    assert said in _clean_failure(result, 1)


def test_a_gzip_that_expands_beyond_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "bomb.json.gz"
    packed.write_bytes(gzip.compress(b"[" + b"0," * 50_000 + b"0]"))
    monkeypatch.setattr(docio, "MAX_INPUT_BYTES", 60_000)  # the file itself is far smaller
    with pytest.raises(InputError, match="expands to more than"):
        docio.read_bytes(str(packed))


def test_running_out_of_memory_is_a_clear_error_not_a_bug(tmp_path: Path) -> None:
    """Under a memory limit, a big document fails with one line saying so (exit 1)."""
    import gzip

    (tmp_path / "p.yaml").write_text("policy: t\nversion: 1.0.0\nrules:\n"
                                     "  - {id: k, select: '[*]', action: keep}\n")
    (tmp_path / "big.json.gz").write_bytes(gzip.compress(b"[" + b'"xxxxxxxx",' * 8_000_000
                                                         + b"0]"))
    limit = 400 * 1024 * 1024

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = _run("apply", "-p", "p.yaml", "big.json.gz", "-o", "out.json", cwd=tmp_path,
                  preexec=cap)
    assert "ran out of memory" in _clean_failure(result, 1)
    assert not (tmp_path / "out.json").exists()


def test_the_machine_saying_no_is_a_clear_error_not_a_bug(tmp_path: Path) -> None:
    """A sample onto a file, a key file behind a symlink loop, stdout on a full device:
    one paragraph and exit 1, never 'internal error' (found in review)."""
    (tmp_path / "c.json").write_text("{}")
    assert "c.json: cannot write" in _clean_failure(
        _run("sample", "c.json", cwd=tmp_path), 1)
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    assert "loop1: the hash key file cannot be read" in _clean_failure(
        _run("key", "id", "loop1", cwd=tmp_path), 1)
    assert _run("key", "new", "k.key", cwd=tmp_path).returncode == 0
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            done = subprocess.run([COMMAND, "key", "id", "k.key"], cwd=tmp_path, env=_env(),
                                  stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        assert "<stdout>: No space left on device" in _clean_failure(done, 1)
