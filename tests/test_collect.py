"""The collector: a sample read back exactly, and every hostile input survived."""

from __future__ import annotations

import hashlib
import json
import os
import random
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from learnexport import collector as collect_module
from learnexport.collector import (
    FIELDS,
    HINT_NO_PROJECT,
    MAX_LINE_BYTES,
    SOURCE_PATHS,
    check_record,
    collect,
    iter_jsonl,
)
from learnexport.errors import InputError
from learnexport.sample import generate

AGENT = {"agent_id": "reviewer", "agent_name": "reviewer", "duration": 1.5, "success": True,
         "timestamp": "2026-01-30T16:05:40.641272"}  # fmt: skip


def _project(tmp_path: Path) -> Path:
    """A project with an empty .tapps-agents/ folder."""
    root = tmp_path / "proj"
    (root / ".tapps-agents").mkdir(parents=True)
    return root


def _write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / ".tapps-agents" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _lines(*records: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _jsonl(path: Path) -> tuple[list, list[str]]:
    problems: list[str] = []
    return list(iter_jsonl(path, problems)), problems


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("sample") / "acme-billing"
    return generate(root, "small", seed=3)


# ---- a sample read back ---------------------------------------------------------------------


def test_sample_read_back_with_counts_and_identical_records(sample) -> None:
    doc = collect(sample.root)
    sources = doc["collection"]["sources"]
    assert {name: s["records"] for name, s in sources.items()} == sample.counts
    assert all(s["status"] == "ok" and s["problems"] == [] for s in sources.values())
    assert doc["collection"]["warnings"] == []
    base = sample.root / ".tapps-agents"
    caps = json.loads((base / "capabilities/capabilities.json").read_text())
    assert doc["capabilities"] == caps
    assert doc["patterns"] == json.loads((base / "learning/patterns.json").read_text())
    assert doc["memory"] == json.loads((base / "memory/memories.json").read_text())
    for kind in ("agents", "workflows"):
        files = sorted((base / "analytics/history").glob(f"{kind}-*.jsonl"))
        on_disk = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        assert doc["analytics"][kind] == on_disk
    for name in ("outcomes", "expert_performance", "weight_adjustments"):
        lines = (base / "learning" / f"{name}.jsonl").read_text().splitlines()
        assert doc["learning"][name] == [json.loads(line) for line in lines]


def test_document_shape(sample) -> None:
    doc = collect(sample.root)
    assert list(doc) == ["project", "capabilities", "patterns", "memory", "analytics",
                         "learning", "collection"]  # fmt: skip
    assert doc["project"] == {"root": str(sample.root.resolve()), "name": "acme-billing",
                              "framework_version": "3.5.2"}  # fmt: skip
    assert list(doc["capabilities"]) == ["version", "hardware_profile", "metrics"]
    assert list(doc["analytics"]) == ["agents", "workflows"]
    assert list(doc["learning"]) == ["outcomes", "expert_performance", "weight_adjustments"]
    assert list(doc["collection"]) == ["collected_at", "sources", "warnings"]
    assert doc["collection"]["collected_at"].endswith("+00:00")
    assert list(doc["collection"]["sources"]) == list(SOURCE_PATHS)
    for name, entry in doc["collection"]["sources"].items():
        assert entry == {"path": SOURCE_PATHS[name], "status": "ok",
                         "records": sample.counts[name], "problems": []}  # fmt: skip
    json.dumps(doc, allow_nan=False)  # the document is plain JSON


def test_analytics_days_read_in_date_order(tmp_path: Path) -> None:
    root = _project(tmp_path)
    for day in ("2026-01-10", "2025-12-31", "2026-01-02"):
        _write(root, f"analytics/history/agents-{day}.jsonl", _lines(dict(AGENT, timestamp=day)))
    stamps = [r["timestamp"] for r in collect(root)["analytics"]["agents"]]
    assert stamps == ["2025-12-31", "2026-01-02", "2026-01-10"]


def test_corrupt_sample_lines_are_skipped_and_located(tmp_path: Path) -> None:
    info = generate(tmp_path / "p", "small", seed=1, corrupt=True)
    doc = collect(info.root)
    sources = doc["collection"]["sources"]
    assert sources["outcomes"]["problems"] == [
        f"{info.corruptions[0]}: not JSON (Invalid control character at column 56)"
    ]
    assert sources["analytics_agents"]["problems"] == [
        f"{info.corruptions[1]}: not JSON (Unterminated string starting at column 52), "
        "truncated last line"
    ]
    assert {n: s["records"] for n, s in sources.items()} == info.counts
    assert doc["collection"]["warnings"] == [
        "analytics_agents: 1 problem(s), 320 records collected; "
        "see collection.sources.analytics_agents.problems",
        "outcomes: 1 problem(s), 40 records collected; see collection.sources.outcomes.problems",
    ]


def test_read_only_and_independent_of_cwd(sample, tmp_path: Path, monkeypatch) -> None:
    before = _tree_digest(sample.root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    doc = collect(os.path.relpath(sample.root, elsewhere))
    assert doc["project"]["root"] == str(sample.root.resolve())
    assert doc["collection"]["sources"]["memory"]["records"] == sample.counts["memory"]
    assert _tree_digest(sample.root) == before
    assert list(elsewhere.iterdir()) == []


def test_progress_reports_each_source(sample) -> None:
    calls: list[tuple[str, int]] = []
    collect(sample.root, progress=lambda name, n: calls.append((name, n)))
    assert dict(calls) == sample.counts


# ---- missing, empty, not a project ----------------------------------------------------------


def test_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        collect(tmp_path)
    assert caught.value.message == f"no .tapps-agents folder in {tmp_path.resolve()}"
    assert caught.value.hint == HINT_NO_PROJECT
    with pytest.raises(InputError, match="is not a folder"):
        collect(tmp_path / "nope")


def test_missing_sources(tmp_path: Path) -> None:
    doc = collect(_project(tmp_path))
    sources = doc["collection"]["sources"]
    assert all(s["status"] == "missing" and s["records"] == 0 for s in sources.values())
    assert doc["project"]["framework_version"] is None
    assert doc["capabilities"] == {"version": None, "hardware_profile": None, "metrics": []}
    assert doc["patterns"] == doc["memory"] == []
    assert doc["analytics"] == {"agents": [], "workflows": []}
    assert doc["collection"]["warnings"][0] == (
        "capabilities: .tapps-agents/capabilities/capabilities.json not found"
    )
    assert doc["collection"]["warnings"][-1] == "config: .tapps-agents/config.yaml not found"
    assert len(doc["collection"]["warnings"]) == len(SOURCE_PATHS)


def test_empty_sources_are_ok(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "learning/patterns.json", "[]")
    _write(root, "learning/outcomes.jsonl", "")
    _write(root, "memory/memories.json", "")
    _write(root, "analytics/history/agents-2026-01-01.jsonl", "\n\n")
    sources = collect(root)["collection"]["sources"]
    for name in ("patterns", "outcomes", "memory", "analytics_agents"):
        assert (sources[name]["status"], sources[name]["records"]) == ("ok", 0)
    assert sources["memory"]["problems"] == ["memories.json: empty file"]
    assert sources["analytics_workflows"]["status"] == "missing"


# ---- whole-JSON files -----------------------------------------------------------------------


def test_corrupt_whole_json_is_unreadable_with_position(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "capabilities/capabilities.json", '{"version": "1.0",\n  "metrics" []}')
    _write(root, "learning/patterns.json", '{"not": "an array"}')
    _write(root, "memory/memories.json", b"[\xff]")
    doc = collect(root)
    sources = doc["collection"]["sources"]
    assert sources["capabilities"]["problems"] == [
        "capabilities.json line 2 column 13: not JSON (Expecting ':' delimiter)"
    ]
    assert sources["patterns"]["problems"] == ["patterns.json: not a JSON array (an object)"]
    assert sources["memory"]["problems"] == ["memories.json: not UTF-8 (byte 0xff at offset 1)"]
    assert {sources[n]["status"] for n in ("capabilities", "patterns", "memory")} == {"unreadable"}
    assert doc["capabilities"] == {"version": None, "hardware_profile": None, "metrics": []}
    assert doc["patterns"] == doc["memory"] == []
    assert doc["collection"]["warnings"][0] == (
        "capabilities: .tapps-agents/capabilities/capabilities.json could not be read: "
        "capabilities.json line 2 column 13: not JSON (Expecting ':' delimiter)"
    )


def test_bad_items_in_whole_json_are_skipped(tmp_path: Path) -> None:
    root = _project(tmp_path)
    good = {"pattern_id": "func_a_1", "extra": {"kept": True}}
    text = json.dumps([good, "x", {"pattern_id": 7}, good]).replace(
        "]", ', {"a": 1, "a": 2}, {"m": {"x": NaN}}, {"b" : 1, "b": 2}]'
    )
    _write(root, "learning/patterns.json", text)
    caps = {
        "version": "1.0",
        "hardware_profile": "nuc",
        "metrics": [{"capability_id": "x", "usage_count": 1.5}, {"capability_id": "y"}],
    }
    _write(root, "capabilities/capabilities.json", json.dumps(caps))
    doc = collect(root)
    assert doc["patterns"] == [good, good]
    assert doc["collection"]["sources"]["patterns"]["problems"] == [
        "patterns.json [1]: not an object (a string)",
        'patterns.json [2]: field "pattern_id" is a number, expected a string',
        'patterns.json [4]: duplicate key "a"',
        "patterns.json [5]: not JSON (NaN is not a JSON number)",
        'patterns.json [6]: duplicate key "b"',  # a key written "b" : still counts
    ]
    assert doc["capabilities"]["metrics"] == [{"capability_id": "y"}]
    assert doc["collection"]["sources"]["capabilities"]["problems"] == [
        'capabilities.json metrics[0]: field "usage_count" is a number, expected an integer'
    ]


def test_metrics_not_a_list(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "capabilities/capabilities.json", '{"version": 1, "metrics": {"a": 1}}')
    doc = collect(root)
    assert doc["capabilities"] == {"version": None, "hardware_profile": None, "metrics": []}
    assert doc["collection"]["sources"]["capabilities"]["problems"] == [
        'capabilities.json: "version" is a number, expected a string',
        'capabilities.json: "metrics" is an object, expected an array',
    ]


def test_whole_json_nested_too_deep_and_top_level_duplicate(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "memory/memories.json", "[" * 100_000 + "]" * 100_000)
    _write(root, "capabilities/capabilities.json", '{"metrics": [], "metrics": []}')
    sources = collect(root)["collection"]["sources"]
    assert sources["memory"]["problems"] == ["memories.json line 1 column 2: nested too deeply"]
    assert sources["capabilities"]["problems"] == ['capabilities.json: duplicate key "metrics"']
    assert sources["capabilities"]["status"] == sources["memory"]["status"] == "unreadable"


# ---- JSON lines: corrupt and hostile --------------------------------------------------------


def test_bad_lines_are_skipped_with_line_numbers(tmp_path: Path) -> None:
    bad_records = [
        ('{"agent_id": "a", "agent_id": "b"}', 'duplicate key "agent_id"'),
        ('{"agent_id"\t: "a", "agent_id" : "b"}', 'duplicate key "agent_id"'),
        ('{"duration": NaN}', "not JSON (NaN is not a JSON number)"),
        ('{"duration": Infinity}', "not JSON (Infinity is not a JSON number)"),
        ('{"x": [-Infinity]}', "not JSON (-Infinity is not a JSON number)"),
        ('{"duration": 1e400}', "not JSON (number 1e400 is out of range)"),
        ("[1, 2]", "not an object (an array)"),
        ('"text"', "not an object (a string)"),
        ("null", "not an object (null)"),
        ('{"duration": "1.5"}', 'field "duration" is a string, expected a number'),
        ('{"success": 1}', 'field "success" is a number, expected a boolean'),
        ('{"duration": true}', 'field "duration" is a boolean, expected a number'),
        ('{"agent_id": null}', 'field "agent_id" is null, expected a string'),
        ("{'agent_id': 'x'}", "not JSON (Expecting property name enclosed in double quotes "
                              "at column 2)"),
        ('{"a": 1} {"b": 2}', "not JSON (Extra data at column 10)"),
        ("[" * 100_000, "nested too deeply"),
        ('{"x": ' + "[" * 300 + "]" * 300 + "}", "nested too deeply"),  # orjson reads it
        ("1" * 5000, "not JSON (Exceeds the limit (4300 digits) for integer string conversion: "
                     "value has 5000 digits; use sys.set_int_max_str_digits() to increase the "
                     "limit)"),
    ]  # fmt: skip
    text = _lines(AGENT) + "".join(line + "\n" for line, _ in bad_records) + _lines(AGENT)
    path = _write(_project(tmp_path), "analytics/history/agents-2026-01-01.jsonl", text)
    problems: list[str] = []
    records = list(iter_jsonl(path, problems, fields=FIELDS["analytics_agents"]))
    assert records == [AGENT, AGENT]
    assert problems == [
        f"agents-2026-01-01.jsonl line {n}: {why}" for n, (_, why) in enumerate(bad_records, 2)
    ]


@pytest.mark.parametrize("layout", ["one line", "one element a line"])
def test_a_null_element_of_an_array_file_is_skipped_not_taken_for_damage(
        tmp_path: Path, layout: str) -> None:
    from learnexport.readers import iter_json_array

    items = [{"a": 1}, None, {"b": 2}, None]
    text = json.dumps(items) if layout == "one line" else \
        "[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]\n"
    path = _write(_project(tmp_path), "learning/patterns.json", text)
    problems: list[str] = []
    assert list(iter_json_array(path, problems, fields={})) == [{"a": 1}, {"b": 2}]
    assert problems == ["patterns.json [1]: not an object (null)",
                        "patterns.json [3]: not an object (null)"]


def test_a_deep_or_huge_array_element_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """From a review: a deep element was reported 'truncated last line' (an element is no
    line), and an integer of 5,000 digits ended collect in an internal error."""
    from learnexport.readers import iter_json_array

    deep = "[" * 250 + "]" * 250
    path = _write(_project(tmp_path), "learning/patterns.json",
                  '[{"a": 1},\n' + deep + ',\n{"b": 2},\n' + "1" * 5000 + ',\n{"c": 3}]')
    problems: list[str] = []
    assert list(iter_json_array(path, problems, fields={})) == [{"a": 1}, {"b": 2}]
    assert problems[0] == "patterns.json [1]: nested too deeply"
    assert problems[1].startswith("patterns.json line 4 column 1: not JSON (Exceeds the limit")
    assert problems[1].endswith("; the records after it were skipped")


@pytest.mark.parametrize("chunk", range(1, 24))
def test_a_number_cut_by_the_read_chunk_is_read_whole(tmp_path: Path, chunk: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The array reader reads 1 MiB at a time; a bare number element cut after ``1e`` or
    ``-0.`` was read as 1 (or -0), and its rest taken for damage that ended the file."""
    from learnexport import streams
    from learnexport.readers import iter_json_array

    monkeypatch.setattr(streams, "CHUNK", chunk)
    path = _write(_project(tmp_path), "learning/patterns.json",
                  '[{"a": 1}, 1e5, -0.25, 12345, {"b": 2}]')
    problems: list[str] = []
    assert list(iter_json_array(path, problems, fields={})) == [{"a": 1}, {"b": 2}]
    assert problems == [f"patterns.json [{i}]: not an object (a number)" for i in (1, 2, 3)]


def test_a_record_at_the_reading_limit_collects_into_a_document_apply_reads(
        tmp_path: Path) -> None:
    """Records are read to RECORD_DEPTH (MAX_DEPTH less the levels the collected document
    puts around them): at MAX_DEPTH itself, collect wrote a document apply refused."""
    from learnexport.columns import MAX_DEPTH, RECORD_DEPTH
    from learnexport.docio import encode_json, parse_json

    def deep(levels: int) -> str:  # an object holding lists, ``levels`` containers in all
        return '{"agent_id": "a", "x": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    root = _project(tmp_path)
    path = _write(root, "learning/outcomes.jsonl", deep(RECORD_DEPTH) + "\n"
                  + deep(RECORD_DEPTH + 1) + "\n")
    problems: list[str] = []
    assert len(list(iter_jsonl(path, problems))) == 1
    assert problems == ["outcomes.jsonl line 2: nested too deeply"]
    document = collect(root)
    assert len(document["learning"]["outcomes"]) == 1
    parse_json(encode_json(document), "doc.json")  # within what apply reads
    assert (RECORD_DEPTH, MAX_DEPTH) == (197, 200)  # the figures the docs give


def test_unknown_fields_kept_and_absent_fields_allowed(tmp_path: Path) -> None:
    record = {"agent_id": "x", "brand_new": {"nested": [1, 2]}}
    path = _write(_project(tmp_path), "learning/outcomes.jsonl", _lines(record))
    assert _jsonl(path) == ([record], [])


def test_truncated_last_line(tmp_path: Path) -> None:
    path = _write(
        _project(tmp_path), "learning/outcomes.jsonl", _lines(AGENT) + '{"agent_id": "rev'
    )
    assert _jsonl(path) == (
        [AGENT],
        ["outcomes.jsonl line 2: not JSON (Unterminated string starting at column 14), "
         "truncated last line"],
    )  # fmt: skip


def test_non_utf8_and_binary_garbage(tmp_path: Path) -> None:
    root = _project(tmp_path)
    path = _write(root, "learning/outcomes.jsonl", b'{"a": "caf\xe9"}\n' + _lines(AGENT).encode())
    assert _jsonl(path) == ([AGENT], ["outcomes.jsonl line 1: not UTF-8 (byte 0xe9 at column 11)"])
    garbage = random.Random(7).randbytes(200_000)
    path = _write(
        root, "learning/expert_performance.jsonl", garbage + b"\n" + _lines(AGENT).encode()
    )
    records, problems = _jsonl(path)
    assert records == [AGENT]
    assert len(problems) == 101
    assert problems[-1].startswith("expert_performance.jsonl: ")
    assert problems[-1].endswith(" more problems not listed")


def test_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    text = (
        b"\xef\xbb\xbf" + json.dumps(AGENT).encode() + b"\r\n\r\n   \n" + json.dumps(AGENT).encode()
    )
    path = _write(_project(tmp_path), "learning/outcomes.jsonl", text)
    assert _jsonl(path) == ([AGENT, AGENT], [])


def test_line_of_100_mib_is_skipped_without_reading_it_whole(tmp_path: Path) -> None:
    path = _project(tmp_path) / ".tapps-agents" / "huge.jsonl"
    with open(path, "wb") as fh:
        fh.write(_lines(AGENT).encode() + b'{"x": "')
        block = b"a" * (1 << 20)
        for _ in range(100):
            fh.write(block)
        fh.write(b'"}\n' + _lines(AGENT).encode())
    tracemalloc.start()
    try:
        records, problems = _jsonl(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert records == [AGENT, AGENT]
    assert problems == ["huge.jsonl line 2: longer than 8 MiB"]
    assert peak < 3 * MAX_LINE_BYTES


def test_line_just_under_the_limit_is_read(tmp_path: Path) -> None:
    record = {"x": "a" * (MAX_LINE_BYTES - 10)}  # 9 bytes of JSON around it, and the newline
    path = _project(tmp_path) / ".tapps-agents" / "big.jsonl"
    path.write_text(_lines(record))
    assert len(path.read_bytes()) == MAX_LINE_BYTES
    assert _jsonl(path) == ([record], [])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.binary(max_size=60), max_size=8))
def test_arbitrary_bytes_never_crash(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "fuzz.jsonl"
    data = b"\n".join(lines)
    path.write_bytes(data)
    records, problems = _jsonl(path)
    assert all(type(r) is dict for r in records)
    assert len(records) + len(problems) <= data.count(b"\n") + 1


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(st.dictionaries(st.text(), _json_values, max_size=5), max_size=5))
def test_any_json_object_is_copied_exactly(tmp_path: Path, records: list[dict]) -> None:
    path = tmp_path / "copy.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    assert _jsonl(path) == (records, [])


def test_check_record_messages() -> None:
    fields = FIELDS["outcomes"]
    assert check_record({"expert_consultations": 2}, fields) is None
    assert check_record({"expert_consultations": ["security"]}, fields) is None
    assert check_record({"agent_id": None, "prompt_hash": None}, fields) is None
    assert check_record({"iterations": 1.0}, fields) == (
        'field "iterations" is a number, expected an integer'
    )
    assert check_record({"expert_consultations": "x"}, fields) == (
        'field "expert_consultations" is a string, expected an integer or an array'
    )
    assert check_record({"query": 3}, FIELDS["expert_performance"]) == (
        'field "query" is a number, expected a string or null'
    )


# ---- files that must not be read ------------------------------------------------------------


def test_symlink_outside_the_project_is_not_followed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    secret = tmp_path / "secret.jsonl"
    secret.write_text(_lines(AGENT))
    (root / ".tapps-agents" / "learning").mkdir()
    (root / ".tapps-agents" / "learning" / "outcomes.jsonl").symlink_to(secret)
    outside_dir = tmp_path / "outside-history"
    outside_dir.mkdir()
    (outside_dir / "agents-2026-01-01.jsonl").write_text(_lines(AGENT))
    (root / ".tapps-agents" / "analytics").mkdir()
    (root / ".tapps-agents" / "analytics" / "history").symlink_to(outside_dir)
    doc = collect(root)
    sources = doc["collection"]["sources"]
    assert sources["outcomes"]["status"] == "unreadable"
    assert sources["outcomes"]["problems"] == [
        "outcomes.jsonl: symlink points outside the project, not followed"
    ]
    assert sources["analytics_agents"]["problems"] == [
        "history: symlink points outside the project, not followed"
    ]
    assert doc["learning"]["outcomes"] == doc["analytics"]["agents"] == []


def test_symlink_inside_the_project_is_followed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "data").mkdir()
    (root / "data" / "day.jsonl").write_text(_lines(AGENT))
    history = root / ".tapps-agents" / "analytics" / "history"
    history.mkdir(parents=True)
    (history / "agents-2026-01-01.jsonl").symlink_to(root / "data" / "day.jsonl")
    (history / "workflows-2026-01-01.jsonl").symlink_to("../../../data/day.jsonl")
    doc = collect(root)
    assert doc["analytics"]["agents"] == [AGENT]
    assert doc["collection"]["sources"]["analytics_workflows"]["records"] == 1


def test_whole_tapps_folder_symlinked_outside(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    (real / "learning").mkdir(parents=True)
    (real / "learning" / "outcomes.jsonl").write_text(_lines(AGENT))
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".tapps-agents").symlink_to(real)
    doc = collect(root)
    assert doc["learning"]["outcomes"] == []
    assert doc["collection"]["sources"]["outcomes"]["status"] == "unreadable"


def test_symlink_loop_fifo_and_folder_in_place_of_a_file(tmp_path: Path) -> None:
    root = _project(tmp_path)
    learning = root / ".tapps-agents" / "learning"
    learning.mkdir()
    (learning / "outcomes.jsonl").symlink_to("outcomes.jsonl")
    os.mkfifo(learning / "weight_adjustments.jsonl")
    (learning / "expert_performance.jsonl").mkdir()
    (learning / "a").symlink_to("b")
    (learning / "b").symlink_to("a")
    (learning / "patterns.json").symlink_to("a")
    sources = collect(root)["collection"]["sources"]
    assert sources["outcomes"]["problems"] == ["outcomes.jsonl: symlink loop"]
    assert sources["weight_adjustments"]["problems"] == [
        "weight_adjustments.jsonl: not a regular file"
    ]
    assert sources["expert_performance"]["problems"] == [
        "expert_performance.jsonl: not a regular file"
    ]
    assert sources["patterns"]["problems"] == ["patterns.json: symlink loop"]
    for name in ("outcomes", "weight_adjustments", "expert_performance", "patterns"):
        assert sources[name]["status"] == "unreadable"


def test_permission_denied(tmp_path: Path, monkeypatch) -> None:
    root = _project(tmp_path)
    path = _write(root, "learning/outcomes.jsonl", _lines(AGENT))
    _write(root, "config.yaml", "framework_version: '3.6.3'\n")
    real_open = os.open

    def deny(file, flags, *args):  # as when the file is mode 000 and we are not root
        if str(file).endswith(("outcomes.jsonl", "config.yaml")):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args)

    monkeypatch.setattr(collect_module.os, "open", deny)
    doc = collect(root)
    sources = doc["collection"]["sources"]
    assert sources["outcomes"] == {"path": SOURCE_PATHS["outcomes"], "status": "unreadable",
                                   "records": 0,
                                   "problems": ["outcomes.jsonl: permission denied"]}  # fmt: skip
    assert sources["config"]["problems"] == ["config.yaml: permission denied"]
    assert doc["project"]["framework_version"] is None
    assert path.exists()


def test_history_file_without_a_date(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "analytics/history/agents-latest.jsonl", _lines(AGENT))
    _write(root, "analytics/history/agents-2026-01-01.jsonl", _lines(AGENT))
    _write(root, "analytics/history/notes.txt", "ignored")
    source = collect(root)["collection"]["sources"]["analytics_agents"]
    assert source["records"] == 1
    assert source["problems"] == [
        "agents-latest.jsonl: no YYYY-MM-DD date in the file name, not read"
    ]


# ---- config.yaml ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version", "status", "problems"),
    [
        ('framework_version: "3.6.3"\n', "3.6.3", "ok", []),
        ("agents: {}\n", None, "ok", ["config.yaml: no framework_version"]),
        ("framework_version: 3.10\n", None, "ok",
         ["config.yaml: framework_version is a number, expected a string (quote it)"]),
        ("framework_version: [3\n", None, "unreadable",
         ["config.yaml line 2 column 1: not YAML (expected ',' or ']', but got '<stream end>')"]),
        ("- a list\n", None, "unreadable", ["config.yaml: not a mapping (an array)"]),
        ("", None, "unreadable", ["config.yaml: not a mapping (null)"]),
        ("[" * 5000, None, "unreadable", ["config.yaml: not YAML (nested too deeply)"]),
    ],
)  # fmt: skip
def test_config(tmp_path: Path, text: str, version, status: str, problems: list[str]) -> None:
    root = _project(tmp_path)
    _write(root, "config.yaml", text)
    doc = collect(root)
    assert doc["project"]["framework_version"] == version
    source = doc["collection"]["sources"]["config"]
    assert (source["status"], source["problems"]) == (status, problems)


# ---- JSON lines read in blocks: the same records and problems as a line at a time ----------


def _line_at_a_time(path: Path, fields: dict, limit: int) -> tuple[list, list[str]]:
    """The reading ``iter_jsonl`` did before it read blocks (the oracle): each line read
    with ``readline`` and settled on its own."""
    from learnexport import readers
    from learnexport.columns import RECORD_DEPTH
    from learnexport.streams import fast_loads

    problems: list[str] = []
    notes, decoder, records = readers.Notes(problems, path.name), readers.StrictJSON(), []
    with open(path, "rb") as fh:
        number = 0
        while raw := fh.readline(limit + 1):
            number += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                notes.add(f" line {number}", f"longer than {limit // (1 << 20)} MiB")
                continue
            if raw.isspace():
                continue
            record, problem = fast_loads(raw, RECORD_DEPTH), None
            if record is None:
                record, problem = readers._parse_line(decoder, raw, number == 1)
            problem = problem or readers.check_record(record, fields)
            if problem is None:
                records.append(record)
            else:
                notes.add(f" line {number}", problem)
    notes.close()
    return records, problems


_good_lines = st.builds(
    lambda a, d, s: json.dumps({"agent_id": a, "duration": d, "success": s}).encode(),
    st.text(max_size=8),
    st.integers(0, 99) | st.floats(0, 9) | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**70), 2**70) | st.sampled_from([-0.0, 2**63 - 1, 2**64, 9.2e18, 1e19]),
    st.booleans())
_odd_lines = st.sampled_from([
    "", "   ", "\r", '{"agent_id": "a", "agent_id": "b"}', '{"agent_id" : "a"}',
    '{"agent_id" : "a", "agent_id": "b"}', '{"a": {"b" : 1, "b": 2}}', '{"a": [{"b": 1, "b": 2}]}',
    '{"duration": "slow"}', '{"success": 1}', '{"duration": true}', '{"agent_id": null}',
    "[1, 2]", "7", "null", "{}", "not json", '{"a": 1', '{"a": 1,}', '{"x": "a\\":b"}',
    '{"x": "\\\\": 1}', '{"n": 123456789012345678901234567890}', '{"x": [[[[[]]]]]}',
    '{"agent_id": "' + "y" * 40 + '"}', "\ufeff" + '{"agent_id": "bom"}', '{"a": 1}\r',
    '{"x": {"y": {"z": 1}}, "agent_id": "n"}', '{"t": "Erreur : x"}', '{"é": "ü"}',
    '{"s": "\\ud800"}', '{"n": NaN}', '{"n": 1e400}', '{"a": 01}',
]).map(str.encode) | st.sampled_from([b'\xff{"a": 1}', b'{"a": "\xc3"}', b'{"a": "\xed\xa0\x80"}'])


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_good_lines | _odd_lines, max_size=40), ended=st.booleans(),
       end=st.sampled_from([b"\n", b"\r\n"]), block=st.integers(1, 300),
       most=st.sampled_from([1, 3, 2048]), limit=st.sampled_from([30, 64, 1 << 23]))
def test_blocks_read_what_lines_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     lines: list[bytes], ended: bool, end: bytes, block: int,
                                     most: int, limit: int) -> None:
    """Reading a block of lines at a time (checked at once when all is well) yields the
    records and problems, in order and with their line numbers, of reading each line on
    its own, whatever the block size and wherever a long line falls. (Compared by
    ``repr``: 1 and True, 1 and 1.0, 0.0 and -0.0 are equal, but not the same record.)"""
    from learnexport import readers

    monkeypatch.setattr(readers, "BLOCK_BYTES", block)
    monkeypatch.setattr(readers, "BLOCK_LINES", most)
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", limit)
    path = tmp_path / "agents.jsonl"
    path.write_bytes(end.join(lines) + (end if ended and lines else b""))
    fields = FIELDS["analytics_agents"]
    problems: list[str] = []
    records = list(iter_jsonl(path, problems, fields=fields))
    assert repr((records, problems)) == repr(_line_at_a_time(path, fields, limit))


@pytest.mark.parametrize("line", [
    b'{"a" : 1, "a": 2}',  # the count of ": alone agrees: only the spaced colon tells
    b'{"x": [{"b": 1, "b": 2}]}', b'{"x": {"b": 1, "b": 2}}',
    b'{"x": {"b": {"c": [' * 60 + b"1" + b"]}}" * 60 + b"}",  # deeper than RECORD_DEPTH
    b'{"n": 18446744073709551616}',  # 2**64: orjson makes it a float
])  # fmt: skip
def test_a_block_of_many_lines_hides_no_bad_one(tmp_path: Path, line: bytes) -> None:
    """One bad line among a thousand good ones (a block read and checked at once, its
    objects counted a level at a time) is still caught, alone, with its number."""
    good = json.dumps({"agent_id": "a", "x": {"y": [1, {"z": "p"}]}}).encode()
    path = tmp_path / "agents.jsonl"
    path.write_bytes(b"\n".join([good] * 500 + [line] + [good] * 500) + b"\n")
    problems: list[str] = []
    records = list(iter_jsonl(path, problems, fields=FIELDS["analytics_agents"]))
    assert len(records) == 1000 + (line.startswith(b'{"n"'))  # 2**64 is read exactly
    if line.startswith(b'{"n"'):
        assert records[500] == {"n": 2**64} and type(records[500]["n"]) is int
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith("agents.jsonl line 501: ")


def test_a_read_that_fails_keeps_every_line_read_before_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk with a bad sector: a read stops short before it, the next fails. Every
    complete line before the sector is yielded (a buffered ``read`` of a whole block
    would drop the part it had), then the failure is noted."""
    import errno
    import io

    from learnexport import readers

    data = b"".join(b'{"agent_id": "a", "n": %d}\n' % i for i in range(100_000))  # 3 MiB

    class BadDisk(io.RawIOBase):
        def __init__(self, bad: int) -> None:
            self.bad, self.pos = bad, 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            if self.pos >= self.bad:
                raise OSError(errno.EIO, "Input/output error")
            n = min(len(buffer), self.bad - self.pos)
            buffer[:n] = data[self.pos:self.pos + n]
            self.pos += n
            return n

    for bad in (100_000, 1_500_000, 2 * 1024 * 1024 + 1000):
        monkeypatch.setattr(readers, "open_source",
                            lambda path, root, bad=bad: io.BufferedReader(BadDisk(bad), 1 << 20))
        problems: list[str] = []
        records = list(iter_jsonl(Path("agents.jsonl"), problems))
        assert len(records) == data[:bad].count(b"\n")
        assert records[-1] == {"agent_id": "a", "n": len(records) - 1}
        assert problems == ["agents.jsonl: read failed: input/output error"]


@pytest.mark.parametrize(("line", "most"), [(b"{}", 4.0), (b'{"a":1}', 2.5)])
def test_a_block_of_tiny_records_stays_small(tmp_path: Path, line: bytes, most: float) -> None:
    """Blocks are cut at BLOCK_LINES lines too: 1 MiB of ``{}`` lines read as one block
    held some 60 MiB of objects (a review found it)."""
    path = tmp_path / "tiny.jsonl"
    count = (256 << 10) // len(line)  # 256 KiB: four reads, enough to show a block's peak
    path.write_bytes((line + b"\n") * count)
    tracemalloc.start()
    try:
        read = sum(1 for _ in iter_jsonl(path, [], fields=FIELDS["analytics_agents"]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read == count
    # measured: 2.9 and 1.9 MiB; without the cut at BLOCK_LINES, 4.7 and 3.3 MiB
    assert peak < most * 1024 * 1024


def test_a_source_is_read_blocking(tmp_path: Path) -> None:
    """Files are opened with O_NONBLOCK (a FIFO must not hang the open), then read in
    blocking mode: a read with no data ready (EAGAIN, on a file system that honours
    O_NONBLOCK for files) would end the block reader as if the file had ended."""
    from learnexport.readers import open_source

    path = tmp_path / "a.jsonl"
    path.write_text(_lines(AGENT))
    with open_source(path, None) as fh:
        assert os.get_blocking(fh.fileno())


def test_a_clean_block_is_not_read_line_by_line(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The block check is what makes reading fast: a file of good lines never reaches the
    line-at-a-time checks; one bad line sends only its own block there, and lines orjson
    read are not parsed again (a review found each parsed twice)."""
    from learnexport import readers

    calls: list[bytes] = []
    parsed: list[bytes] = []
    real, check = readers.fast_loads, readers.trusted
    monkeypatch.setattr(readers, "fast_loads", lambda raw, *a: parsed.append(raw) or real(raw, *a))
    monkeypatch.setattr(readers, "trusted", lambda raw, *a: calls.append(raw) or check(raw, *a))
    path = tmp_path / "agents.jsonl"
    path.write_text(_lines(*[AGENT] * 20_000))  # 2.6 MiB: many blocks
    assert len(list(iter_jsonl(path, [], fields=FIELDS["analytics_agents"]))) == 20_000
    assert calls == []
    path.write_text(_lines(*[AGENT] * 20_000) + '{"agent_id": 1}\n')
    problems: list[str] = []
    assert len(list(iter_jsonl(path, problems, fields=FIELDS["analytics_agents"]))) == 20_000
    assert problems == ['agents.jsonl line 20001: field "agent_id" is a number, expected a string']
    assert 0 < len(calls) < 1000  # the last block: one read of 64 KiB holds ~480 lines
    assert parsed == []
