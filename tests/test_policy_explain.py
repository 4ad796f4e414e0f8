"""``policy explain``: per field, the rules that act on it and its final treatment, read off
a real (traced) apply; a property test pins what it predicts to what apply produces."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from learnexport.actions.hash import digest
from learnexport.applier import apply_policy
from learnexport.errors import ApplyError
from learnexport.paths import folded, leaves
from learnexport.policy import load_policy, parse_policy
from learnexport.policytools import render, samples
from learnexport.policytools.explain import Explanation, explain

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DOC = ROOT / "policies" / "examples" / "memory.json"
KEY = samples.TEST_KEY.secret


def command() -> str:
    return shutil.which("learnexport") or str(Path(sys.executable).parent / "learnexport")


def cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNEXPORT_")}
    return subprocess.run([command(), *map(str, args)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def policy(rules: str, unmatched: str = "drop") -> Any:
    return parse_policy(f"policy: t\nversion: 1.0.0\nunmatched: {unmatched}\n"
                        f"rules:\n{rules}", "t.yaml")


@pytest.fixture(scope="module")
def sample_doc() -> Any:
    return samples.generated()


def treatments(e: Explanation) -> dict[str, str]:
    return {f.path: f.text() for f in e.fields}


# --- what explain says -------------------------------------------------------------------

def test_example_policy_on_its_document() -> None:
    doc = json.loads(EXAMPLE_DOC.read_text("utf-8"))
    e = explain(load_policy(ROOT / "policies" / "example.yaml"), doc, "memory.json")
    shown = treatments(e)
    assert shown["memory[*].task_id"] == "hashed"
    assert shown["memory[*].similar_tasks[*]"] == "hashed"
    assert shown["memory[*].timestamp"] == "rounded"
    assert shown["memory[*].key_learnings[*]"] == "redacted"
    assert shown["memory[*].agent_id"] == "kept raw"
    assert shown["memory[*].context.error"] == "dropped by rule drop-failed-context"
    assert shown["memory[*].command"] == "dropped as uncovered"
    assert shown["project.root"] == "dropped as uncovered"
    assert e.field("memory[*].task_id").rules == ("task-ids",)
    assert e.field("memory[*].command").rules == ()


def test_default_policy_on_the_generated_sample(sample_doc: Any) -> None:
    e = explain(load_policy(ROOT / "policies" / "default.yaml"), sample_doc, "sample")
    shown = treatments(e)
    assert shown["memory[*].task_id"] == "dropped by rule drop-memory-records"
    assert shown["memory[*].timestamp"] == "aggregated into learning_effectiveness.quality_trend"
    assert e.field("memory[*].timestamp").rules == ("memory-day", "quality-trend",
                                                    "drop-memory-records")
    assert shown["analytics.agents[*].agent_id"] == "dropped by rule agent-usage"
    assert shown["analytics.agents[*].success"] == ("aggregated into usage_patterns.daily_runs, "
                                                    "usage_patterns.agents")
    assert shown["collection.collected_at"] == "dropped as uncovered"
    assert all(n > 0 for n in e.matched), "every default rule matches on the sample"
    assert ("usage_patterns.agents[*].runs", "rule agent-usage") in e.outputs


def test_a_field_with_several_treatments_counts_each() -> None:
    doc = {"recs": [{"ok": False, "why": "a"}, {"ok": True, "why": "b"}, {"ok": True, "why": "c"}]}
    rules = ("  - {id: drop-failed, select: 'recs[?ok == `false`].why', action: drop}\n"
             "  - {id: hash-why, select: 'recs[*].why', action: hash}\n")
    field = explain(policy(rules), doc).field("recs[*].why")
    assert field.text() == "hashed (2); dropped by rule drop-failed (1)"
    assert field.rules == ("drop-failed", "hash-why")


def test_unmatched_keep_and_error_are_shown() -> None:
    doc = {"a": 1, "b": "x"}
    rules = "  - {id: hash-b, select: b, action: hash}\n"
    assert treatments(explain(policy(rules, "keep"), doc))["a"] == \
        "kept raw (uncovered, unmatched: keep)"
    assert treatments(explain(policy(rules, "error"), doc))["a"] == \
        "uncovered: the run fails (unmatched: error)"


def test_keep_source_aggregate_reads_but_does_not_cover() -> None:
    doc = {"runs": [{"agent": "a", "secs": 1, "host": "h1"}, {"agent": "a", "secs": 3,
                                                                "host": "h2"}]}
    rules = ("  - {id: per-agent, select: runs, action: aggregate, group_by: [agent],\n"
             "     metrics: {n: count, mean_secs: mean(secs)}, into: out, keep_source: true}\n")
    shown = treatments(explain(policy(rules), doc))
    assert shown["runs[*].secs"] == "aggregated into out"
    assert shown["runs[*].agent"] == "aggregated into out"
    assert shown["runs[*].host"] == "dropped as uncovered"


def test_a_keep_after_a_hash_leaves_the_hash() -> None:
    doc = {"ids": ["t1", "t2"]}
    rules = ("  - {id: hash-ids, select: 'ids[*]', action: hash}\n"
             "  - {id: keep-ids, select: 'ids[*]', action: keep}\n")
    assert treatments(explain(policy(rules), doc))["ids[*]"] == "hashed"


def test_renderings(sample_doc: Any) -> None:
    doc = json.loads(EXAMPLE_DOC.read_text("utf-8"))
    e = explain(load_policy(ROOT / "policies" / "example.yaml"), doc, "memory.json")
    text = render.explain_text(e)
    assert text.splitlines()[0] == ("policy example 1.0.0 (" + str(ROOT / "policies" /
                                    "example.yaml") + ") on memory.json; unmatched: drop")
    assert "memory[*].task_id           task-ids             hashed" in text
    markdown = render.explain_markdown(e)
    assert "| `memory[*].task_id` | `task-ids` | hashed |" in markdown
    data = json.loads(render.explain_json(e))
    row = next(f for f in data["fields"] if f["path"] == "memory[*].context.error")
    assert row["treatments"] == [{"kind": "dropped", "rule": "drop-failed-context", "into": [],
                                  "text": "dropped by rule drop-failed-context",
                                  "locations": 1}]
    assert [r["matched"] for r in data["rules"]] == list(e.matched)


# --- the property: what explain predicts is what apply produces --------------------------

_STRINGS = ("a", "sub.x", "meta.name")
SELECTORS = {
    "recs": "list", "recs[*]": "record", "recs[*].a": "text", "recs[*].b": "number",
    "recs[*].t": "time", "recs[*].tags": "list", "recs[*].tags[*]": "text",
    "recs[*].sub": "object", "recs[*].sub.x": "text", "recs[?sub]": "record",
    "recs[?sub].a": "text", "meta": "object", "meta.name": "text", "meta.n": "number",
}
ACTIONS = {
    "text": ["keep", "drop", "hash", "mask", "redact", "replace", "category"],
    "number": ["keep", "drop", "hash", "digits", "bucket", "replace"],
    "time": ["keep", "drop", "day", "hash"],
    "object": ["keep", "drop", "hash", "redact", "replace"],
    "record": ["keep", "drop", "hash", "redact"],
    "list": ["keep", "drop", "aggregate", "aggregate-keep"],
}
OPTIONS = {
    "mask": "action: mask", "category": "action: generalize, as: category, allow: [v1, v5]",
    "digits": "action: round, digits: 0", "bucket": "action: generalize, as: bucket, bounds: [20]",
    "day": "action: round, to: day", "replace": "action: replace, value: CONST",
    "aggregate": "action: aggregate, group_by: [a], metrics: {n: count, m: mean(b)}, into: out.g",
    "aggregate-keep": "action: aggregate, metrics: {n: count}, into: out.s, keep_source: true",
}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    counter = iter(range(10_000))

    def text() -> str:
        return f"v{next(counter)}-unique"

    records = []
    for _ in range(draw(st.integers(0, 3))):
        record: dict[str, Any] = {"a": text(), "b": draw(st.integers(0, 99)) + 0.25,
                                  "t": f"2026-01-0{draw(st.integers(1, 9))}T1{next(counter) % 10}"
                                       f":{next(counter) % 60:02d}:00"}
        if draw(st.booleans()):
            record["tags"] = [text() for _ in range(draw(st.integers(0, 2)))]
        if draw(st.booleans()):
            record["sub"] = {"x": text()}
        records.append(record)
    return {"recs": records, "meta": {"name": text(), "n": 7.5}}


@st.composite
def policies(draw: st.DrawFn) -> str:
    lines = []
    for number in range(draw(st.integers(1, 5))):
        select = draw(st.sampled_from(sorted(SELECTORS)))
        action = draw(st.sampled_from(ACTIONS[SELECTORS[select]]))
        options = OPTIONS.get(action, f"action: {action}")
        lines.append(f"  - {{id: r{number}, select: '{select}', {options}}}\n")
    unmatched = draw(st.sampled_from(["drop", "drop", "keep", "error"]))
    return f"policy: p\nversion: 1.0.0\nunmatched: {unmatched}\nrules:\n" + (
        "".join(lines) or "  []\n").replace("rules:\n  []", "rules: []")


def _outputs(document: Any) -> list[tuple[str, str, Any]]:
    return [(folded(path), str(path), value) for path, value in leaves(document) if path]


@settings(max_examples=int(os.environ.get("EXPLAIN_EXAMPLES", "100")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), text=policies())
def test_explain_predicts_what_apply_produces(doc: dict[str, Any], text: str) -> None:
    loaded = parse_policy(text, "p.yaml")
    try:
        real = apply_policy(loaded, doc, key=KEY).document
        failed = None
    except ApplyError as exc:
        real, failed = None, exc
    try:
        e = explain(loaded, doc)
    except ApplyError as exc:  # an action that cannot treat a value: the same error
        assert failed is not None and failed.render() == exc.render(), "explain failed alone"
        event("an action failed")
        return
    if failed is not None:
        assert loaded.unmatched == "error", f"apply failed alone: {failed.render()}"
        assert e.fails and all(p in failed.message for p in e.uncovered)
        event("unmatched: error failed")
        return
    assert not e.fails
    assume(real is not None)
    assert e.result == real, "explain ran the policy to another result"
    into = tuple(r.options["into"] for r in loaded.rules if r.action == "aggregate")
    event(f"treatments: {len({t.kind for t in e.locations.values()})}")
    outputs = _outputs(real)
    for path, value in leaves(doc):
        if not path:
            continue
        _check_location(e.locations[path], folded(path), value, outputs, into)
    survivors = {folded(p) for p, t in e.locations.items() if t.kind not in _GONE}
    for shape, _, value in outputs:
        if value in ([], {}, "CONST", digest(KEY, {}, 16), digest(KEY, [], 16)):
            continue  # a container rules emptied, or a value a rule made of one
        assert any(_under(shape, i) for i in into) or any(
            _under(shape, s) or _under(s, shape) for s in survivors), \
            f"{shape} is in the output, and explain says nothing of it survives"


def _under(shape: str, prefix: str) -> bool:
    return shape == prefix or shape.startswith((prefix + ".", prefix + "["))


_GONE = ("dropped", "uncovered-dropped", "aggregated")


def _check_location(t: Any, shape: str, value: Any, outputs: list[tuple[str, str, Any]],
                    into: tuple[str, ...]) -> None:
    unique = isinstance(value, str) and value.endswith("-unique")
    where = [(s, p) for s, p, v in outputs if v == value] if unique else []
    outside = [s for s, _ in where if not any(_under(s, i) for i in into)]
    if t.kind in ("kept", "uncovered-kept"):
        assert any(s == shape for s, _, v in outputs if v == value), f"{shape}: not kept raw"
    elif t.kind in _GONE or t.kind in ("replaced", "hashed"):
        assert not outside, f"{shape} ({t.kind}) still holds its value at {outside}"
    else:
        assert any(_under(s, shape) or _under(shape, s) for s, _, _ in outputs), \
            f"{shape} ({t.kind}): nothing left of it in the output"
    if t.kind == "hashed" and unique:  # its own hash, or a hash of a container holding it
        mine = (shape, digest(KEY, value, 16))
        assert any((s, v) == mine for s, _, v in outputs) or any(
            _under(shape, s) and isinstance(v, str) and re.fullmatch("[0-9a-f]{16}", v)
            for s, _, v in outputs), f"{shape}: no hash of it in the output"


# --- the command -------------------------------------------------------------------------

def test_cli_explain_formats() -> None:
    text = cli("policy", "explain", "policies/example.yaml", "--sample",
               "policies/examples/memory.json")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == ("policy example 1.0.0 (policies/example.yaml) on "
                                           "policies/examples/memory.json; unmatched: drop")
    assert "memory[*].context.error     drop-failed-context  dropped by rule " \
           "drop-failed-context" in text.stdout
    md = cli("policy", "explain", "policies/example.yaml", "--format", "markdown")
    assert md.returncode == 0, md.stderr
    assert "On the generated sample small:0; `unmatched: drop`." in md.stdout
    data = json.loads(cli("policy", "explain", "policies/default.yaml", "--sample", "small:3",
                          "--format", "json").stdout)
    assert data["sample"] == "the generated sample small:3"
    assert {f["path"] for f in data["fields"]} >= {"memory[*].task_id", "project.root"}


def test_cli_explain_project_and_bad_sample(tmp_path: Path) -> None:
    from learnexport.sample import generate

    generate(tmp_path / "proj", "small", 1)
    done = cli("policy", "explain", "policies/example.yaml", "--project", tmp_path / "proj")
    assert done.returncode == 0, done.stderr
    assert f"on project {tmp_path / 'proj'}; unmatched: drop" in done.stdout.splitlines()[0]
    bad = cli("policy", "explain", "policies/example.yaml", "--sample", tmp_path / "nope.json")
    assert bad.returncode == 1
    assert bad.stderr.startswith(f"learnexport: {tmp_path / 'nope.json'}: no such sample "
                                 "document")
    assert "Traceback" not in bad.stderr
    folder = cli("policy", "explain", "policies/example.yaml", "--sample", tmp_path / "proj")
    assert folder.returncode == 1
    assert folder.stderr == (f"learnexport: {tmp_path / 'proj'}: is a folder, not a document. "
                             f"For a project's data, use --project {tmp_path / 'proj'}\n")


def test_a_big_sample_is_read_to_the_first_records_of_each_list(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tools trace each value through each rule, so a project's million analytics
    lines are cut to the first RECORDS records of each list (streams are read once, never
    held whole) and the label says what was left out; --all-records reads everything."""
    from learnexport.api import collect
    from learnexport.sample import generate

    generate(tmp_path / "proj", "small", 1)
    whole = collect(tmp_path / "proj")
    sizes = {name: len(whole["analytics"][name]) for name in ("agents", "workflows")}
    assert sizes["agents"] > 100 and sizes["workflows"] > 50
    monkeypatch.setattr(samples, "RECORDS", 50)

    cut = samples.load(project=tmp_path / "proj")
    assert len(cut.document["analytics"]["agents"]) == 50
    assert cut.document["analytics"]["agents"] == whole["analytics"]["agents"][:50]
    assert cut.document["collection"]["sources"] == whole["collection"]["sources"]
    assert cut.document["collection"]["warnings"] == whole["collection"]["warnings"]
    lists = [v for v in leaves_of_lists(whole) if v > 50]
    assert cut.label == (f"project {tmp_path / 'proj'}, the first 50 records of each list "
                         f"({sum(n - 50 for n in lists):,} records of {len(lists)} lists left "
                         "out; --all-records reads them)")
    every = samples.load(project=tmp_path / "proj", all_records=True).document
    every["collection"]["collected_at"] = whole["collection"]["collected_at"]  # (the clock)
    assert every == whole

    generated = samples.load("small:1")  # a generated sample and a file are cut alike
    assert generated.label.startswith("the generated sample small:1, the first 50 records")
    (tmp_path / "doc.json").write_text(json.dumps(whole))
    from_file = samples.load(str(tmp_path / "doc.json"))
    from_file.document["collection"]["collected_at"] = cut.document["collection"]["collected_at"]
    assert from_file.document == cut.document
    first = ", the first"
    assert from_file.label == f"{tmp_path / 'doc.json'}{first}" + cut.label.split(first)[1]
    done = cli("policy", "explain", "policies/default.yaml", "--project", tmp_path / "proj",
               "--all-records")
    assert done.returncode == 0, done.stderr
    assert f"on project {tmp_path / 'proj'}; unmatched: drop" in done.stdout.splitlines()[0]


def leaves_of_lists(document: Any) -> list[int]:
    """The length of every list in ``document``."""
    out, stack = [], [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            out.append(len(node))
            stack.extend(node)
    return out


def test_lint_and_diff_cut_a_big_sample_too_and_read_it_whole_on_request(
        tmp_path: Path) -> None:
    memory = json.loads((ROOT / "policies" / "examples" / "memory.json").read_text("utf-8"))
    memory["memory"] = (memory["memory"] * 400)[:1200]
    big = tmp_path / "big.json"
    big.write_text(json.dumps(memory), "utf-8")
    cut = f"{big}, the first 1,000 records of each list (200 records of 1 list left out"
    policy = "policies/example.yaml"
    for args, where in ((("policy", "lint", policy), "stderr"),
                        (("policy", "diff", policy, policy), "stdout")):
        done = cli(*args, "--sample", big)
        assert done.returncode == 0, done.stderr
        assert cut in getattr(done, where)
        whole = cli(*args, "--sample", big, "--all-records")
        assert whole.returncode == 0 and str(big) in getattr(whole, where)
        assert "first 1,000" not in getattr(whole, where)
