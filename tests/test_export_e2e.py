"""End to end: sample projects exported by the installed ``learnexport`` command.

Validation, no leaks (checked with this file's own regular expressions, not the engine's
detectors), the metadata, consent, formats, damaged and hostile projects, what is written
where, determinism and keys, migration, validation of tampered files, and the Python API
against the command. The figures themselves are checked in test_export_figures.py; the
fixtures (session samples and exports) are in conftest.py.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import learnexport
import pytest
import yaml
from learnexport import versions
from learnexport.errors import InputError, UsageError
from learnexport.sample import generate

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POLICY = ROOT / "policies" / "default.yaml"
API_DOC = ROOT / "docs" / "api.md"
SECTIONS = ("capability_metrics", "pattern_statistics", "learning_effectiveness",
            "usage_patterns")  # fmt: skip

# Our own idea of what must never leave the machine: written here, independent of
# learnexport.detectors, so a blind spot there is not a blind spot here.
LEAK_PATTERNS: dict[str, re.Pattern[str]] = {
    "unix path": re.compile(r"(?<![\w.])/(?:[\w.@~-]+/)+[\w.@-]*"),
    "home folder": re.compile(r"/home/|/Users/|/root/|~/|\\Users\\", re.I),
    "windows path": re.compile(r"\b[A-Za-z]:\\"),
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "url": re.compile(r"\b[a-z][a-z0-9+.-]*://", re.I),
    "aws key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "github token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    "sk- key": re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),
    "jwt": re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}"),
    "password": re.compile(r"passw(?:or)?d\s*[=:]", re.I),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|MIIE[A-Za-z0-9+/]{8}"),
    "ip address": re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"),
    "long token": re.compile(r"[A-Za-z0-9+/_=-]{32,}"),
    "code": re.compile(r"\bdef \w+\(|\bclass \w+[(:]|\bimport \w|\w+\(\w*\)\s*:"),
    "time of day": re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"),
}
# The only places where one of those shapes is legitimate, and why.
ALLOWED_SHAPES = {
    ("long token", "export_metadata.policy.sha256"),  # checked against the policy file
    ("time of day", "export_metadata.export_timestamp"),  # the export's own creation time
}


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) for every key and string value."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key)
            yield from _strings(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")


def _without_timestamp(doc: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    del out["export_metadata"]["export_timestamp"]
    return out


def _export_files(project: Path) -> list[str]:
    folder = project / ".tapps-agents" / "exports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- the session exports: small and typical --------------------------------------------


def test_export_passes_validate(cli, sample_export) -> None:
    result = cli.ok("validate", sample_export.path)
    assert result.stdout.strip() == f"{sample_export.path}: valid learning export, schema 1.0"


def test_export_goes_to_the_default_path(sample_export) -> None:
    project, path = sample_export.project, sample_export.path
    assert path.parent == project / ".tapps-agents" / "exports"
    assert path.name in {f"learning-export-{day}.json" for day in sample_export.days}
    assert sample_export.result.stdout == f"wrote {path} ({path.stat().st_size} bytes)\n"
    assert set(sample_export.doc) == {"export_metadata", *SECTIONS}


def test_export_writes_nothing_outside_exports(sample_export) -> None:
    assert sample_export.after == sample_export.before
    assert _export_files(sample_export.project) == [".hash-key", sample_export.path.name]


def test_no_planted_value_in_the_export(sample_export) -> None:
    info, text = sample_export.info, sample_export.text
    assert info is not None and len(info.planted) > 50
    decoded = "\n".join(s for _, s in _strings(sample_export.doc))
    lowered, decoded_lowered = text.lower(), decoded.lower()
    found = []
    for value in sorted(info.planted):
        escaped = json.dumps(value, ensure_ascii=False)[1:-1]
        if (value in text or escaped in text or value in decoded
                or value.lower() in lowered or value.lower() in decoded_lowered):
            found.append(value)
    assert found == []


def test_no_path_email_token_or_code_shape_in_the_export(sample_export) -> None:
    hits = []
    for path, text in _strings(sample_export.doc):
        for name, pattern in LEAK_PATTERNS.items():
            match = pattern.search(text)
            if match and (name, path) not in ALLOWED_SHAPES:
                hits.append(f"{path}: {name}: {match.group()[:12]}…")
    assert hits == []
    raw = sample_export.text  # the file as written, escapes and all
    assert not LEAK_PATTERNS["windows path"].search(raw.replace("\\\\", "\\"))
    assert "\\u" not in raw  # nothing that needed escaping at all


def test_export_metadata_names_the_policy_and_key(cli, sample_export) -> None:
    meta = sample_export.doc["export_metadata"]
    policy = yaml.safe_load(DEFAULT_POLICY.read_text("utf-8"))
    assert meta["policy"] == {"id": "default", "version": policy["version"],
                              "sha256": hashlib.sha256(DEFAULT_POLICY.read_bytes()).hexdigest()}
    key_file = sample_export.project / ".tapps-agents" / "exports" / ".hash-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert meta["hash_key_id"] == cli.ok("key", "id", key_file).stdout.strip()
    assert meta["schema_version"] == meta["export_version"] == "1.0"
    assert meta["learnexport_version"] == learnexport.__version__
    config = yaml.safe_load((sample_export.project / ".tapps-agents" / "config.yaml").read_text())
    assert meta["framework_version"] == config["framework_version"]
    assert meta["filters"] == {"since": None, "until": None, "capabilities": 0, "agents": 0,
                               "excluded_sections": []}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", meta["export_timestamp"])


def test_export_metadata_sources_match_the_sample(sample_export) -> None:
    meta = sample_export.doc["export_metadata"]
    info = sample_export.info
    assert info is not None
    assert meta["sources"] == {name: {"status": "ok", "records": count, "problems": 0}
                               for name, count in info.counts.items()}
    assert list(meta["sources"]) == list(info.counts)
    assert meta["warnings"] == []
    assert sample_export.result.stderr == ""


# ---- consent and formats ----------------------------------------------------------------


def test_consent_is_refused_off_a_terminal_without_yes(cli, fresh_small, tmp_path) -> None:
    project = fresh_small.root
    before = cli.run("export", project)
    target = tmp_path / "out.json"
    with_output = cli.run("export", project, "-o", target)
    for result in (before, with_output):
        assert result.returncode == 2
        assert "refusing to export without consent: nothing was written" in result.stderr
        assert "--yes" in result.stderr
        assert result.stdout == ""
    assert _export_files(project) == []
    assert not target.exists()


def test_a_policy_without_schema_or_stamp_is_said_not_to_make_a_learning_export(
        cli, fresh_small, tmp_path) -> None:
    """export runs any policy (the leak check still guards it), but a file without the
    schema and the stamp is no learning export: validate and submit refuse it, so export
    says so as it writes it, and the default policy draws no such warning."""
    policy = tmp_path / "p.yaml"
    policy.write_text("policy: bare\nversion: 1.0.0\nunmatched: drop\nrules:\n"
                      "  - {id: days, select: 'memory[*].timestamp', action: round, to: day}\n")
    done = cli.run("export", fresh_small.root, "--yes", "-p", policy, "-o", tmp_path / "x.json")
    assert done.returncode == 0, done.stderr
    assert ("learnexport: warning: policy bare has no 'schema:' and no 'stamp: export_metadata'"
            ": this file is not a learning export, and validate and submit will refuse it (for "
            "other policies, use learnexport apply)") in done.stderr
    refused = cli.run("validate", tmp_path / "x.json")
    assert refused.returncode == 1 and "not a learning export" in refused.stderr
    default = cli.run("export", fresh_small.root, "--yes", "-o", tmp_path / "y.json")
    assert default.returncode == 0 and "not a learning export" not in default.stderr


@pytest.mark.parametrize(("args", "name", "said"), [
    (("export", "--yes", "--compress"), "e.json", "--compress writes gzip, and this name does "
                                                  "not end in .gz; nothing was written"),
    (("export", "--yes", "--format", "yaml"), "e.json", "the name says JSON, but this writes "
                                                        "YAML; nothing was written"),
    (("export", "--yes"), "e.yml.gz", "the name says YAML, but this writes JSON"),
    (("dashboard",), "d.html", "the name says HTML, but this writes TEXT"),
    (("dashboard", "--format", "json"), "d.txt", "the name says TEXT, but this writes JSON"),
], ids=["compress-without-gz", "yaml-into-json", "json-into-yml-gz", "text-into-html",
        "json-into-txt"])  # fmt: skip
def test_an_output_named_for_another_format_is_refused(cli, fresh_small, tmp_path, args,
                                                       name, said) -> None:
    """A named output is never renamed (--compress once wrote e.json.gz for -o e.json) nor
    filled with another format than its name says."""
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / name
    done = cli.run(args[0], fresh_small.root, *args[1:], "-o", target)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"learnexport: {target}: {said}")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_capability_filter_that_names_no_capability_is_refused(cli, fresh_small,
                                                                   tmp_path) -> None:
    """As the dashboard does: 'export --capability nonexistent' wrote an export of nothing
    with exit 0; a typo is now named, with the project's capabilities."""
    done = cli.run("export", fresh_small.root, "--yes", "--capability", "code_reveiw",
                   "-o", tmp_path / "x.json")
    assert done.returncode == 2
    assert done.stderr.startswith("learnexport: --capability code_reveiw: no such capability "
                                  "in this project (did you mean 'code_review'?). Known: ")
    assert not (tmp_path / "x.json").exists()


def test_yaml_format_parses_and_validates(cli, small_export, tmp_path) -> None:
    target = tmp_path / "export.yaml"
    result = cli.ok("export", small_export.project, "--yes", "--format", "yaml", "-o", target)
    assert result.stdout.startswith(f"wrote {target} (")
    text = target.read_text("utf-8")
    assert not text.lstrip().startswith("{")
    assert _without_timestamp(yaml.safe_load(text)) == _without_timestamp(small_export.doc)
    assert "schema 1.0" in cli.ok("validate", target).stdout


def test_compress_writes_valid_gzip(cli, fresh_small, small_export) -> None:
    project = fresh_small.root
    cli.ok("export", project, "--yes", "--compress")
    (name,) = [n for n in _export_files(project) if n != ".hash-key"]
    assert name.startswith("learning-export-") and name.endswith(".json.gz")
    path = project / ".tapps-agents" / "exports" / name
    data = path.read_bytes()
    assert data[:2] == b"\x1f\x8b"
    doc = json.loads(gzip.decompress(data))
    assert cli.ok("validate", path).stdout.strip() == f"{path}: valid learning export, schema 1.0"
    # a fresh project has its own key: only the custom capability hashes differ
    assert doc["usage_patterns"] == small_export.doc["usage_patterns"]
    assert doc["export_metadata"]["hash_key_id"] != small_export.doc["export_metadata"][
        "hash_key_id"]


def test_compress_writes_the_given_gz_name(cli, small_export, tmp_path) -> None:
    # a name without .gz is refused (test_an_output_named_for_another_format_is_refused)
    cli.ok("export", small_export.project, "--yes", "--compress", "-o", tmp_path / "e.json.gz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.json.gz"]
    doc = json.loads(gzip.decompress((tmp_path / "e.json.gz").read_bytes()))
    assert _without_timestamp(doc) == _without_timestamp(small_export.doc)


# ---- damaged and hostile projects -------------------------------------------------------


def test_corrupt_lines_are_warnings_not_failures(cli, tmp_path) -> None:
    info = generate(tmp_path / "project", "small", 11, corrupt=True)
    assert len(info.corruptions) == 2
    run = cli.export(info.root, output=tmp_path / "out.json")
    meta = run.doc["export_metadata"]
    for name in ("outcomes", "analytics_agents"):
        assert meta["sources"][name] == {"status": "ok", "records": info.counts[name],
                                         "problems": 1}
        warning = f"source {name}: 1 unreadable record(s) skipped"
        assert warning in meta["warnings"]
        assert f"learnexport: warning: {warning}\n" in run.result.stderr
    assert run.doc["learning_effectiveness"]["outcomes"]["outcomes"] == info.counts["outcomes"]
    runs = sum(row["runs"] for row in run.doc["usage_patterns"]["daily_runs"])
    assert runs == info.counts["analytics_agents"]
    assert versions.validate(run.doc, str(run.path)) == "1.0"  # as `validate` does


def test_missing_sources_are_warnings_not_failures(cli, fresh_small, tmp_path) -> None:
    base = fresh_small.root / ".tapps-agents"
    (base / "learning" / "outcomes.jsonl").unlink()
    for path in (base / "analytics" / "history").glob("workflows-*.jsonl"):
        path.unlink()
    run = cli.export(fresh_small.root, output=tmp_path / "out.json")
    meta = run.doc["export_metadata"]
    for name in ("outcomes", "analytics_workflows"):
        assert meta["sources"][name] == {"status": "missing", "records": 0, "problems": 0}
        warning = f"source {name} is missing: its figures are absent"
        assert warning in meta["warnings"]
        assert f"learnexport: warning: {warning}\n" in run.result.stderr
    assert meta["sources"]["memory"]["status"] == "ok"
    assert "outcomes" not in run.doc["learning_effectiveness"]
    assert not run.doc["usage_patterns"].get("workflows")
    assert run.doc["usage_patterns"]["agents"]  # the rest is still there
    assert versions.validate(run.doc, str(run.path)) == "1.0"  # as `validate` does


def test_symlink_out_of_the_project_is_not_followed(cli, fresh_small, tmp_path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = "ghp_" + "SymlinkedSecret0123456789abcdefghijk"[:36]
    memories = [{"task_id": f"task_{i}", "agent_id": "reviewer",
                 "command": f"deploy --token {secret}", "timestamp": "2026-03-01T10:00:00",
                 "outcome": "success", "quality_score": 0.9, "key_learnings": [secret],
                 "patterns_used": [], "similar_tasks": [], "context": {}, "metadata": {}}
                for i in range(5)]  # fmt: skip
    (outside / "memories.json").write_text(json.dumps(memories), "utf-8")
    link = fresh_small.root / ".tapps-agents" / "memory" / "memories.json"
    link.unlink()
    link.symlink_to(outside / "memories.json")
    run = cli.export(fresh_small.root, output=tmp_path / "out.json")
    meta = run.doc["export_metadata"]
    assert meta["sources"]["memory"] == {"status": "unreadable", "records": 0, "problems": 1}
    assert "source memory is unreadable: its figures are absent" in meta["warnings"]
    assert "source memory is unreadable" in run.result.stderr
    assert secret not in run.text and "2026-03-01" not in run.text
    assert not run.doc["learning_effectiveness"].get("quality_trend")
    assert link.is_symlink()  # left as it was
    assert versions.validate(run.doc, str(run.path)) == "1.0"  # as `validate` does


# ---- determinism and keys ---------------------------------------------------------------


def test_same_project_same_key_same_export(cli, small_export, tmp_path) -> None:
    again = cli.export(small_export.project, output=tmp_path / "again.json")
    assert _without_timestamp(again.doc) == _without_timestamp(small_export.doc)
    stamp = re.compile(r'"export_timestamp": "[^"]*"')
    assert stamp.sub("", again.text) == stamp.sub("", small_export.text)


def test_another_key_changes_only_the_custom_hashes(cli, small_export, tmp_path) -> None:
    key = tmp_path / "other.key"
    created = cli.ok("key", "new", key)
    key_id = cli.ok("key", "id", key).stdout.strip()
    assert key_id in created.stdout
    other = cli.export(small_export.project, "--hash-key-file", key,
                       output=tmp_path / "other.json").doc
    mine = small_export.doc
    assert other["export_metadata"]["hash_key_id"] == key_id
    assert key_id != mine["export_metadata"]["hash_key_id"]

    def ids(doc: dict[str, Any]) -> list[str]:
        return [row["capability_id"] for row in doc["capability_metrics"]["capabilities"]]

    custom_mine = {i for i in ids(mine) if i.startswith("custom_")}
    custom_other = {i for i in ids(other) if i.startswith("custom_")}
    assert len(custom_mine) == len(custom_other) == 2
    assert custom_mine.isdisjoint(custom_other)
    assert [i for i in ids(mine) if i not in custom_mine] == \
        [i for i in ids(other) if i not in custom_other]

    def figures(doc: dict[str, Any]) -> dict[str, Any]:
        out = _without_timestamp(doc)
        del out["export_metadata"]["hash_key_id"]
        rows = out["capability_metrics"]["capabilities"]
        out["capability_metrics"]["capabilities"] = sorted(
            (dict(r, capability_id=r["capability_id"][:7]) for r in rows),
            key=lambda r: json.dumps(r, sort_keys=True))
        return out

    assert figures(other) == figures(mine)


# ---- migrate and validate ---------------------------------------------------------------


def test_migrate_to_1_1_validates_and_back_is_refused(cli, small_export, tmp_path) -> None:
    migrated = tmp_path / "migrated.json"
    cli.ok("migrate", small_export.path, "--to", "1.1", "-o", migrated)
    assert cli.ok("validate", migrated).stdout.strip() == \
        f"{migrated}: valid learning export, schema 1.1"
    doc = json.loads(migrated.read_text("utf-8"))
    assert "task_outcomes" in doc and doc["task_outcomes"] is None
    meta, old = doc["export_metadata"], small_export.doc["export_metadata"]
    assert meta["schema_version"] == meta["export_version"] == "1.1"
    assert meta["warnings"] == [*old["warnings"],
                                "migrated from schema 1.0: task_outcomes not available"]
    for section in SECTIONS:
        assert doc[section] == small_export.doc[section]

    back = tmp_path / "back.json"
    refused = cli.run("migrate", migrated, "--to", "1.0", "-o", back)
    assert refused.returncode == 1
    assert f"{migrated} is version 1.1; migrating back to 1.0 would lose data" in refused.stderr
    assert not back.exists()


def _tamper_rate(doc: dict[str, Any]) -> None:
    doc["usage_patterns"]["agents"][0]["success_rate"] = 1.5


def _tamper_unknown(doc: dict[str, Any]) -> None:
    doc["pattern_statistics"]["by_type"][1]["code_snippet"] = "x"


def _tamper_missing(doc: dict[str, Any]) -> None:
    del doc["learning_effectiveness"]["outcomes"]["mean_iterations"]


@pytest.mark.parametrize(("tamper", "expected"), [
    (_tamper_rate, "usage_patterns.agents[0].success_rate: must be at most 1, not 1.5"),
    (_tamper_unknown, "pattern_statistics.by_type[1].code_snippet: unknown key 'code_snippet'"),
    (_tamper_missing, "learning_effectiveness.outcomes.mean_iterations: missing required key "
                      "'mean_iterations'"),
], ids=["rate-1.5", "unknown-field", "missing-field"])  # fmt: skip
def test_validate_refuses_a_tampered_export(cli, small_export, tmp_path, tamper,
                                            expected) -> None:
    doc = small_export.doc
    tamper(doc)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc, indent=2), "utf-8")
    result = cli.run("validate", path)
    assert result.returncode == 3
    assert result.stderr.startswith(
        f"learnexport: {path}: does not pass schema export-1.0, the version it declares (1 "
        "problem). It was edited or damaged after export, or not written by learnexport "
        "export; export it again\n")  # about the file, not a policy (it named no file)
    assert f"  - {expected}" in result.stderr
    assert result.stdout == ""


# ---- the Python API gives the command's document ------------------------------------------


def test_api_export_preview_equals_the_command(sample_export) -> None:
    before = _export_files(sample_export.project)
    result = learnexport.export(sample_export.project, write=False)
    assert isinstance(result, learnexport.ExportResult)
    assert result.path is None
    assert _without_timestamp(result.document) == _without_timestamp(sample_export.doc)
    assert [r["id"] for r in result.report["rules"]][:2] == ["custom-capability-ids",
                                                            "capability-rows"]
    assert _export_files(sample_export.project) == before


def test_api_collect_then_apply_equals_the_command(small_export) -> None:
    key = (small_export.project / ".tapps-agents" / "exports" / ".hash-key").read_bytes()
    document = learnexport.collect(small_export.project)
    assert {n: s["records"] for n, s in document["collection"]["sources"].items()} == \
        small_export.info.counts
    result = learnexport.apply(DEFAULT_POLICY, document, key=key.strip())
    assert _without_timestamp(result.document) == _without_timestamp(small_export.doc)


def test_learning_data_exporter_equals_the_command(small_export, tmp_path) -> None:
    exporter = learnexport.LearningDataExporter(small_export.project)
    target = tmp_path / "facade.json"
    written = exporter.export(target)
    assert written == target
    doc = json.loads(target.read_text("utf-8"))
    assert _without_timestamp(doc) == _without_timestamp(small_export.doc)
    assert _without_timestamp(exporter.preview()) == _without_timestamp(small_export.doc)
    raw = exporter.collect()
    assert raw["project"]["root"] == str(small_export.project.resolve())


def test_hash_prefix_is_not_mistaken_for_a_leak(small_sample, tmp_path) -> None:
    """The policy reference's own hash example (task ids, ``prefix: "task_"``) on a sample.

    ``task_`` + hex often starts with a digit, so the output holds e.g. ``task_1`` (another
    task's id, tainted by the same rule) by chance: that is no leak of that id."""
    policy = tmp_path / "tasks.yaml"
    policy.write_text(
        "policy: tasks\nversion: 1.0.0\nrules:\n"
        "  - id: task-ids\n    select: memory[*].task_id\n    action: hash\n"
        "    length: 12\n    prefix: task_\n", "utf-8")  # fmt: skip
    document = learnexport.collect(small_sample.root)
    result = learnexport.apply(policy, document, key=b"docs-example-key")
    ids = [m["task_id"] for m in result.document["memory"]]
    assert len(ids) == small_sample.counts["memory"]
    assert all(re.fullmatch(r"task_[0-9a-f]{12}", i) for i in ids)


def test_api_errors_are_learnexport_errors(tmp_path) -> None:
    with pytest.raises(InputError) as caught:
        learnexport.export(tmp_path, write=False)
    assert caught.value.exit_code == 1
    assert caught.value.render().startswith(f"{tmp_path}: no .tapps-agents folder in ")


@pytest.mark.parametrize(("keywords", "said"), [
    ({"since": "yesterday"}, "since 'yesterday' is not a date"),
    ({"until": "2026-13-01"}, "until '2026-13-01' is not a date"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "since 2026-02-01 is after until"),
    ({"exclude": ["usage_pattern"]}, "exclude 'usage_pattern' is not a section (did you mean"),
    ({"agents": "reviewer"}, "agents takes a list of names, not the text 'reviewer'"),
    ({"capabilities": "testing"}, "capabilities takes a list of names"),
])
def test_api_filters_are_checked_as_the_command_checks_them(small_sample, keywords, said) -> None:
    """The API's keywords get the command's checks (a plain string for a list would be read
    letter by letter; a bad date reached the schema check as 'fix the policy')."""
    with pytest.raises(UsageError) as caught:
        learnexport.export(small_sample.root, write=False, **keywords)
    assert said in caught.value.render() and caught.value.exit_code == 2


# ---- docs/api.md: every python block runs -------------------------------------------------


def _python_blocks(text: str) -> list[tuple[int, str]]:
    blocks: list[tuple[int, str]] = []
    start: int | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if start is None and line.strip() == "```python":
            start, body = number, []
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(body) + "\n"))
            start = None
        elif start is not None:
            body.append(line)
    return blocks


API_BLOCKS = _python_blocks(API_DOC.read_text("utf-8")) if API_DOC.exists() else []


def test_api_doc_has_examples() -> None:
    assert len(API_BLOCKS) >= 5


@pytest.mark.parametrize(("line", "code"), API_BLOCKS, ids=[f"line{n}" for n, _ in API_BLOCKS])
def test_api_doc_example_runs(line: int, code: str, tmp_path, monkeypatch) -> None:
    """Each block runs on its own, in a folder holding ``project/`` (a small sample)."""
    generate(tmp_path / "project", "small", 0)
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("LEARNEXPORT_")]:
        monkeypatch.delenv(name)
    exec(compile(code, f"{API_DOC}:{line}", "exec"), {"__name__": "api_doc_example"})


def test_declining_at_the_prompt_writes_nothing_and_exits_2(tmp_path: Path,
                                                           monkeypatch) -> None:
    """On a terminal, answering no is refusing consent: exit 2, nothing written."""
    from learnexport import cli, cli_base, sample
    from typer.testing import CliRunner

    sample.generate(tmp_path / "p", "small", seed=3)
    monkeypatch.setattr(cli_base, "can_ask", lambda: True)  # as on a terminal
    done = CliRunner().invoke(cli.app, ["export", str(tmp_path / "p"), "-o",
                                        str(tmp_path / "x.json")], input="n\n")
    assert done.exit_code == 2, done.output
    assert "declined; nothing was written" in done.output
    assert not (tmp_path / "x.json").exists()


def test_dash_is_stdout_or_refused_in_every_command(cli, small_export, tmp_path) -> None:
    """docs/cli.md: '-o -' is stdout for the commands that write there by default; the
    options that only name a file or folder refuse '-' (exit 2) rather than create it."""
    project, export = small_export.project, small_export.path
    for args, check in [
        (("collect", project), lambda out: json.loads(out)["collection"]["sources"]),
        (("dashboard", project, "--format", "json"), lambda out: json.loads(out)["project"]),
        (("migrate", export, "--to", "1.1"),
         lambda out: json.loads(out)["export_metadata"]["schema_version"] == "1.1"),
        (("aggregate", export, export, "--min-projects", "2"),
         lambda out: json.loads(out)["aggregate"]["projects"] == 1),
    ]:
        done = cli.run(*args, "-o", "-", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert check(done.stdout), args
    for args in (("export", project, "--yes", "-o", "-"),
                 ("policy", "test", ROOT / "policies" / "example.yaml", "--junit", "-")):
        refused = cli.run(*args, cwd=tmp_path)
        assert refused.returncode == 2 and "'-' (stdout) is not taken here" in refused.stderr
    assert list(tmp_path.iterdir()) == []


def test_validate_migrate_and_submit_read_stdin(cli, small_export, tmp_path) -> None:
    """docs/cli.md: as the EXPORT of validate, migrate and submit, '-' is stdin (named
    <stdin> in what they say)."""
    import subprocess

    def piped(*args: object) -> subprocess.CompletedProcess[str]:
        with small_export.path.open("rb") as source:
            return subprocess.run([str(cli.command), *map(str, args)], stdin=source,
                                  capture_output=True, text=True, cwd=tmp_path, timeout=120)

    done = piped("validate", "-")
    assert (done.returncode, done.stdout) == (0, "<stdin>: valid learning export, schema 1.0\n")
    done = piped("migrate", "-", "--to", "1.1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["export_metadata"]["schema_version"] == "1.1"
    (tmp_path / "out").mkdir()
    done = piped("submit", "-", "--yes", "--out", "out")
    assert done.returncode == 0, done.stderr
    assert [p.suffixes for p in (tmp_path / "out").iterdir()] == [[".tar", ".gz"]]


def test_validate_counts_every_problem_though_it_lists_50(tmp_path: Path) -> None:
    """From a review: a file with 60 problems was said to have 51 (the 50 listed and the
    line saying how many more)."""
    from learnexport.errors import SchemaCheckError

    document = {"export_metadata": {"schema_version": "1.0"},
                **{f"unknown_{i}": i for i in range(60)}}
    with pytest.raises(SchemaCheckError) as caught:
        versions.validate(document, "x.json")
    assert caught.value.count >= 60
    assert f"({caught.value.count} problems)" in caught.value.message
    assert len(caught.value.problems) == 51 and caught.value.problems[-1].startswith("... and ")


def test_export_warns_of_a_rule_whose_section_is_absent(cli, small_export, tmp_path) -> None:
    """From a review: export with a typo'd section name wrote its file without a word;
    it now says so before its checks (as apply does)."""
    policy = (ROOT / "policies" / "default.yaml").read_text("utf-8")
    assert "select: memory[*].timestamp" in policy
    (tmp_path / "typo.yaml").write_text(
        policy.replace("select: memory[*].timestamp", "select: memroy[*].timestamp"), "utf-8")
    done = cli.run("export", small_export.project, "--yes", "--policy", tmp_path / "typo.yaml",
                   "-o", tmp_path / "out.json")
    assert "matched nothing: the input has no 'memroy' (did you mean 'memory'?)" in done.stderr


def test_the_dashboard_file_is_private(cli, small_export, tmp_path) -> None:
    """From a review: dashboard -o wrote the project's raw names with mode 0644, where
    collect -o writes 0600; both are for the owner's eyes only."""
    done = cli.run("dashboard", small_export.project, "--format", "html",
                   "-o", tmp_path / "d.html")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "d.html").stat().st_mode) == 0o600
